"""Redis keys and fields must equal Feast's own helpers for the same entity."""

from __future__ import annotations

import pytest
from feast.infra.key_encoding_utils import serialize_entity_key
from feast.infra.online_stores.helpers import _mmh3
from feast.protos.feast.types.EntityKey_pb2 import EntityKey
from feast.protos.feast.types.Value_pb2 import Value
from feast.value_type import ValueType
from hypothesis import given
from hypothesis import strategies as st

from featurebank.codec.entity_key import EntityKeyCodec
from featurebank.codec.fields import feature_field
from featurebank.errors import InvalidInput


def feast_key(names: list[str], values: list[Value], project: str) -> bytes:
    proto = EntityKey(join_keys=names, entity_values=values)
    return serialize_entity_key(proto, entity_key_serialization_version=3) + project.encode()


@given(st.integers(-(2**63), 2**63 - 1), st.text(min_size=1, max_size=20))
def test_composite_key_matches_feast(number: int, text: str) -> None:
    codec = EntityKeyCodec([("zone_id", ValueType.STRING), ("driver_id", ValueType.INT64)], "proj")
    ours = codec.key([text, number])
    theirs = feast_key(["zone_id", "driver_id"], [Value(string_val=text), Value(int64_val=number)],
                       "proj")
    assert ours == theirs
    assert codec.keys([[text], [number]]) == [theirs]


def test_int32_and_bytes_keys_match_feast() -> None:
    codec = EntityKeyCodec([("k", ValueType.INT32)], "p")
    assert codec.key([-5]) == feast_key(["k"], [Value(int32_val=-5)], "p")
    codec = EntityKeyCodec([("b", ValueType.BYTES)], "p")
    assert codec.key([b"\x00\x01"]) == feast_key(["b"], [Value(bytes_val=b"\x00\x01")], "p")


@pytest.mark.parametrize("bad", ["abc", 1.5, True, None, 2**64, [1], "--5", "²", "١٢", "1-"])
def test_wrong_key_type_is_an_error_naming_the_key(bad: object) -> None:
    codec = EntityKeyCodec([("driver_id", ValueType.INT64)], "p")
    with pytest.raises(InvalidInput, match="driver_id"):
        codec.keys([[bad]])


def test_string_key_refuses_numbers() -> None:
    codec = EntityKeyCodec([("zone", ValueType.STRING)], "p")
    with pytest.raises(InvalidInput, match="zone"):
        codec.key([5])


def test_feature_field_is_feast_mmh3() -> None:
    assert feature_field("driver_stats", "conv_rate") == _mmh3("driver_stats:conv_rate")


@pytest.mark.parametrize("bad", ["--1", "³"])
def test_int32_key_refuses_non_ascii_or_malformed_digits(bad: str) -> None:
    codec = EntityKeyCodec([("shard", ValueType.INT32)], "p")
    with pytest.raises(InvalidInput, match="shard"):
        codec.key([bad])
