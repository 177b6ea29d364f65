"""Event times from JSON values, always as microseconds since the epoch (UTC).

Strings are ISO-8601 (a missing zone means UTC); numbers are epoch seconds, or milliseconds,
microseconds or nanoseconds when their magnitude says so (≥1e11 cannot be seconds before the
year 5138, ≥1e14 milliseconds, ≥1e17 microseconds).
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

from streaming.errors import Rejected

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_SCALES = ((1e11, 1_000_000), (1e14, 1_000), (1e17, 1))


def _from_number(number: float | int, column: str) -> int:
    if isinstance(number, float) and not math.isfinite(number):
        raise Rejected("bad_timestamp", f"{column}: {number} is not a time", column=column)
    magnitude = abs(number)
    for limit, micros_per_unit in _SCALES:
        if magnitude < limit:
            if isinstance(number, int):
                return number * micros_per_unit
            return round(number * micros_per_unit)
    return int(number) // 1_000


# Years 1..9999, the range Python, Arrow and DuckDB all represent (Arrow would overflow past it).
_MIN_MICROS, _MAX_MICROS = -62_135_596_800_000_000, 253_402_300_799_999_999


def to_micros(value: Any, column: str) -> int:
    """Microseconds since the epoch for a JSON time value, or `Rejected`."""
    micros = _to_micros(value, column)
    if not _MIN_MICROS <= micros <= _MAX_MICROS:
        raise Rejected("bad_timestamp", f"{column}: {str(value)[:64]!r} is outside years 1..9999",
                       column=column)
    return micros


def _to_micros(value: Any, column: str) -> int:
    if value is None:
        raise Rejected("missing_timestamp", f"the event time {column!r} is missing", column=column)
    if isinstance(value, bool):
        raise Rejected("bad_timestamp", f"{column}: {value!r} is not a time", column=column)
    if isinstance(value, int | float):
        return _from_number(value, column)
    if isinstance(value, str):
        text = value.strip()
        if text.lstrip("-").replace(".", "", 1).isdigit():
            return _from_number(float(text) if "." in text else int(text), column)
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise Rejected("bad_timestamp", f"{column}: {value[:64]!r} is not an ISO-8601 time",
                           column=column) from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        delta = moment - _EPOCH
        return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
    raise Rejected("bad_timestamp", f"{column}: a JSON {type(value).__name__} is not a time",
                   column=column)


def check_range(micros: int, column: str, latest_micros: int) -> int:
    """Refuse times before 1970 or past `latest_micros` (now + the allowed skew)."""
    if micros < 0:
        raise Rejected("timestamp_too_old", f"{column}: {micros / 1e6:.0f} s is before 1970",
                       column=column)
    if micros > latest_micros:
        ahead = (micros - latest_micros) / 1e6
        raise Rejected("timestamp_in_future",
                       f"{column}: {_iso(micros)} is {ahead:.0f} s past the allowed clock skew",
                       column=column)
    return micros


def _iso(micros: int) -> str:
    try:
        return datetime.fromtimestamp(micros / 1e6, UTC).isoformat()
    except (OverflowError, ValueError, OSError):
        return f"{micros} µs"
