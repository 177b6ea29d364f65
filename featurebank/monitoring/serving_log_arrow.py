"""Sampled lookup rows: gathered on the hot path, turned into Arrow tables on the writer thread.

Profiles showed that reading a response's Python lists long after it was answered costs far more
than reading them right away: by then they are out of the CPU caches, and a queued 100-entity
response is scattered over dozens of objects; holding whole responses also pushed every later
lookup's allocations into cold memory. So `Served` takes the sampled rows while the response is
still hot, with one C-level `itemgetter` per column (numpy columns: one `take`; statuses and
timestamps shared by several features are taken once, statuses encoded once per pattern). The
writer joins many requests per column and converts each column once (`to_table`).
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from itertools import chain, islice
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from featurebank.monitoring import log_layout
from featurebank.monitoring.serving_log_shape import LogShape

EPOCH_TEXT = "1970-01-01T00:00:00Z"
"""What the lookup answers as the event time of a missing value; logged as null."""
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_STATUS_CODE = {status.name: status.value for status in log_layout.FieldStatus}
# The sampled statuses of one column of one request, by content: a handful of patterns repeat
# (all PRESENT, above all), so each is encoded once and the writer joins ready int32 arrays.
# Touched by the event loop only; bounded.
_STATUS_ARRAYS: dict[tuple[str, ...], np.ndarray[Any, Any]] = {}
_MAX_STATUS_PATTERNS = 8192

Picked = Sequence[Any]
"""The sampled rows of one column of one request (a tuple, or the whole list when all are)."""


def _picker(rows: list[int], count: int) -> Callable[[Sequence[Any]], Picked]:
    if len(rows) == count:
        return _whole
    if len(rows) == 1:
        row = rows[0]
        return lambda column: (column[row],)
    return operator.itemgetter(*rows)


def _whole(column: Sequence[Any]) -> Picked:
    return column


_NO_CODES = np.zeros(0, dtype=np.int32)


def _status_codes(names: Picked) -> np.ndarray[Any, Any]:
    key = tuple(names)
    codes = _STATUS_ARRAYS.get(key)
    if codes is None:
        if len(_STATUS_ARRAYS) >= _MAX_STATUS_PATTERNS:
            _STATUS_ARRAYS.clear()
        codes = np.array([_STATUS_CODE.get(name, 0) for name in key], dtype=np.int32)
        codes.flags.writeable = False
        _STATUS_ARRAYS[key] = codes
    return codes


class Served:
    """One sampled request, gathered on the hot path (see the module docstring)."""

    __slots__ = ("consumer", "count", "keys", "log_time_us", "request_id", "rows", "shape",
                 "stamps", "statuses", "values")

    def __init__(self, shape: LogShape, entities: dict[str, list[Any]],
                 response: dict[str, Any], rows: list[int], count: int, log_time_us: int,
                 request_id: str, consumer: str) -> None:
        pick = _picker(rows, count)
        results = response["results"]
        values: list[Any] = []
        statuses: list[np.ndarray[Any, Any]] = []
        stamps: list[Picked] = []
        last_status: object = None
        last_stamp: object = None
        picked_status: np.ndarray[Any, Any] = _NO_CODES
        picked_stamp: Picked = ()
        ndarray = np.ndarray
        # Numpy columns are copied down to the sampled rows: a kept view would keep the engine's
        # whole decoded matrix alive, and a queue of those made every lookup's allocations land
        # in cold memory (+25% CPU per 100-entity lookup at 10% sampling).
        positions = None if pick is _whole else np.array(rows, dtype=np.intp)
        for result in islice(results, len(results) - len(shape.features), None):
            column = result["values"]
            if type(column) is ndarray:
                values.append(column if positions is None else column.take(positions))
            else:
                values.append(pick(column))
            status = result["statuses"]
            if status is not last_status:  # the engine shares these lists between features
                last_status, picked_status = status, _status_codes(pick(status))
            statuses.append(picked_status)
            stamp = result["event_timestamps"]
            if stamp is not last_stamp:
                last_stamp, picked_stamp = stamp, pick(stamp)
            stamps.append(picked_stamp)
        self.shape = shape
        self.keys = [pick(entities[name]) for name, _ in shape.key_columns]
        self.values = values
        self.statuses = statuses
        self.stamps = stamps
        self.rows = rows
        self.count = count
        self.log_time_us = log_time_us
        self.request_id = request_id
        self.consumer = consumer


def to_table(shape: LogShape, served: Sequence[Served], day: date) -> pa.Table:
    """The logged rows of `served` (all of `shape`, all logged on `day`)."""
    counts = [len(s.rows) for s in served]
    total = sum(counts)
    names: list[str] = []
    arrays: list[pa.Array] = []
    key_columns = list(zip(*(s.keys for s in served), strict=True))  # transposed at C speed
    for (name, arrow_type), parts in zip(shape.key_columns, key_columns, strict=True):
        names.append(name)
        arrays.append(_typed(_join(parts), arrow_type))
    value_columns = list(zip(*(s.values for s in served), strict=True))
    stamp_columns = list(zip(*(s.stamps for s in served), strict=True))
    status_columns = list(zip(*(s.statuses for s in served), strict=True))
    stamp_array = status_array = pa.array([])
    for j, column in enumerate(shape.features):
        stamps, statuses = stamp_columns[j], status_columns[j]
        if not j or not _same(stamps, stamp_columns[j - 1]):
            stamp_array = _timestamps(_join(stamps))
        if not j or not _same(statuses, status_columns[j - 1]):
            status_array = pa.array(np.concatenate(statuses), type=log_layout.STATUS_TYPE)
        names += [column.name, column.name + log_layout.TIMESTAMP_SUFFIX,
                  column.name + log_layout.STATUS_SUFFIX]
        arrays += [_values(value_columns[j], column.arrow_type), stamp_array,
                   status_array]
    names += [field.name for field in log_layout.SYSTEM_FIELDS]
    arrays += [
        pa.array(np.repeat(np.array([s.log_time_us for s in served], dtype=np.int64), counts),
                 type=log_layout.TIMESTAMP_TYPE),
        pa.repeat(pa.scalar(day, type=pa.date32()), total),
        pa.array(np.repeat(np.array([s.request_id for s in served], dtype=object), counts),
                 type=pa.string()),
        pa.array(np.repeat(np.array([s.consumer for s in served], dtype=object), counts),
                 type=pa.string()),
        pa.repeat(pa.scalar(shape.feature_service, type=pa.string()), total),
    ]
    return pa.Table.from_arrays(arrays, names=names)


def _values(parts: Sequence[Any], arrow_type: pa.DataType | None) -> pa.Array:
    """One feature's sampled values (numpy parts hold just the sampled rows).

    NaN is null either way: the engine marks nulls in float arrays with NaN, and the response
    (orjson) writes any NaN as null.
    """
    numpy = [type(part) is np.ndarray for part in parts]
    if all(numpy):
        return _cast(pa.array(np.concatenate(parts), from_pandas=True), arrow_type)
    if any(numpy):  # some requests had a numpy column, others a list (integers with nulls)
        parts = [part.tolist() if is_numpy else part for part, is_numpy in zip(parts, numpy,
                                                                                strict=True)]
    return _typed(_join(parts), arrow_type)


def _join(parts: Sequence[Sequence[Any]]) -> list[Any]:
    return list(chain.from_iterable(parts))


def _same(left: Sequence[Any], right: Sequence[Any]) -> bool:
    return all(map(operator.is_, left, right))


def _cast(array: pa.Array, arrow_type: pa.DataType | None) -> pa.Array:
    if arrow_type is None or array.type == arrow_type:
        return array
    if pa.types.is_timestamp(arrow_type) and not pa.types.is_timestamp(array.type):
        array = pc.cast(array, pa.int64())
    return pc.cast(array, arrow_type, safe=False)


def _typed(values: list[Any], arrow_type: pa.DataType | None) -> pa.Array:
    """Values as `arrow_type`; what does not fit is inferred, and failing that kept as text."""
    if arrow_type is not None:
        try:
            if pa.types.is_timestamp(arrow_type):
                return _cast(pa.array(values), arrow_type)
            return pa.array(values, type=arrow_type, from_pandas=True)
        except (pa.ArrowException, TypeError, ValueError, OverflowError):
            pass
        if pa.types.is_integer(arrow_type):  # join keys may come as decimal strings
            try:
                return pa.array([None if v is None else int(v) for v in values], type=arrow_type)
            except (pa.ArrowException, TypeError, ValueError, OverflowError):
                pass
    try:
        return pa.array(values, from_pandas=True)
    except (pa.ArrowException, TypeError, ValueError, OverflowError):
        return pa.array([None if v is None else str(v) for v in values], type=pa.string())


def _timestamps(texts: list[str]) -> pa.Array:
    array = pa.array(texts, type=pa.string())
    try:
        parsed = pc.cast(pc.cast(array, pa.timestamp("ns", tz="UTC")), log_layout.TIMESTAMP_TYPE,
                         safe=False)
    except pa.ArrowException:  # outside the nanosecond range: parse what fits, null the rest
        parsed = pa.array([_parse_us(text) for text in texts], type=log_layout.TIMESTAMP_TYPE)
    return pc.if_else(pc.equal(array, EPOCH_TEXT), pa.scalar(None, log_layout.TIMESTAMP_TYPE),
                      parsed)


def _parse_us(text: str) -> int | None:
    """`YYYY-MM-DDTHH:MM:SS[.fraction]Z` → microseconds since the epoch (None if it is not)."""
    try:
        moment = datetime.strptime(text[:19], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC)
        fraction = text[20:-1] if text[19:20] == "." else ""
        micros = int((fraction + "000000")[:6])
    except ValueError:
        return None
    seconds = (moment - EPOCH).days * 86_400 + (moment - EPOCH).seconds
    return seconds * 1_000_000 + micros
