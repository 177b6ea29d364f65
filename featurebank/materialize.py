"""Offline Parquet → Redis: the newest row per entity of each view, written monotonically."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

import pyarrow as pa
import pyarrow.compute as pc
import redis

from featurebank.aggregations import aggregations_of
from featurebank.definitions import Definitions, ViewSpec
from featurebank.errors import InvalidInput, UnknownName
from featurebank.freshness import advance_watermarks
from featurebank.offline.latest import EVENT_TS, LatestRows, latest_rows
from featurebank.offline.latest_windows import latest_window_rows
from featurebank.offline.sources import offline_source
from featurebank.online.rows import rows_from_table
from featurebank.online.writer import RedisOnlineWriter

BATCH_ROWS = 50_000


@dataclass(frozen=True)
class ViewReport:
    """What materializing one view did."""

    view: str
    rows: int
    written: int
    query_s: float
    write_s: float
    newest_event_s: float | None = None
    """Epoch seconds of the newest event written: the view's freshness watermark."""


class MaterializeProgress:
    """Callbacks a caller (the CLI's progress bar) receives."""

    def view_started(self, view: str, rows: int) -> None:
        """A view's latest rows were computed; `rows` entities will be written."""

    def advanced(self, view: str, rows: int) -> None:
        """`rows` more entities were sent to Redis."""


def select_views(definitions: Definitions, names: Sequence[str] | None) -> list[ViewSpec]:
    """The views to materialize: the named ones, or every online view with Parquet history."""
    if names:
        unknown = [name for name in names if name not in definitions.views]
        if unknown:
            raise UnknownName("feature view", *unknown, known=sorted(definitions.views))
        chosen = []
        for name in names:
            view = definitions.views[name]
            if not view.online:
                raise InvalidInput(f"feature view {name!r} has online=False; nothing to serve")
            chosen.append(view)
        return chosen
    return [v for v in definitions.views.values() if v.online and offline_source(v).has_files()]


def materialize_view(
    view: ViewSpec,
    writer: RedisOnlineWriter,
    *,
    start: datetime | None,
    end: datetime | None,
    progress: MaterializeProgress | None = None,
) -> ViewReport:
    began = time.perf_counter()
    latest = _latest(view, start=start, end=end)
    query_s = time.perf_counter() - began
    if progress:
        progress.view_started(view.name, latest.count)
    advance: Callable[[int], None] | None = (
        (lambda n: progress.advanced(view.name, n)) if progress else None
    )
    written = 0
    newest: float | None = None
    began = time.perf_counter()
    try:
        for batch in latest.batches(BATCH_ROWS):
            table = pa.Table.from_batches([batch])
            rows = rows_from_table(view, table, EVENT_TS)
            written += writer.write(rows, progress=advance)
            newest = _newer(newest, table.column(EVENT_TS))
    finally:
        latest.close()
    return ViewReport(view.name, latest.count, written, query_s, time.perf_counter() - began,
                      newest)


def _newer(newest: float | None, times: pa.ChunkedArray) -> float | None:
    """The later of `newest` and the batch's newest event time, in epoch seconds."""
    batch_max = pc.max(times)
    if not batch_max.is_valid:
        return newest
    # The raw value: Arrow stores naive and zoned times alike as UTC since the epoch.
    seconds = float(batch_max.value) / _UNITS_PER_SECOND[times.type.unit]
    return seconds if newest is None else max(newest, seconds)


_UNITS_PER_SECOND = {"s": 1, "ms": 1_000, "us": 1_000_000, "ns": 1_000_000_000}


def _latest(view: ViewSpec, *, start: datetime | None, end: datetime | None) -> LatestRows:
    """A stream view with aggregations is computed from its raw events, not read as rows."""
    source = offline_source(view)
    try:
        windows = aggregations_of(view)
    except ValueError as exc:
        raise InvalidInput(str(exc), detail={"feature_view": view.name}) from None
    if windows:
        return latest_window_rows(view, source, windows, start=start, end=end)
    return latest_rows(view, source, start=start, end=end)


def materialize(
    definitions: Definitions,
    client: redis.Redis,
    *,
    views: Sequence[str] | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    progress: MaterializeProgress | None = None,
) -> list[ViewReport]:
    if start is not None and end is not None and start > end:
        raise InvalidInput(f"--start {start.isoformat()} is after --end {end.isoformat()}")
    writer = RedisOnlineWriter(client)
    reports = [
        materialize_view(view, writer, start=start, end=end, progress=progress)
        for view in select_views(definitions, views)
    ]
    # Batch views get the same freshness watermark as streamed ones, so the catalog and the
    # monitor judge a view that is only materialized by what Redis serves, not by its files.
    newest = {r.view: r.newest_event_s for r in reports if r.newest_event_s is not None}
    if newest:
        advance_watermarks(client, definitions.project, newest)
    return reports
