"""Bytes → JSON object, the first step of the pure core.

orjson is tried first (fast, strict); the standard library parser is the fallback only so a
message holding the non-standard `NaN`/`Infinity` literals is still read and then refused by the
contract as `nan_forbidden` where the column's type cannot hold it, instead of as invalid JSON.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

from streaming.errors import Rejected


def _constant(name: str) -> float:
    return float(name.replace("Infinity", "inf"))


def decode_message(value: bytes | None, max_bytes: int) -> dict[str, Any]:
    """The message as a dict, or `Rejected` naming what is wrong with the bytes."""
    if value is None:
        raise Rejected("invalid_json", "the message has no value (a tombstone)")
    if len(value) > max_bytes:
        raise Rejected("oversize", f"the message is {len(value)} bytes; the limit is {max_bytes}")
    try:
        record = orjson.loads(value)
    except orjson.JSONDecodeError:
        record = _lenient(value)
    if not isinstance(record, dict):
        raise Rejected("invalid_json", f"the message is a JSON {type(record).__name__}, "
                                       "not an object")
    return record


def _lenient(value: bytes) -> Any:
    try:
        text = value.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Rejected("invalid_utf8", f"byte {exc.start} is not valid UTF-8") from None
    try:
        return json.loads(text, parse_constant=_constant)
    except json.JSONDecodeError as exc:
        raise Rejected("invalid_json", f"not valid JSON: {exc.msg} at position {exc.pos}") from None
