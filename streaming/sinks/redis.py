"""The online sink: per-view rows → Redis through the monotonic writer, then the watermarks.

Within a batch only each entity's newest row can survive the monotonic write, so the others
are dropped before Redis sees them (same result, far fewer script calls for busy entities).

An outage (no connection, a timeout, Redis loading or out of memory) is raised: the processor
pauses and retries the batch. Any other failure is the data's, and writing it again would fail
again — the processor used to crash on it, restart, replay the batch and crash again. So a view
whose write fails that way is written again row by row: rows that still fail come back as
`write_failed` rejects for the dead-letter topic (with their message), the rest are written,
and the other views of the batch are not held up.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc
import redis

from featurebank.freshness import advance_watermarks
from featurebank.online.rows import rows_from_table
from featurebank.online.writer import RedisOnlineWriter, ViewRows
from streaming.aggregation import WindowState
from streaming.core import Reject, ViewBatch
from streaming.transform import conform

log = logging.getLogger("featurebank.stream")


@dataclass
class OnlineOutcome:
    """What a write did: view → newest event time written (epoch s), and the refused rows."""

    newest: dict[str, float] = field(default_factory=dict)
    rejects: list[Reject] = field(default_factory=list)


def retryable(exc: BaseException) -> bool:
    """Whether the same write can succeed later (Redis or the network was unavailable).

    A WRONGTYPE reply (the entity's key holds another Redis type) fails every time; other
    error replies (OOM, READONLY during a failover, LOADING, BUSY) pass.
    """
    if isinstance(exc, redis.ResponseError):  # in a pipeline the reply text is prefixed
        return "WRONGTYPE" not in str(exc)
    return isinstance(exc, redis.RedisError | OSError)


class RedisOnlineSink:
    def __init__(self, client: redis.Redis, project: str) -> None:
        self._client = client
        self._project = project
        self._writer: RedisOnlineWriter | None = None
        self._windows = WindowState(client, project)

    def write(self, batches: list[ViewBatch]) -> OnlineOutcome:
        """Write every view's rows; raises only what `retryable` accepts."""
        if self._writer is None:
            self._writer = RedisOnlineWriter(self._client, batch_size=500)
        outcome = OnlineOutcome()
        for batch in batches:
            if batch.table.num_rows == 0:
                continue
            try:
                self._write_view(batch)
                seconds: float | None = max_event_seconds(batch.table.column(batch.ts_column))
            except Exception as exc:  # a refused batch must not stop the stream: see above
                if retryable(exc):
                    raise
                seconds = self._write_rows(batch, exc, outcome.rejects)
            if seconds is not None:  # several partitions' batches of one view in one call
                newest = outcome.newest
                newest[batch.view.name] = max(seconds, newest.get(batch.view.name, seconds))
        advance_watermarks(self._client, self._project, outcome.newest)
        return outcome

    def _write_view(self, batch: ViewBatch) -> None:
        assert self._writer is not None
        table = batch.table
        if batch.windows:  # one row per entity, as of its newest event
            table = self._windows.apply(batch.view, batch.windows, table, batch.ts_column,
                                        batch.event_ids)
            table = conform(batch.view, table, batch.ts_column, table.column(batch.ts_column))
        self._writer.write(newest_per_key(rows_from_table(batch.view, table, batch.ts_column)))

    def _write_rows(self, batch: ViewBatch, error: Exception,
                    rejects: list[Reject]) -> float | None:
        """Write a refused batch row by row; returns the newest event time written, if any."""
        if len(batch.messages) != batch.table.num_rows:
            raise error  # no messages to dead-letter (not a stream batch): the caller decides
        log.warning("online write of view %s refused a batch (%s: %s); writing its %d rows "
                    "one by one", batch.view.name, type(error).__name__, str(error)[:200],
                    batch.table.num_rows)
        newest: float | None = None
        for index, message in enumerate(batch.messages):
            row = ViewBatch(batch.view, batch.table.slice(index, 1), batch.ts_column,
                            batch.windows, batch.event_ids[index:index + 1], (message,))
            try:
                self._write_view(row)
            except Exception as exc:  # the row's own failure: it goes to the dead letters
                if retryable(exc):
                    raise
                text = (f"online write of view {batch.view.name!r} failed: "
                        f"{type(exc).__name__}: {exc}")
                rejects.append(Reject(message, "write_failed", text[:500]))
                continue
            seconds = max_event_seconds(row.table.column(batch.ts_column))
            newest = seconds if newest is None else max(newest, seconds)
        return newest

    def ping(self) -> bool:
        return bool(self._client.ping())


def newest_per_key(rows: ViewRows) -> ViewRows:
    """Keep each key's newest row (the later one on a tie, as the monotonic write would)."""
    keys, times = rows.keys, rows.event_times
    if len(set(keys)) == len(keys):
        return rows
    best: dict[bytes, int] = {}
    for index, key in enumerate(keys):
        seen = best.get(key)
        if seen is None or times[seen] <= times[index]:
            best[key] = index
    keep = sorted(best.values())
    stamps = rows.timestamps
    return ViewRows(
        view=rows.view,
        keys=[keys[i] for i in keep],
        event_times=[times[i] for i in keep],
        columns={name: [column[i] for i in keep] for name, column in rows.columns.items()},
        timestamps=None if stamps is None else [stamps[i] for i in keep],
    )


def max_event_seconds(column: pa.ChunkedArray | pa.Array) -> float:
    micros = pc.max(pc.cast(column, pa.int64())).as_py()
    return float(micros) / 1e6 if micros is not None else 0.0
