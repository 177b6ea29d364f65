"""Our hand-written wire forms must equal protobuf's, byte for byte, and decode back."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pyarrow as pa
import pytest
from feast.protos.feast.types.Value_pb2 import Value as ValueProto
from feast.type_map import python_values_to_proto_values
from feast.value_type import ValueType
from google.protobuf.timestamp_pb2 import Timestamp
from hypothesis import assume, given
from hypothesis import strategies as st

from featurebank.codec.timestamps import (
    datetime_to_parts,
    decode_timestamp,
    encode_timestamp,
    format_timestamp,
)
from featurebank.codec.values import decode_value, encode_column

CASES = [
    (ValueType.INT64, pa.int64(), st.integers(-(2**63), 2**63 - 1)),
    (ValueType.INT32, pa.int32(), st.integers(-(2**31), 2**31 - 1)),
    (ValueType.DOUBLE, pa.float64(), st.floats(allow_nan=False)),
    (ValueType.FLOAT, pa.float32(), st.floats(width=32, allow_nan=False)),
    (ValueType.BOOL, pa.bool_(), st.booleans()),
    (ValueType.STRING, pa.string(), st.text()),
    (ValueType.BYTES, pa.binary(), st.binary()),
]


@pytest.mark.parametrize(("value_type", "arrow_type", "strategy"), CASES,
                         ids=[c[0].name for c in CASES])
def test_encode_column_matches_feast_protos(value_type, arrow_type, strategy) -> None:
    @given(st.lists(st.one_of(st.none(), strategy), max_size=20))
    def check(values: list[object]) -> None:
        # Feast picks its "sample" as the first truthy value, so a column of only empty
        # bytes becomes nulls there; we keep them as empty bytes.
        assume(value_type != ValueType.BYTES or any(values))
        ours = encode_column(pa.array(values, type=arrow_type), value_type)
        theirs = [p.SerializeToString()
                  for p in python_values_to_proto_values(values, value_type)]
        assert ours == theirs

    check()


def test_nan_is_stored_as_null_like_feast() -> None:
    assert encode_column(pa.array([math.nan, 1.0]), ValueType.DOUBLE)[0] == b""


@given(st.one_of(st.integers(-(2**63), 2**63 - 1), st.floats(allow_nan=False), st.text(),
                 st.booleans()))
def test_decode_value_reads_what_protobuf_wrote(value: object) -> None:
    if isinstance(value, bool):
        proto = ValueProto(bool_val=value)
    elif isinstance(value, int):
        proto = ValueProto(int64_val=value)
    elif isinstance(value, float):
        proto = ValueProto(double_val=value)
    else:
        proto = ValueProto(string_val=str(value))
    decoded = decode_value(proto.SerializeToString())
    if isinstance(value, float) and math.isinf(value):
        assert decoded == ("Infinity" if value > 0 else "-Infinity")
    else:
        assert decoded == value


def test_decode_falls_back_to_protobuf_for_lists() -> None:
    proto = python_values_to_proto_values([[1.5, 2.5]], ValueType.DOUBLE_LIST)[0]
    assert decode_value(proto.SerializeToString()) == [1.5, 2.5]
    assert decode_value(b"") is None
    assert decode_value(None) is None


@given(st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(2200, 1, 1),
                    timezones=st.just(UTC)))
def test_timestamps_match_protobuf(moment: datetime) -> None:
    proto = Timestamp()
    proto.FromDatetime(moment)
    seconds, nanos = datetime_to_parts(moment)
    assert encode_timestamp(seconds, nanos) == proto.SerializeToString()
    assert decode_timestamp(proto.SerializeToString()) == (proto.seconds, proto.nanos)


def test_format_timestamp_matches_feast_precision() -> None:
    assert format_timestamp(0, 0) == "1970-01-01T00:00:00Z"
    assert format_timestamp(1_700_000_000, 0) == "2023-11-14T22:13:20Z"
    assert format_timestamp(1_700_000_000, 250_000_000) == "2023-11-14T22:13:20.250Z"
    assert format_timestamp(1_700_000_000, 1_000) == "2023-11-14T22:13:20.000001Z"


@pytest.mark.parametrize(("value_type", "arrow_type", "strategy"), CASES,
                         ids=[c[0].name for c in CASES])
def test_typed_decoders_agree_with_the_generic_one(value_type, arrow_type, strategy) -> None:
    from featurebank.codec.values import decoder_for

    decoder = decoder_for(value_type)

    @given(st.lists(st.one_of(st.none(), strategy), max_size=20))
    def check(values: list[object]) -> None:
        for encoded in encode_column(pa.array(values, type=arrow_type), value_type):
            assert decoder(encoded) == decode_value(encoded)

    check()
    # A value stored with another type than declared still decodes.
    assert decoder(ValueProto(string_val="x").SerializeToString()) == "x" or \
        value_type == ValueType.STRING
