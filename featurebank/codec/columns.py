"""Decoding the stored values of several features for many entities, one value type at a time.

A 100-entity lookup of 20 features is 2,000 protobuf `Value`s; decoding them one by one was
most of its CPU time. Here the features of one view that share a numeric type are decoded
together: their bytes are joined and read by numpy in a handful of passes whatever the number
of features, and the result stays a numpy array that orjson writes without building Python
floats or ints (`orjson.OPT_SERIALIZE_NUMPY`; a null is NaN in a float array, which orjson
writes as `null`). Anything unexpected — a value stored under another type, a non-finite float,
a malformed varint — sends that group back to the per-value decoders, which handle every form.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from feast.value_type import ValueType

from featurebank.codec.values import (
    TAG_DOUBLE,
    TAG_FLOAT,
    TAG_INT32,
    TAG_INT64,
    TAG_UNIX_TS,
    decoder_for,
)

Values = list[Any] | np.ndarray[Any, Any]
# The values of one feature for every entity, and the rows where it is null.
DecodedColumn = tuple[Values, list[int]]
Rows = Sequence[Sequence[bytes | None]]

# Below this many values per group, numpy's fixed cost per call exceeds the loop it replaces.
MIN_BATCH_VALUES = 16

_FLOAT_LAYOUTS: dict[ValueType, tuple[int, np.dtype[Any]]] = {
    ValueType.DOUBLE: (TAG_DOUBLE, np.dtype([("tag", "u1"), ("value", "<f8")])),
    ValueType.FLOAT: (TAG_FLOAT, np.dtype([("tag", "u1"), ("value", "<f4")])),
}
_INTEGER_TYPES = frozenset((ValueType.INT64, ValueType.INT32, ValueType.UNIX_TIMESTAMP))
_INTEGER_NULL = b"\x00\x00"  # tag 0 (no protobuf field has number 0) and a one-byte varint


@dataclass(frozen=True)
class _Run:
    """Features of one kind: positions in the decoder's feature list."""

    kind: ValueType | None  # a float type, INT64 for any integer, None for per-value only
    indexes: tuple[int, ...]


class ColumnsDecoder:
    """Decodes one view's features (in a fixed order) for a batch of entities."""

    def __init__(self, value_types: Sequence[ValueType]) -> None:
        self._per_value: tuple[Callable[[bytes | None], Any], ...] = tuple(
            decoder_for(value_type) for value_type in value_types)
        kinds: dict[ValueType | None, list[int]] = {}
        for index, value_type in enumerate(value_types):
            if value_type in _FLOAT_LAYOUTS:
                kind: ValueType | None = value_type
            elif value_type in _INTEGER_TYPES:
                kind = ValueType.INT64
            else:
                kind = None
            kinds.setdefault(kind, []).append(index)
        self._runs = tuple(_Run(kind, tuple(indexes)) for kind, indexes in kinds.items())
        self._width = len(value_types)

    def decode(self, rows: Rows, first: int) -> list[DecodedColumn]:
        """Columns for `rows[e][first + i]`, in feature order."""
        out: list[DecodedColumn | None] = [None] * self._width
        for run in self._runs:
            positions = [first + index for index in run.indexes]
            columns: list[DecodedColumn] | None = None
            if run.kind is not None and len(rows) * len(positions) >= MIN_BATCH_VALUES:
                if run.kind in _FLOAT_LAYOUTS:
                    columns = _floats(rows, positions, *_FLOAT_LAYOUTS[run.kind])
                else:
                    columns = _integers(rows, positions)
            if columns is None:
                columns = [self._one_by_one(rows, first + index, index) for index in run.indexes]
            for index, column in zip(run.indexes, columns, strict=True):
                out[index] = column
        return out  # type: ignore[return-value]  # every index belongs to exactly one run

    def _one_by_one(self, rows: Rows, position: int, index: int) -> DecodedColumn:
        decode = self._per_value[index]
        values = [decode(row[position]) for row in rows]
        return values, [row for row, value in enumerate(values) if value is None]


