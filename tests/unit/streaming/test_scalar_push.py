"""The Arrow-free small-push encoders write exactly the bytes of the vectorized codec."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
from feast.value_type import ValueType
from hypothesis import given
from hypothesis import strategies as st

from featurebank.codec.values import encode_column
from streaming.scalar_push import ENCODERS

CASES: dict[str, tuple[ValueType, pa.DataType, st.SearchStrategy[Any]]] = {
    "float64": (ValueType.DOUBLE, pa.float64(), st.floats(allow_nan=True)),
    "float32": (ValueType.FLOAT, pa.float32(),
                st.floats(width=32, allow_nan=False) | st.floats(-1e30, 1e30)),
    "int64": (ValueType.INT64, pa.int64(), st.integers(-(1 << 63), (1 << 63) - 1)),
    "int32": (ValueType.INT32, pa.int32(), st.integers(-(1 << 31), (1 << 31) - 1)),
    "bool": (ValueType.BOOL, pa.bool_(), st.booleans()),
    "string": (ValueType.STRING, pa.string(), st.text(max_size=300)),
    "bytes": (ValueType.BYTES, pa.binary(), st.binary(max_size=300)),
}


@given(st.data())
def test_scalar_encoders_match_encode_column(data: st.DataObject) -> None:
    for kind, (value_type, arrow_type, values) in CASES.items():
        column = data.draw(st.lists(values | st.none(), min_size=1, max_size=8), label=kind)
        expected = encode_column(pa.array(column, type=arrow_type, from_pandas=False), value_type)
        assert [ENCODERS[kind](v) for v in column] == expected, kind
