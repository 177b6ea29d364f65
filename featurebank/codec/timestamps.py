"""`google.protobuf.Timestamp` bytes as Feast stores them under `_ts:<view>`."""

from __future__ import annotations

from datetime import UTC, datetime

from featurebank.codec.varint import decode_varint, encode_varint

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def encode_timestamp(seconds: int, nanos: int = 0) -> bytes:
    """Serialize like `Timestamp.SerializeToString()` (zero fields are omitted)."""
    out = b""
    if seconds:
        out = b"\x08" + encode_varint(seconds)
    if nanos:
        out += b"\x10" + encode_varint(nanos)
    return out


def decode_timestamp(data: bytes) -> tuple[int, int]:
    """Return (seconds, nanos); unknown fields are skipped as protobuf would."""
    seconds = nanos = 0
    pos = 0
    end = len(data)
    while pos < end:
        tag = data[pos]
        pos += 1
        value, pos = decode_varint(data, pos)
        if tag == 0x08:
            seconds = value - (1 << 64) if value >= 1 << 63 else value
        elif tag == 0x10:
            nanos = value
    return seconds, nanos


def datetime_to_parts(moment: datetime) -> tuple[int, int]:
    """Split an aware datetime into (seconds, nanos) since the epoch, exactly."""
    if moment.tzinfo is None:
        raise ValueError(f"timestamp {moment.isoformat()} has no time zone")
    delta = moment - EPOCH
    seconds = delta.days * 86_400 + delta.seconds
    return seconds, delta.microseconds * 1_000


def format_timestamp(seconds: int, nanos: int) -> str:
    """RFC 3339 with Feast's adaptive precision, e.g. `2024-01-01T00:00:00.250Z`."""
    if seconds == 0 and nanos == 0:
        return "1970-01-01T00:00:00Z"
    base = datetime.fromtimestamp(seconds, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S")
    if nanos == 0:
        return base + "Z"
    if nanos % 1_000_000 == 0:
        return f"{base}.{nanos // 1_000_000:03d}Z"
    if nanos % 1_000 == 0:
        return f"{base}.{nanos // 1_000:06d}Z"
    return f"{base}.{nanos:09d}Z"
