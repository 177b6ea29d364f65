"""Sampled lookup responses → one Arrow table in Feast's feature-logging layout.

Runs on the writer thread, never on the event loop. The hot path queued whole responses (cheap:
references only); here the sampled rows of many requests of one shape are gathered column by
column, so the costly steps (numpy gathers, string → timestamp parsing, status codes) run once
per column per batch instead of once per request. Columns the engine shares between features
(the timestamps of one view, the statuses of a fully present view) are converted once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from featurebank.monitoring import log_layout
from featurebank.monitoring.serving_log_shape import LogShape

EPOCH_TEXT = "1970-01-01T00:00:00Z"
"""What the lookup answers as the event time of a missing value; logged as null."""
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_STATUS_NAMES = pa.array([status.name for status in log_layout.FieldStatus])


@dataclass(frozen=True)
class Served:
    """One sampled request as queued by the hot path: references, nothing copied."""

    shape: LogShape
    entities: dict[str, list[Any]]
    results: list[dict[str, Any]]
    rows: list[int]
    log_time_us: int
    request_id: str
    consumer: str


def to_table(shape: LogShape, served: Sequence[Served], day: date) -> pa.Table:
    """The logged rows of `served` (all of `shape`, all logged on `day`)."""
    names: list[str] = []
    arrays: list[pa.Array] = []
    for name, arrow_type in shape.key_columns:
        names.append(name)
        arrays.append(_typed([s.entities[name][row] for s in served for row in s.rows],
                             arrow_type))
    offsets = [len(s.results) - len(shape.features) for s in served]
    gather = _Gather(served)
    previous: tuple[list[Any], pa.Array, list[Any], pa.Array] | None = None
    for j, column in enumerate(shape.features):
        results = [s.results[offset + j] for s, offset in zip(served, offsets, strict=True)]
        stamps = [r["event_timestamps"] for r in results]
        statuses = [r["statuses"] for r in results]
        if previous is not None and _same(stamps, previous[0]):
            stamp_array = previous[1]
        else:
            stamp_array = _timestamps(gather.objects(stamps))
        if previous is not None and _same(statuses, previous[2]):
            status_array = previous[3]
        else:
            status_array = _statuses(gather.objects(statuses))
        previous = (stamps, stamp_array, statuses, status_array)
        names += [column.name, column.name + log_layout.TIMESTAMP_SUFFIX,
                  column.name + log_layout.STATUS_SUFFIX]
        arrays += [gather.values([r["values"] for r in results], column.arrow_type),
                   stamp_array, status_array]
    counts = [len(s.rows) for s in served]
    total = sum(counts)
    names += [field.name for field in log_layout.SYSTEM_FIELDS]
    arrays += [
        pa.array(np.repeat(np.array([s.log_time_us for s in served], dtype=np.int64), counts),
                 type=log_layout.TIMESTAMP_TYPE),
        pa.array([day] * total, type=pa.date32()),
        pa.array([s.request_id for s, n in zip(served, counts, strict=True) for _ in range(n)],
                 type=pa.string()),
        pa.array([s.consumer for s, n in zip(served, counts, strict=True) for _ in range(n)],
                 type=pa.string()),
        pa.array([shape.feature_service] * total, type=pa.string()),
    ]
    return pa.Table.from_arrays(arrays, names=names)


def _same(left: list[Any], right: list[Any]) -> bool:
    return all(a is b for a, b in zip(left, right, strict=True))


class _Gather:
    """Takes the sampled rows out of per-request columns, vectorized where they are numpy."""

    def __init__(self, served: Sequence[Served]) -> None:
        self.served = served
        lengths = [len(s.results[-1]["values"]) if s.results else 0 for s in served]
        starts = np.cumsum([0, *lengths[:-1]]) if served else np.zeros(0, dtype=np.int64)
        self.index = np.array([start + row for s, start in zip(served, starts, strict=True)
                               for row in s.rows], dtype=np.int64)

    def objects(self, parts: list[list[Any]]) -> list[Any]:
        return [part[row] for s, part in zip(self.served, parts, strict=True) for row in s.rows]

    def values(self, parts: list[Any], arrow_type: pa.DataType | None) -> pa.Array:
        if parts and all(isinstance(part, np.ndarray) for part in parts):
            picked = np.concatenate(parts)[self.index]
            array = pa.array(picked, from_pandas=True)  # NaN marks a null in the engine's floats
            return _cast(array, arrow_type)
        listed: list[Any] = []
        for s, part in zip(self.served, parts, strict=True):
            if isinstance(part, np.ndarray):
                chosen = part[s.rows]
                listed += [None if v != v else v for v in chosen.tolist()]  # NaN is null
            else:
                listed += [part[row] for row in s.rows]
        return _typed(listed, arrow_type)


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
            return pa.array(values, type=arrow_type)
        except (pa.ArrowException, TypeError, ValueError, OverflowError):
            pass
        if pa.types.is_integer(arrow_type):  # join keys may come as decimal strings
            try:
                return pa.array([None if v is None else int(v) for v in values], type=arrow_type)
            except (pa.ArrowException, TypeError, ValueError, OverflowError):
                pass
    try:
        return pa.array(values)
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


def _statuses(names: list[str]) -> pa.Array:
    codes = pc.index_in(pa.array(names, type=pa.string()), value_set=_STATUS_NAMES)
    return pc.fill_null(codes, log_layout.FieldStatus.INVALID.value).cast(log_layout.STATUS_TYPE)
