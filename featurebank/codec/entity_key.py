"""Entity keys serialized as Feast's `serialize_entity_key` v3, followed by the project name.

A view's join keys are fixed, so the part naming them (count, then each name) is computed once
per view (`EntityKeyCodec`) and only the values are encoded per entity.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Callable, Sequence
from typing import Any

from feast.value_type import ValueType

from featurebank.errors import InvalidInput

_DECIMAL = re.compile(r"-?[0-9]+")  # ASCII only: "²" and "--5" pass str.isdigit-based checks
_U32 = struct.Struct("<I").pack
_I64 = struct.Struct("<q").pack
_I32 = struct.Struct("<i").pack


def _int64(value: Any) -> bytes:
    if isinstance(value, bool) or not isinstance(value, int):
        numeric_text = isinstance(value, str) and _DECIMAL.fullmatch(value) is not None
        if numeric_text or (isinstance(value, float) and value.is_integer()):
            value = int(value)
        else:
            raise TypeError("an integer")
    if not -(1 << 63) <= value < 1 << 63:
        raise TypeError("a 64-bit integer")
    return b"\x04\x00\x00\x00\x08\x00\x00\x00" + _I64(value)


def _int32(value: Any) -> bytes:
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, str) and _DECIMAL.fullmatch(value) is not None:
            value = int(value)
        else:
            raise TypeError("an integer")
    if not -(1 << 31) <= value < 1 << 31:
        raise TypeError("a 32-bit integer")
    return b"\x03\x00\x00\x00\x04\x00\x00\x00" + _I32(value)


def _string(value: Any) -> bytes:
    if not isinstance(value, str):
        raise TypeError("a string")
    raw = value.encode("utf-8")
    return b"\x02\x00\x00\x00" + _U32(len(raw)) + raw


def _bytes(value: Any) -> bytes:
    if isinstance(value, str):
        raw = value.encode("utf-8")
    elif isinstance(value, bytes):
        raw = value
    else:
        raise TypeError("bytes or a string")
    return b"\x01\x00\x00\x00" + _U32(len(raw)) + raw


_VALUE_ENCODERS: dict[ValueType, Callable[[Any], bytes]] = {
    ValueType.INT64: _int64,
    ValueType.INT32: _int32,
    ValueType.STRING: _string,
    ValueType.BYTES: _bytes,
}


class EntityKeyCodec:
    """Builds Redis hash keys for one ordered set of join keys within one project."""

    __slots__ = ("_encoders", "_names", "_order", "_prefix", "_suffix", "join_keys")

    def __init__(self, join_keys: Sequence[tuple[str, ValueType]], project: str) -> None:
        for name, value_type in join_keys:
            if value_type not in _VALUE_ENCODERS:
                raise InvalidInput(
                    f"join key {name!r} has type {value_type.name}; "
                    "supported: INT64, INT32, STRING, BYTES"
                )
        ordered = sorted(join_keys)
        self.join_keys: tuple[str, ...] = tuple(name for name, _ in join_keys)
        self._names = tuple(name for name, _ in ordered)
        # Positions of the sorted keys in the caller's order, so callers pass values as declared.
        self._order = tuple(self.join_keys.index(name) for name in self._names)
        self._encoders = tuple(_VALUE_ENCODERS[value_type] for _, value_type in ordered)
        prefix = [_U32(len(ordered))]
        for name in self._names:
            raw = name.encode("utf-8")
            prefix += [_U32(ValueType.STRING.value), _U32(len(raw)), raw]
        self._prefix = b"".join(prefix)
        self._suffix = project.encode("utf-8")

    def key(self, values: Sequence[Any]) -> bytes:
        """The Redis key for one entity, `values` in the order of `join_keys`."""
        parts = [self._prefix]
        for position, encoder, name in zip(self._order, self._encoders, self._names, strict=True):
            value = values[position]
            try:
                parts.append(encoder(value))
            except TypeError as exc:
                raise InvalidInput(
                    f"join key {name!r}: {value!r} is not {exc.args[0]}",
                    detail={"join_key": name, "value": repr(value)[:100]},
                ) from None
        parts.append(self._suffix)
        return b"".join(parts)

    def keys(self, columns: Sequence[Sequence[Any]]) -> list[bytes]:
        """Keys for many entities given one column of values per join key."""
        if len(self._names) == 1:
            encoder, name, suffix = self._encoders[0], self._names[0], self._suffix
            prefix = self._prefix
            out = []
            for value in columns[0]:
                try:
                    out.append(prefix + encoder(value) + suffix)
                except TypeError as exc:
                    raise InvalidInput(
                        f"join key {name!r}: {value!r} is not {exc.args[0]}",
                        detail={"join_key": name, "value": repr(value)[:100]},
                    ) from None
            return out
        return [self.key(row) for row in zip(*columns, strict=True)]
