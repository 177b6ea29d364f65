"""Windowed aggregations of stream feature views (Feast `Aggregation`), computed per event.

Feast registers `aggregations=[Aggregation(column, function, time_window)]` on a stream feature
view but leaves computing them to the stream engine. Here, for each event of an entity at event
time t, every aggregation is computed over that entity's events with event time in
(t - time_window, t] — a sliding window evaluated at every event, the value a model would have
seen at t. The output feature is named as Feast names it (`Aggregation.resolved_name`: the
aggregation's `name`, else `{function}_{column}_{seconds}s`) and must be declared in the view's
schema.

Events must survive restarts and be shared by several processors, so each entity's recent
events live in a Redis sorted set (score = event time in µs, member = the event's
topic/partition/offset plus its values). Adding is `ZADD NX`: a replayed batch adds nothing, so
the exactly-once effect of monotonic online writes and idempotent Parquet files carries over.
Events that have left every window behind the entity's newest event are trimmed. The values are
computed for the online store; the offline history keeps the raw events, from which windows can
be recomputed. Features of such a view that are not aggregations are not written online.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
import redis

from featurebank.aggregations import WindowedAggregation
from featurebank.definitions import ViewSpec

_MIN_STATE_TTL_S = 7 * 24 * 3600


def aggregate(function: str, times: np.ndarray[Any, Any], values: Sequence[Any],
              at: np.ndarray[Any, Any], window_us: int) -> list[Any]:
    """`function` over the values with time in (t - window, t], for each t in `at`.

    `times` is sorted ascending and `values` aligned with it; nulls are skipped, as SQL does.
    An empty window gives 0 for count and count_distinct, null otherwise.
    """
    present = np.array([value is not None for value in values], dtype=bool)
    ends = np.searchsorted(times, at, side="right")
    starts = np.searchsorted(times, at - window_us, side="right")
    if function in ("sum", "count", "mean", "avg", "std", "var"):
        numbers = np.array([float(v) if v is not None else 0.0 for v in values],
                           dtype=np.float64)
        counts = np.concatenate(([0], np.cumsum(present)))
        n = counts[ends] - counts[starts]
        if function == "count":
            return [int(x) for x in n]
        sums = np.concatenate(([0.0], np.cumsum(numbers)))
        total = sums[ends] - sums[starts]
        if function == "sum":
            return [float(s) if c else None for s, c in zip(total, n, strict=True)]
        if function in ("mean", "avg"):
            return [float(s / c) if c else None for s, c in zip(total, n, strict=True)]
        # Variance from a window's own values: prefix sums of squares lose precision.
        out: list[Any] = []
        for start, end, count in zip(starts, ends, n, strict=True):
            if count < 2:  # sample variance, as pandas and SQL's stddev compute it
                out.append(None)
                continue
            variance = float(np.var(numbers[start:end][present[start:end]], ddof=1))
            out.append(math.sqrt(variance) if function == "std" else variance)
        return out
    results: list[Any] = []
    for start, end in zip(starts, ends, strict=True):
        window_values = [v for v in values[start:end] if v is not None]
        if function == "count_distinct":
            results.append(len(set(window_values)))
        elif not window_values:
            results.append(None)
        else:
            results.append(max(window_values) if function == "max" else min(window_values))
    return results


class WindowState:
    """Each entity's recent events for one view, in Redis; see the module docstring."""

    def __init__(self, client: redis.Redis, project: str) -> None:
        self._client = client
        self._project = project.encode()

    def _state_key(self, view: ViewSpec, entity_key: bytes) -> bytes:
        return b"fb:agg:%s:%s:%s" % (self._project, view.name.encode(), entity_key)

    def apply(self, view: ViewSpec, aggregations: Sequence[WindowedAggregation],
              table: pa.Table, ts_column: str, event_ids: Sequence[str]) -> pa.Table:
        """Add the batch's events to the state; one row per entity, as of its newest event.

        `table` holds the view's join keys, the aggregated columns and `ts_column`; `event_ids`
        names each row's event uniquely and stably (topic/partition/offset) so a replay of the
        same events adds nothing. An entity's newest event may be older than this batch (a late
        event still moves the windows that contain it), so the row's time is the newest's.
        """
        inputs = sorted({a.column for a in aggregations})  # present: see core._window_inputs
        keys = view.codec.keys([table.column(k).to_pylist() for k in view.join_key_names])
        times = table.column(ts_column).cast(pa.timestamp("us", tz="UTC")).cast(
            pa.int64()).to_pylist()
        columns = [table.column(c).to_pylist() for c in inputs]
        longest = max(a.window_us for a in aggregations)
        ttl = max(_MIN_STATE_TTL_S, int(2 * longest / 1_000_000))
        rows_of: dict[bytes, list[int]] = {}
        for row, key in enumerate(keys):
            rows_of.setdefault(key, []).append(row)
        entities = list(rows_of)

        pipe = self._client.pipeline(transaction=False)
        for key in entities:
            members = {event_ids[row].encode() + b"|"
                       + orjson.dumps([column[row] for column in columns]): float(times[row])
                       for row in rows_of[key]}
            state = self._state_key(view, key)
            pipe.zadd(state, members, nx=True)
            pipe.zrange(state, -1, -1, withscores=True)  # the entity's newest event
        replies = pipe.execute()
        newest = [int(replies[2 * i + 1][0][1]) for i in range(len(entities))]

        pipe = self._client.pipeline(transaction=False)
        for key, last in zip(entities, newest, strict=True):
            state = self._state_key(view, key)
            pipe.zremrangebyscore(state, "-inf", last - longest)  # outside every window
            pipe.zrange(state, 0, -1, withscores=True)
            pipe.expire(state, ttl)
        replies = pipe.execute()

        computed: dict[str, list[Any]] = {a.name: [] for a in aggregations}
        for index, last in enumerate(newest):
            events = replies[3 * index + 1]
            event_times = np.array([int(score) for _, score in events], dtype=np.int64)
            decoded = [orjson.loads(member.split(b"|", 1)[1]) for member, _ in events]
            at = np.array([last], dtype=np.int64)
            for aggregation in aggregations:
                position = inputs.index(aggregation.column)
                values = [event[position] for event in decoded]
                computed[aggregation.name].append(aggregate(
                    aggregation.function, event_times, values, at, aggregation.window_us)[0])

        # Only the aggregations are written: a late batch's newest row is older than the
        # entity's newest event, so other features from it would overwrite newer values.
        newest_rows = [max(rows_of[key], key=lambda row: times[row]) for key in entities]
        base = table.take(pa.array(newest_rows, type=pa.int64()))
        out: dict[str, Any] = {k: base.column(k) for k in view.join_key_names}
        for name, values in computed.items():
            out[name] = pa.array(values)
        out[ts_column] = pa.array(newest, type=pa.int64()).cast(pa.timestamp("us", tz="UTC"))
        return pa.table(out)
