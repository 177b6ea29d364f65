"""Protobuf base-128 varints, the only variable-length piece of the scalar wire forms."""

from __future__ import annotations

_MASK64 = (1 << 64) - 1


def encode_varint(value: int) -> bytes:
    """Encode a non-negative or two's-complement (64-bit) integer as a varint."""
    value &= _MASK64
    if value < 0x80:
        return bytes((value,))
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def decode_varint(data: bytes, pos: int) -> tuple[int, int]:
    """Return (unsigned value, next position)."""
    result = 0
    shift = 0
    while True:
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise ValueError("varint longer than 10 bytes")


def to_signed64(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value
