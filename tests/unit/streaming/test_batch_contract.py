"""The column-wise contract accepts exactly the batches the row path accepts whole, same values."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from featurebank.codec.timestamps import encode_timestamp
from featurebank.online.rows import encode_timestamps, event_time_parts
from streaming.batch_contract import check_columns, decode_all
from streaming.contract import Contract, columns_of
from streaming.decode import decode_message
from streaming.errors import Rejected
from streaming.schema import parse_ddl

SCHEMA = parse_ddl("id BIGINT, n INT, x DOUBLE, f FLOAT, ok BOOLEAN, s STRING, b BINARY, "
                   "at TIMESTAMP, ts TIMESTAMP", "ts")
NOW = 1_700_000_000 * 1_000_000
CONTRACT = Contract(SCHEMA, frozenset({"id"}), 60 * 1_000_000)
MAX_BYTES = 4096


def row_path(values: Sequence[bytes | None]) -> pa.Table | None:
    """The reference: per-message decode and check; None when any message is rejected."""
    rows = []
    for value in values:
        try:
            rows.append(CONTRACT.check(decode_message(value, MAX_BYTES), NOW))
        except Rejected:
            return None
    schema = SCHEMA.arrow_schema()
    arrays = [pa.array(c, type=f.type) for c, f in zip(columns_of(rows, len(schema)), schema,
                                                        strict=True)]
    return pa.Table.from_arrays(arrays, schema=schema)


def batch_path(values: Sequence[bytes | None]) -> pa.Table | None:
    records = decode_all(values, MAX_BYTES)
    if records is None:
        return None
    arrays = check_columns(CONTRACT, records, NOW)
    return None if arrays is None else pa.Table.from_arrays(arrays, schema=SCHEMA.arrow_schema())


def _times() -> st.SearchStrategy[Any]:
    seconds = st.integers(0, NOW // 1_000_000 + 120)
    return st.one_of(
        seconds, seconds.map(lambda s: s * 1000), seconds.map(lambda s: s * 1_000_000),
        seconds.map(lambda s: s * 1_000_000_000), st.integers(-10, 10**18),
        seconds.map(lambda s: f"{s}"),
        st.datetimes(timezones=st.none()).map(lambda d: d.isoformat()),
        st.floats(0, 2e9), st.none(), st.booleans(), st.text(max_size=5))


VALUE = st.one_of(st.none(), st.booleans(), st.integers(-(2**64), 2**64),
                  st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=5))
RECORD = st.fixed_dictionaries(
    {"id": st.one_of(st.integers(-5, 2**63), VALUE), "ts": _times()},
    optional={"n": st.one_of(st.integers(-(2**32), 2**32), VALUE),
              "x": st.one_of(st.floats(allow_nan=False, allow_infinity=False),
                             st.integers(-(2**60), 2**60), VALUE),
              "f": st.one_of(st.floats(-1e39, 1e39), st.integers(-(2**30), 2**30), VALUE),
              "ok": VALUE, "s": VALUE, "b": VALUE, "at": _times()})


@settings(max_examples=300, deadline=None)
@given(st.lists(RECORD, min_size=1, max_size=6))
def test_batch_path_accepts_only_what_the_row_path_accepts_whole(
        records: list[dict[str, Any]]) -> None:
    values = [json.dumps(r).encode() for r in records]  # orjson refuses ints past 64 bits
    fast = batch_path(values)
    if fast is not None:
        assert fast.equals(row_path(values)), records


@pytest.mark.parametrize("bad", [
    None, b"[1]", b"not json", b'{"id": 1, "ts": NaN}', b"\xff\xfe", b"{" + b" " * 5000 + b"}",
    b'{"ts": 1699999000}', b'{"id": "1", "ts": 1699999000}', b'{"id": 1, "ts": 1700000061}',
    b'{"id": 1, "n": 1.5, "ts": 1699999000}', b'{"id": 1, "n": 2147483648, "ts": 1699999000}',
    b'{"id": 1, "f": 1e39, "ts": 1699999000}', b'{"id": 1, "ts": "soon"}',
    b'{"id": 1, "ts": -1}', b'{"id": 1, "ts": 1699999000.5}',
])
def test_any_unclear_message_sends_the_batch_to_the_row_path(bad: bytes | None) -> None:
    good = b'{"id": 1, "n": 2, "x": 3, "f": 0.5, "ok": true, "s": "a", "ts": 1699999000}'
    assert batch_path([good, good]) is not None
    assert batch_path([good, bad, good]) is None


def test_clean_batch_is_typed_like_the_row_path() -> None:
    values = [b'{"id": 1, "n": 2, "x": 3, "f": 0.5, "ok": true, "s": "a", "b": "z", '
              b'"at": "2024-01-01T00:00:00Z", "ts": 1699999000123}',
              b'{"id": 2, "ts": "2023-11-14T22:13:20+00:00"}']
    fast = batch_path(values)
    assert fast is not None
    assert fast.equals(row_path(values))
    assert fast.column("ts").to_pylist()[0].timestamp() == 1_699_999_000.123


@given(st.lists(st.integers(-(2**40), 2**40), min_size=1, max_size=20))
def test_column_timestamps_match_the_per_value_encoder(micros: list[int]) -> None:
    column = pa.array(micros, pa.int64()).view(pa.timestamp("us", tz="UTC"))
    parts = event_time_parts(column)
    assert parts == [(m // 1_000_000, (m % 1_000_000) * 1000) for m in micros]
    seconds, nanos = zip(*parts, strict=True)
    assert encode_timestamps(seconds, nanos) == [encode_timestamp(s, n) for s, n in parts]


NEAR_VALID = st.fixed_dictionaries(
    {"id": st.integers(-(2**63), 2**63 + 1), "ts": _times().filter(lambda t: type(t) is int)},
    optional={"n": st.integers(-(2**31) - 1, 2**31), "x": st.floats(allow_nan=False,
                                                                      allow_infinity=False),
              "f": st.floats(-4e38, 4e38) | st.integers(-(2**54), 2**54), "ok": st.booleans(),
              "s": st.text(max_size=5), "b": st.text(max_size=5), "at": st.integers(0, 10**16)})


@settings(max_examples=300, deadline=None)
@given(st.lists(NEAR_VALID, min_size=1, max_size=6))
def test_near_valid_batches_agree_with_the_row_path(records: list[dict[str, Any]]) -> None:
    values = [json.dumps(r).encode() for r in records]
    reference = row_path(values)
    fast = batch_path(values)
    if fast is not None:
        assert fast.equals(reference), records
    elif reference is not None:  # it declines only integers past 2**53 in float columns
        assert any(type(r.get("f")) is int and abs(r["f"]) > 2**53 for r in records), records
