"""The batch column decoder must give exactly what the per-value decoder gives, null for null."""

from __future__ import annotations

import math
from typing import Any

import orjson
import pyarrow as pa
from feast.protos.feast.types.Value_pb2 import Value as ValueProto
from feast.value_type import ValueType
from hypothesis import given, settings
from hypothesis import strategies as st

from featurebank.codec.columns import ColumnsDecoder, as_list
from featurebank.codec.values import decode_value, encode_column

TYPES: dict[ValueType, tuple[pa.DataType, st.SearchStrategy[Any]]] = {
    ValueType.INT64: (pa.int64(), st.integers(-(2**63), 2**63 - 1)),
    ValueType.INT32: (pa.int32(), st.integers(-(2**31), 2**31 - 1)),
    ValueType.DOUBLE: (pa.float64(), st.floats(allow_nan=False)),
    ValueType.FLOAT: (pa.float32(), st.floats(width=32, allow_nan=False)),
    ValueType.BOOL: (pa.bool_(), st.booleans()),
    ValueType.STRING: (pa.string(), st.text(max_size=5)),
}
# Values stored under another type than declared, or not by a Feast-compatible writer at all.
FOREIGN = [ValueProto(string_val="x").SerializeToString(),
           ValueProto(double_val=math.nan).SerializeToString(),
           ValueProto(double_val=math.inf).SerializeToString(),
           ValueProto(int64_val=-1).SerializeToString(),
           ValueProto(float_val=1.5).SerializeToString(),
           b""]


@st.composite
def tables(draw: st.DrawFn) -> tuple[list[ValueType], list[list[bytes | None]]]:
    types = draw(st.lists(st.sampled_from(list(TYPES)), min_size=1, max_size=6))
    entities = draw(st.integers(0, 40))
    columns = []
    for value_type in types:
        arrow_type, values = TYPES[value_type]
        column = draw(st.lists(st.one_of(st.none(), values), min_size=entities,
                               max_size=entities))
        encoded: list[bytes | None] = list(encode_column(pa.array(column, arrow_type),
                                                         value_type))
        for row in draw(st.lists(st.integers(0, max(entities - 1, 0)), max_size=2)):
            if entities and draw(st.booleans()):
                encoded[row] = draw(st.sampled_from(FOREIGN))
            elif entities:
                encoded[row] = None  # a hash without the field: HMGET gives nil
        columns.append(encoded)
    # Rows as HMGET replies: a leading unrelated field, the features, a trailing `_ts`.
    rows = [[b"other", *(column[e] for column in columns), b"ts"] for e in range(entities)]
    return types, rows


@settings(max_examples=300, deadline=None)
@given(tables())
def test_batch_decoding_equals_per_value_decoding(table: tuple[list[ValueType],
                                                               list[list[bytes | None]]]) -> None:
    types, rows = table
    decoded = ColumnsDecoder(types).decode(rows, 1)
    assert len(decoded) == len(types)
    for index, (values, nulls) in enumerate(decoded):
        expected = [decode_value(row[1 + index]) for row in rows]
        # As the response will carry it: orjson writes NaN (a null in a float array) as null.
        written = orjson.loads(orjson.dumps(values, option=orjson.OPT_SERIALIZE_NUMPY))
        assert written == orjson.loads(orjson.dumps(expected)), types[index]
        assert as_list(values) == expected
        assert nulls == [row for row, value in enumerate(expected) if value is None]


def test_large_varints_and_negative_numbers() -> None:
    values = [0, 1, 127, 128, 300, -1, -(2**63), 2**63 - 1, 2**31 - 1, -(2**31)] * 3
    encoded = encode_column(pa.array(values, pa.int64()), ValueType.INT64)
    decoded = ColumnsDecoder([ValueType.INT64]).decode([[raw] for raw in encoded], 0)
    assert as_list(decoded[0][0]) == values
    assert decoded[0][1] == []


def test_truncated_varint_falls_back_to_the_per_value_decoder() -> None:
    good = encode_column(pa.array(list(range(20)), pa.int64()), ValueType.INT64)
    rows: list[list[bytes | None]] = [[raw] for raw in good]
    rows[3] = [b"\x20\x80\x80"]  # a varint whose last byte says "more follows"
    try:
        expected: object = decode_value(rows[3][0])
    except Exception as exc:
        expected = type(exc)
    try:
        got: object = as_list(ColumnsDecoder([ValueType.INT64]).decode(rows, 0)[0][0])[3]
    except Exception as exc:
        got = type(exc)
    assert got == expected
