"""The pure contract: decode → check, one reason per malformed class."""

from __future__ import annotations

import math
from typing import Any

import pytest

from streaming.contract import Contract
from streaming.decode import decode_message
from streaming.errors import REASONS, Rejected
from streaming.schema import parse_ddl
from streaming.timestamps import to_micros

SCHEMA = parse_ddl("id BIGINT, n INT, x DOUBLE, f FLOAT, ok BOOLEAN, s STRING, ts TIMESTAMP", "ts")
NOW = 1_700_000_000 * 1_000_000
CONTRACT = Contract(SCHEMA, frozenset({"id"}), 60 * 1_000_000)


def check(record: dict[str, Any]) -> list[Any]:
    return CONTRACT.check({"id": 1, "ts": 1_699_999_000, **record}, NOW)


def reason(record: dict[str, Any]) -> str:
    with pytest.raises(Rejected) as info:
        check(record)
    assert info.value.reason in REASONS
    return info.value.reason


def test_valid_row_is_typed_in_schema_order() -> None:
    row = check({"n": 3.0, "x": 2, "f": 0.5, "ok": False, "s": "é"})
    assert row == [1, 3, 2.0, 0.5, False, "é", 1_699_999_000 * 1_000_000]


def test_missing_features_are_null_and_nan_floats_become_null() -> None:
    row = check({"x": math.nan})
    assert row[1:6] == [None, None, None, None, None]


@pytest.mark.parametrize(("record", "expected"), [
    ({"id": None}, "missing_join_key"),
    ({"id": "1"}, "wrong_type"),
    ({"id": True}, "wrong_type"),
    ({"n": 1.5}, "lossy_cast"),
    ({"n": 2**31}, "lossy_cast"),
    ({"x": 2**60 + 1}, "lossy_cast"),
    ({"f": 1e39}, "lossy_cast"),
    ({"n": math.nan}, "nan_forbidden"),
    ({"ok": math.nan}, "nan_forbidden"),
    ({"ok": 1}, "wrong_type"),
    ({"s": 5}, "wrong_type"),
    ({"ts": None}, "missing_timestamp"),
    ({"ts": "soon"}, "bad_timestamp"),
    ({"ts": "1969-12-31T23:59:59Z"}, "timestamp_too_old"),
    ({"ts": 1_700_000_061}, "timestamp_in_future"),
])
def test_each_violation_has_its_reason(record: dict[str, Any], expected: str) -> None:
    assert reason(record) == expected


@pytest.mark.parametrize(("value", "micros"), [
    (1_700_000_000, 1_700_000_000_000_000),
    (1_700_000_000_123, 1_700_000_000_123_000),
    (1_700_000_000.5, 1_700_000_000_500_000),
    ("2023-11-14T22:13:20Z", 1_700_000_000_000_000),
    ("2023-11-14T23:13:20+01:00", 1_700_000_000_000_000),
    ("2023-11-14T22:13:20", 1_700_000_000_000_000),
    ("1700000000", 1_700_000_000_000_000),
])
def test_timestamps_iso_or_epoch_seconds_or_millis(value: Any, micros: int) -> None:
    assert to_micros(value, "ts") == micros


@pytest.mark.parametrize(("raw", "expected"), [
    (b"{", "invalid_json"),
    (b"[1]", "invalid_json"),
    (None, "invalid_json"),
    (b'{"s": "\xff"}', "invalid_utf8"),
    (b"x" * 101, "oversize"),
])
def test_decode_refusals(raw: bytes | None, expected: str) -> None:
    with pytest.raises(Rejected) as info:
        decode_message(raw, 100)
    assert info.value.reason == expected


def test_decode_reads_nan_literals_for_the_contract_to_judge() -> None:
    record = decode_message(b'{"n": NaN}', 100)
    assert math.isnan(record["n"])


def test_ddl_refuses_nested_types() -> None:
    with pytest.raises(Exception, match="ARRAY"):
        parse_ddl("a ARRAY<ARRAY<INT>>, ts TIMESTAMP", "ts")


@pytest.mark.parametrize("seen", [1e300, -1e300, "1e300"])
def test_a_time_feature_outside_years_1_to_9999_is_refused(seen: Any) -> None:
    """Arrow cannot hold it: accepted, it crashed the batch after the contract (a 500 on push)."""
    schema = parse_ddl("id BIGINT, seen TIMESTAMP, ts TIMESTAMP", "ts")
    contract = Contract(schema, frozenset({"id"}), 60 * 1_000_000)
    with pytest.raises(Rejected) as info:
        contract.check({"id": 1, "seen": seen, "ts": 1_699_999_000}, NOW)
    assert info.value.reason == "bad_timestamp"
    assert info.value.column == "seen"