def _gather(rows: Rows, positions: list[int], null: bytes) -> list[bytes]:
    """Entity-major (every feature of the first entity, then of the second, ...), with a
    stand-in for each missing value."""
    if len(positions) == 1:
        position = positions[0]
        return [row[position] or null for row in rows]
    return [row[position] or null for row in rows for position in positions]


def _split(values: np.ndarray[Any, Any], null: np.ndarray[Any, Any], entities: int,
           width: int) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """Entity-major flat arrays → one contiguous row per feature."""
    return (np.ascontiguousarray(values.reshape(entities, width).T),
            null.reshape(entities, width).T)


def _floats(rows: Rows, positions: list[int], tag: int,
            layout: np.dtype[Any]) -> list[DecodedColumn] | None:
    raw = _gather(rows, positions, bytes(layout.itemsize))  # tag 0 marks a null
    blob = b"".join(raw)
    if len(blob) != layout.itemsize * len(raw):
        return None
    table = np.frombuffer(blob, dtype=layout)
    tags = table["tag"]
    null = tags == 0
    if not ((tags == tag) | null).all():
        return None
    values = table["value"].astype(np.float64)
    if not np.isfinite(values).all():
        return None  # NaN and infinities keep Feast's rendering, in the per-value decoder
    any_null = bool(null.any())
    if any_null:
        values[null] = np.nan
    matrix, null_matrix = _split(values, null, len(rows), len(positions))
    return [(matrix[j], np.flatnonzero(null_matrix[j]).tolist() if any_null else [])
            for j in range(len(positions))]


def _integers(rows: Rows, positions: list[int]) -> list[DecodedColumn] | None:
    """Varints: each byte's 7 payload bits shifted by its place, summed per value.

    The pieces of one value never overlap, so `np.add.reduceat` is their bitwise or; negative
    numbers are 10-byte two's-complement varints, which the int64 view reads back.
    """
    filled = _gather(rows, positions, _INTEGER_NULL)
    lengths = np.fromiter(map(len, filled), dtype=np.int64, count=len(filled))
    if lengths.min() < 2 or lengths.max() > 11:
        return None
    data = np.frombuffer(b"".join(filled), dtype=np.uint8)
    starts = np.cumsum(lengths) - lengths
    tags = data[starts]
    null = tags == 0
    if not ((tags == TAG_INT64) | (tags == TAG_INT32) | (tags == TAG_UNIX_TS) | null).all():
        return None
    # Well-formed: each value's last byte ends its varint and no other byte but its tag does.
    if (data[starts + lengths - 1] >= 0x80).any() or \
            int(np.count_nonzero(data < 0x80)) != 2 * len(filled):
        return None
    place = np.arange(data.size, dtype=np.int64) - np.repeat(starts + 1, lengths)
    pieces = (data & 0x7F).astype(np.uint64) << (np.maximum(place, 0) * 7).astype(np.uint64)
    pieces[starts] = 0
    values = np.add.reduceat(pieces, starts).view(np.int64)
    matrix, null_matrix = _split(values, null, len(rows), len(positions))
    if not null.any():
        return [(matrix[j], []) for j in range(len(positions))]
    columns: list[DecodedColumn] = []
    for j in range(len(positions)):
        nulls = np.flatnonzero(null_matrix[j]).tolist()
        if not nulls:
            columns.append((matrix[j], []))
            continue
        listed: list[Any] = matrix[j].tolist()
        for row in nulls:
            listed[row] = None
        columns.append((listed, nulls))
    return columns


def as_list(values: Values) -> list[Any]:
    """Plain Python values with None for nulls (float arrays hold nulls as NaN)."""
    if isinstance(values, list):
        return values
    listed: list[Any] = values.tolist()
    if values.dtype.kind == "f":
        return [None if value != value else value for value in listed]
    return listed
