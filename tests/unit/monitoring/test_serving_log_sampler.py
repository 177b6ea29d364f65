"""Sampling served-value logs by entity key: stable, nested by rate, close to the rate."""

from __future__ import annotations

import logging

import mmh3
import pytest
from feast.infra.key_encoding_utils import serialize_entity_key
from feast.protos.feast.types.EntityKey_pb2 import EntityKey
from feast.protos.feast.types.Value_pb2 import Value
from feast.value_type import ValueType

from featurebank.codec.entity_key import EntityKeyCodec
from featurebank.monitoring.serving_log_sampler import (
    KeySampler,
    integer_position,
    integer_seed,
    key_position,
)
from featurebank.monitoring.serving_log_shape import SAMPLE_RATE_TAG, sample_rate_for

ONE_KEY = EntityKeyCodec([("user_id", ValueType.INT64)], "proj")
TWO_KEYS = EntityKeyCodec([("shop", ValueType.STRING), ("user_id", ValueType.INT64)], "proj")


def test_position_is_murmur3_of_feasts_serialized_key() -> None:
    feast_key = serialize_entity_key(
        EntityKey(join_keys=["user_id"], entity_values=[Value(int64_val=42)]),
        entity_key_serialization_version=3,
    ) + b"proj"
    expected = mmh3.hash(feast_key, 0, signed=False) / 2**32
    assert KeySampler(ONE_KEY).positions([[42]]) == [expected]
    # Pinned: the same key must sit at the same place in every process, release and restart.
    assert key_position(feast_key) == pytest.approx(expected)
    assert round(expected, 9) == round(key_position(ONE_KEY.key([42])), 9)


def test_a_key_is_in_or_out_whatever_else_the_request_holds() -> None:
    sampler = KeySampler(ONE_KEY)
    ids = list(range(1000))
    chosen = {ids[row] for row in sampler.rows([ids], len(ids), 0.3)}
    reversed_ids = ids[::-1]
    again = {reversed_ids[row] for row in KeySampler(ONE_KEY).rows([reversed_ids], 1000, 0.3)}
    alone = {i for i in ids if KeySampler(ONE_KEY).rows([[i]], 1, 0.3)}
    assert chosen == again == alone
    as_text = {ids[row] for row in sampler.rows([[str(i) for i in ids]], len(ids), 0.3)}
    assert as_text == chosen  # "42" and 42 are the same entity key


def test_rates_nest_and_come_close() -> None:
    ids = list(range(20_000))
    sampler = KeySampler(ONE_KEY)
    tenth = set(sampler.rows([ids], len(ids), 0.1))
    half = set(sampler.rows([ids], len(ids), 0.5))
    assert tenth <= half
    assert 0.09 < len(tenth) / len(ids) < 0.11
    assert 0.48 < len(half) / len(ids) < 0.52
    assert sampler.rows([ids], len(ids), 0.0) == []
    assert sampler.rows([ids], len(ids), 1.0) == ids


def test_several_join_keys_and_a_small_cache_agree_with_a_fresh_sampler() -> None:
    shops, users = ["a", "b", "c", "d"] * 250, list(range(1000))
    small = KeySampler(TWO_KEYS, max_cached=64)  # cleared over and over
    first = small.rows([shops, users], 1000, 0.4)
    assert small.rows([shops, users], 1000, 0.4) == first
    assert KeySampler(TWO_KEYS).rows([shops, users], 1000, 0.4) == first
    expected = [row for row, key in enumerate(TWO_KEYS.keys([shops, users]))
                if key_position(key) < 0.4]
    assert first == expected


def test_entityless_rows_share_the_one_empty_key() -> None:
    codec = EntityKeyCodec([], "proj")
    position = key_position(codec.key(()))
    sampler = KeySampler(codec)
    assert sampler.rows([], 3, position + 1e-9) == [0, 1, 2]
    assert sampler.rows([], 3, position) == []


def test_the_service_tag_wins_and_a_bad_one_is_reported(caplog: pytest.LogCaptureFixture) -> None:
    assert sample_rate_for("svc", {SAMPLE_RATE_TAG: "0.25"}, 0.0) == 0.25
    assert sample_rate_for("svc", {SAMPLE_RATE_TAG: "0"}, 1.0) == 0.0
    assert sample_rate_for("svc", {}, 0.5) == 0.5
    with caplog.at_level(logging.WARNING, logger="featurebank.monitoring"):
        for bad in ("1.5", "nan", "half", "-0.1"):
            assert sample_rate_for("svc_bad", {SAMPLE_RATE_TAG: bad}, 0.5) == 0.5
    assert "monitor.log_sample_rate='half'" in caplog.text
    assert "svc_bad" in caplog.text
    assert len(caplog.records) == 4


def test_integer_keys_take_the_vectorized_path_with_the_same_answers() -> None:
    seed = integer_seed("user_id", "proj")
    sampler = KeySampler(ONE_KEY, integer_seed=seed)
    ids = [*range(-50, 2000), 2**63 - 1, -(2**63)]
    expected = [row for row, value in enumerate(ids) if integer_position(value, seed) < 0.2]
    assert sampler.rows([ids], len(ids), 0.2) == expected  # numpy, many keys
    one_by_one = [i for i in ids[:40] if sampler.rows([[i]], 1, 0.2)]  # the Python path
    assert one_by_one == [i for i in ids[:40] if integer_position(i, seed) < 0.2]
    assert sampler.rows([[str(i) for i in ids]], len(ids), 0.2) == expected  # "42" is 42
    assert 0.17 < len(expected) / len(ids) < 0.23
    # Pinned: the same key must sit at the same place in every process, release and restart.
    assert integer_seed("user_id", "proj") == 16_964_453_490_196_644_376
    assert integer_position(42, seed) == pytest.approx(0.30175662064896325, abs=1e-15)
    assert sampler.positions([[42]]) == [integer_position(42, seed)]
