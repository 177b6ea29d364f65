"""The online sink: per-view rows → Redis through the monotonic writer, then the watermarks.

Within a batch only each entity's newest row can survive the monotonic write, so the others
are dropped before Redis sees them (same result, far fewer script calls for busy entities).
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc
import redis

from featurebank.freshness import advance_watermarks
from featurebank.online.rows import rows_from_table
from featurebank.online.writer import RedisOnlineWriter, ViewRows
from streaming.aggregation import WindowState
from streaming.core import ViewBatch
from streaming.transform import conform


class RedisOnlineSink:
    def __init__(self, client: redis.Redis, project: str) -> None:
        self._client = client
        self._project = project
        self._writer: RedisOnlineWriter | None = None
        self._windows = WindowState(client, project)

    def write(self, batches: list[ViewBatch]) -> dict[str, float]:
        """Write every view's rows; returns view → newest event time written (epoch s)."""
        if self._writer is None:
            self._writer = RedisOnlineWriter(self._client, batch_size=500)
        newest: dict[str, float] = {}
        for batch in batches:
            if batch.table.num_rows == 0:
                continue
            table = batch.table
            if batch.windows:  # one row per entity, as of its newest event
                table = self._windows.apply(batch.view, batch.windows, table, batch.ts_column,
                                            batch.event_ids)
                table = conform(batch.view, table, batch.ts_column,
                                table.column(batch.ts_column))
            rows = newest_per_key(rows_from_table(batch.view, table, batch.ts_column))
            self._writer.write(rows)
            seconds = max_event_seconds(batch.table.column(batch.ts_column))
            # several partitions' batches of one view can come in one call
            newest[batch.view.name] = max(seconds, newest.get(batch.view.name, seconds))
        advance_watermarks(self._client, self._project, newest)
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
