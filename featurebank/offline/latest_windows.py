"""The online row of a stream view with windowed aggregations, from its raw-event history.

Such a view's batch source holds the raw events the processor appended (the columns the
aggregations read), not the aggregated features, so "the newest row per entity" does not
exist in the files. Materializing instead evaluates each aggregation the way the processor
does online: over the entity's events with event time in (t - window, t], t being the entity's
newest event (within the bounds asked for). Only the aggregated features are written, as the
processor writes only them.
"""

from __future__ import annotations

from datetime import datetime

import duckdb

from featurebank.aggregations import SQL_AGGREGATES, SQL_TYPES, WindowedAggregation
from featurebank.definitions import ViewSpec
from featurebank.errors import InvalidInput
from featurebank.offline.latest import EVENT_TS, LatestRows, quote
from featurebank.offline.sources import ParquetSource


def latest_window_rows(
    view: ViewSpec,
    source: ParquetSource,
    windows: tuple[WindowedAggregation, ...],
    *,
    start: datetime | None,
    end: datetime | None,
) -> LatestRows:
    """Per entity: every aggregation at the entity's newest event within [start, end]."""
    connection = duckdb.connect()
    try:
        connection.execute("SET TimeZone = 'UTC'")
        query, params = _query(view, source, windows, start, end)
        connection.execute(query, params)
        (count,) = connection.execute("SELECT count(*) FROM latest").fetchall()[0]
        return LatestRows(count=int(count), connection=connection)
    except duckdb.BinderException as exc:
        connection.close()
        raise InvalidInput(
            f"feature view {view.name!r}: its raw events at {source.path} lack a column its "
            f"aggregations read ({str(exc).splitlines()[0]})",
            detail={"feature_view": view.name}) from None
    except BaseException:
        connection.close()
        raise


def _query(view: ViewSpec, source: ParquetSource, windows: tuple[WindowedAggregation, ...],
           start: datetime | None, end: datetime | None) -> tuple[str, list[object]]:
    keys = [] if view.entityless else list(view.join_key_names)
    inputs = list(dict.fromkeys(w.column for w in windows))
    ts = f"{quote(source.timestamp_field)}::TIMESTAMPTZ"
    cols = [f"{quote(source.column_for(k))} AS __fb_k{j}" for j, k in enumerate(keys)]
    cols.append(f"{ts} AS __fb_ets")
    cols += [f"{quote(source.column_for(c))} AS __fb_a{j}" for j, c in enumerate(inputs)]
    params: list[object] = [source.path]
    events_where = [f"{ts} IS NOT NULL"]
    if end is not None:
        events_where.append(f"{ts} <= ?")
        params.append(end)
    newest_where = ["TRUE"]
    if start is not None:
        newest_where.append("__fb_ets >= ?")
        params.append(start)
    key_cols = [f"__fb_k{j}" for j in range(len(keys))]
    group = ", ".join(key_cols)
    picked = [f"n.__fb_k{j} AS {quote(k)}" for j, k in enumerate(keys)]
    for window in windows:
        value = SQL_AGGREGATES[window.function].format(
            f"e.__fb_a{inputs.index(window.column)}")
        value += f" FILTER (WHERE e.__fb_ets > n.__fb_t - to_microseconds({int(window.window_us)}))"
        declared = SQL_TYPES.get(view.features[window.name].value_type)
        picked.append(f"CAST({value} AS {declared}) AS {quote(window.name)}" if declared
                      else f"{value} AS {quote(window.name)}")
    picked.append(f"n.__fb_t AS {EVENT_TS}")
    longest = max(int(w.window_us) for w in windows)
    on = [f"n.{k} = e.{k}" for k in key_cols]
    on += ["e.__fb_ets <= n.__fb_t", f"e.__fb_ets > n.__fb_t - to_microseconds({longest})"]
    group_by = ", ".join([*(f"n.{k}" for k in key_cols), "n.__fb_t"])
    query = (
        "CREATE TEMP TABLE latest AS "  # noqa: S608 - quoted identifiers, numbers, ? bounds
        f"WITH ev AS (SELECT {', '.join(cols)} "
        f"FROM read_parquet(?, union_by_name = true) WHERE {' AND '.join(events_where)}), "
        f"newest AS (SELECT {group + ', ' if group else ''}max(__fb_ets) AS __fb_t FROM ev "
        f"WHERE {' AND '.join(newest_where)}{' GROUP BY ' + group if group else ''}) "
        f"SELECT {', '.join(picked)} FROM newest n JOIN ev e ON {' AND '.join(on)} "
        f"GROUP BY {group_by}"
    )
    return query, params
