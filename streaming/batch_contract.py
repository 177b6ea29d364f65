"""The contract checked a whole batch at a time, for batches where every message is clean.

Checking value by value (`Contract.check`) cost about a quarter of a processor's time. Real
topics are almost entirely valid, so a batch is first checked column by column: one type set
per column, Arrow's own overflow checks, epoch-number event times scaled and range-checked with
numpy. Whenever anything is not plainly valid (a wrong type, a null join key, a lossy number,
an out-of-range or non-numeric time, undecodable bytes) this returns None and the caller checks
the batch row by row, which names each bad message's reason exactly as before. So this path
only ever accepts batches the row path would accept whole, with the same typed values.
A list column is checked as one flat column of its elements (no null element allowed), then
rebuilt from its offsets. Values for columns of unsupported types always take the row path.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import orjson
import pyarrow as pa

from streaming.contract import Contract
from streaming.errors import Rejected
from streaming.timestamps import to_micros

_FLOAT32_MAX = 3.4028234663852886e38
_EXACT_IN_DOUBLE = 1 << 53
_NONE = type(None)
# Epoch-number scaling of `streaming.timestamps`, with integer bounds so the
# comparisons are exact: below 1e11 seconds, below 1e14 ms, below 1e17 µs, else ns.
_SECONDS_BELOW, _MILLIS_BELOW, _MICROS_BELOW = 10**11, 10**14, 10**17


def decode_all(values: Sequence[bytes | None], max_bytes: int) -> list[dict[str, Any]] | None:
    """Every message as a JSON object, or None when any one needs the per-message rules."""
    try:
        if max(map(len, values)) > max_bytes:  # type: ignore[arg-type]
            return None
        records = list(map(orjson.loads, values))  # type: ignore[arg-type]
    except (TypeError, ValueError):  # a tombstone (None) or bytes orjson refuses
        return None
    for record in records:
        if type(record) is not dict:
            return None
    return records


def _integers(values: list[Any], arrow_type: pa.DataType) -> pa.Array | None:
    try:
        return pa.array(values, type=arrow_type)
    except (pa.ArrowInvalid, OverflowError):  # does not fit: the row path names it lossy
        return None


def _floats(values: list[Any], kinds: set[type], arrow_type: pa.DataType,
            limit: float | None) -> pa.Array | None:
    if int in kinds:
        for value in values:
            if type(value) is int and not -_EXACT_IN_DOUBLE <= value <= _EXACT_IN_DOUBLE:
                return None
        values = [float(v) if type(v) is int else v for v in values]
    if limit is not None:
        present = [abs(v) for v in values if v is not None]
        if present and max(present) > limit:
            return None
    # orjson never yields NaN or infinities, so nothing here becomes null beyond JSON nulls
    return pa.array(values, type=arrow_type)


def _list_column(kind: str, values: list[Any], kinds: set[type],
                 arrow_type: pa.DataType) -> pa.Array | None:
    """Lists: their elements checked as one column of the element kind, then re-cut."""
    if not kinds - {_NONE} <= {list}:
        return None
    flat = [item for value in values if value is not None for item in value]
    item_kinds = set(map(type, flat))
    if _NONE in item_kinds:  # a null element: the row path names it
        return None
    items = _column(kind, flat, item_kinds, arrow_type.value_type)
    if items is None:
        return None
    offsets = np.zeros(len(values) + 1, dtype=np.int32)
    np.cumsum([0 if value is None else len(value) for value in values], out=offsets[1:])
    nulls = pa.array([value is None for value in values]) if _NONE in kinds else None
    return pa.ListArray.from_arrays(pa.array(offsets), items, type=arrow_type, mask=nulls)


def _column(kind: str, values: list[Any], kinds: set[type],
            arrow_type: pa.DataType) -> pa.Array | None:
    """One checked column, or None when the batch must take the row path."""
    if kind.startswith("list_"):
        return _list_column(kind.removeprefix("list_"), values, kinds, arrow_type)
    plain = kinds - {_NONE}
    if kind in ("int64", "int32"):
        return _integers(values, arrow_type) if plain <= {int} else None
    if kind in ("float64", "float32"):
        if not plain <= {float, int}:
            return None
        return _floats(values, kinds, arrow_type, _FLOAT32_MAX if kind == "float32" else None)
    if kind == "bool":
        return pa.array(values, type=arrow_type) if plain <= {bool} else None
    if kind == "string":
        return pa.array(values, type=arrow_type) if plain <= {str} else None
    if kind == "bytes":
        if not plain <= {str}:
            return None
        return pa.array([None if v is None else v.encode("utf-8") for v in values],
                        type=arrow_type)
    if kind == "timestamp":
        if not plain <= {int, str}:
            return None
        try:
            micros = [None if v is None else to_micros(v, "") for v in values]
        except Rejected:
            return None
        return pa.array(micros, type=arrow_type)
    return None


def _event_micros(values: list[Any], latest: int) -> np.ndarray | None:
    """Epoch numbers (int) or ISO strings → µs; None unless every one is valid and in range."""
    kinds = set(map(type, values))
    if kinds == {int}:
        try:
            raw = np.array(values, dtype=np.int64)
        except OverflowError:
            return None
        if len(raw) and raw.min() < 0:
            return None
        micros = np.where(raw < _SECONDS_BELOW, raw * 1_000_000,
                          np.where(raw < _MILLIS_BELOW, raw * 1_000,
                                   np.where(raw < _MICROS_BELOW, raw, raw // 1_000)))
    elif kinds <= {int, str}:  # ISO strings (or a mix): the per-value parser, still no rows
        try:
            micros = np.array([to_micros(v, "") for v in values], dtype=np.int64)
        except (Rejected, OverflowError):
            return None
    else:
        return None
    if len(micros) and (micros.min() < 0 or micros.max() > latest):
        return None
    return micros


def check_columns(contract: Contract, records: list[dict[str, Any]],
                  now_micros: int) -> list[pa.Array] | None:
    """The batch's typed columns in schema order, or None to check it row by row instead."""
    schema = contract.schema
    ts_name = schema.timestamp_field
    for name, _ in schema.unsupported:  # the row path names the refusal
        if any(record.get(name) is not None for record in records):
            return None
    arrays: list[pa.Array] = []
    for column in schema.columns:
        if column.name == ts_name:
            continue
        values = [record.get(column.name) for record in records]
        kinds = set(map(type, values))
        if _NONE in kinds and column.name in contract.required:
            return None
        array = _column(column.kind, values, kinds, column.arrow_type)
        if array is None:
            return None
        arrays.append(array)
    micros = _event_micros([record.get(ts_name) for record in records],
                           now_micros + contract.max_skew_micros)
    if micros is None:
        return None
    arrays.append(pa.array(micros, type=pa.int64()).view(pa.timestamp("us", tz="UTC")))
    return arrays
