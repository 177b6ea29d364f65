"""Freshness per view: how old the values were that users were served, when they were served.

The staleness a model saw is, per lookup, its request time (`__log_timestamp`) minus the event
time of the value it got (`<view>__<feature>__timestamp` of PRESENT values; the oldest when a
lookup got several features of the view). Over the window a view reports that age at its most
recent lookup and the 95th percentile of all its lookups; the SLA is judged on the p95. Measuring
at the window's end instead (end - newest served event) flagged a view looked up once early in
a long window as stale although every answer it gave was fresh, and let a view that served stale
values pass when the window ended right after a newer write.

A view with no served values in the window falls back to its Redis watermark (`featurebank.
freshness`: the newest event time written online), aged at the run time, so an unserved but
stale view is still caught. A view known to neither has no age and raises no breach; it is
listed so the gap is visible. All of it is one DuckDB aggregate over the window's logs.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

import duckdb
import redis

from featurebank import freshness as watermarks
from featurebank.definitions import Definitions
from featurebank.monitoring import log_layout
from featurebank.monitoring.logs_window import LoggedWindow
from featurebank.monitoring.report import ViewFreshness, iso
from featurebank.monitoring.thresholds import ViewThresholds
from featurebank.offline.latest import quote

log = logging.getLogger("featurebank.monitoring")

PERCENTILE = 0.95
"""The served-age percentile judged against the SLA: a few slow entities do not breach it."""


@dataclass(frozen=True)
class ServedAges:
    """What the window's lookups of one view saw (ages in seconds, never negative)."""

    lookups: int
    newest_event: datetime
    last_lookup: datetime
    age_last_s: float
    age_p95_s: float


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _event_time(view: str, features: Iterable[str], present: frozenset[str]) -> str | None:
    """SQL for the event time a lookup of `view` was served (NULL if nothing PRESENT)."""
    ok = int(log_layout.FieldStatus.PRESENT)
    parts = []
    for feature in features:
        ts = log_layout.timestamp_column(view, feature)
        status = log_layout.status_column(view, feature)
        if ts in present and status in present:
            parts.append(f"CASE WHEN {quote(status)} = {ok} THEN {quote(ts)} END")
    if not parts:
        return None
    return f"least({', '.join(parts)})" if len(parts) > 1 else parts[0]


def served_ages(connection: duckdb.DuckDBPyConnection, views: Mapping[str, Iterable[str]],
                logs: LoggedWindow) -> dict[str, ServedAges]:
    """View -> ages its lookups in `logs` (the table `logs`) saw; `views` maps a view to its
    feature names. Views without a PRESENT value in the window are left out."""
    request = quote(log_layout.LOG_TIMESTAMP)
    columns: list[str] = []
    ages: list[str] = []
    aggregates: list[str] = []
    names: list[str] = []
    for view, features in views.items():
        event = _event_time(view, features, logs.columns)
        if event is None:
            continue
        i = len(names)
        names.append(view)
        columns.append(f"{event} AS e{i}")
        # greatest() skips NULLs: without the CASE a lookup with nothing PRESENT would be age 0.
        ages += [f"e{i}", f"CASE WHEN e{i} IS NOT NULL THEN "
                 f"greatest((epoch_us(r) - epoch_us(e{i})) / 1e6, 0.0) END AS a{i}"]
        seen = f"FILTER (WHERE a{i} IS NOT NULL)"
        aggregates += [f"count(a{i})", f"max(e{i})", f"max(r) {seen}",
                       f"arg_max(a{i}, r) {seen}", f"quantile_cont(a{i}, {PERCENTILE})"]
    if not names or logs.rows == 0 or log_layout.LOG_TIMESTAMP not in logs.columns:
        return {}
    sql = (f"SELECT {', '.join(aggregates)} FROM (SELECT r, {', '.join(ages)} "  # noqa: S608
           f"FROM (SELECT {request} AS r, {', '.join(columns)} FROM logs "
           f"WHERE {request} IS NOT NULL))")
    row = connection.execute(sql).fetchone()
    found: dict[str, ServedAges] = {}
    if row is None:
        return found
    for i, view in enumerate(names):
        count, newest, last, age_last, p95 = row[5 * i:5 * i + 5]
        if count and isinstance(newest, datetime) and isinstance(last, datetime):
            found[view] = ServedAges(lookups=int(count), newest_event=_utc(newest),
                                     last_lookup=_utc(last), age_last_s=float(age_last),
                                     age_p95_s=float(p95))
    return found


def online_view_features(definitions: Definitions) -> dict[str, list[str]]:
    """Online view -> its feature names: the views freshness is measured for."""
    return {view.name: list(view.features) for view in definitions.views.values() if view.online}


def read_watermarks(redis_url: str, project: str, timeout_s: float) -> dict[str, datetime]:
    """Watermarks from Redis, or {} (logged) when Redis does not answer: freshness from logs
    alone is still worth reporting."""
    client = redis.Redis.from_url(redis_url, socket_timeout=timeout_s,
                                  socket_connect_timeout=timeout_s)
    try:
        seconds = watermarks.read_watermarks_sync(client, project)
    except redis.RedisError as exc:
        log.warning("monitoring: freshness watermarks unavailable (%s); using logs only", exc)
        return {}
    finally:
        client.close()
    return {view: datetime.fromtimestamp(s, UTC) for view, s in seconds.items()}


def view_freshness(definitions: Definitions, served: Mapping[str, ServedAges],
                   written: Mapping[str, datetime], thresholds: Mapping[str, ViewThresholds],
                   now: datetime) -> list[ViewFreshness]:
    """One entry per online view: the p95 age its lookups saw, else its watermark's age at
    `now`, else none."""
    out = []
    for view in definitions.views.values():
        if not view.online:
            continue
        limit = thresholds[view.name].freshness_max_s
        seen = served.get(view.name)
        newest = written.get(view.name)
        if seen is not None:
            out.append(ViewFreshness(
                view=view.name, newest_event=iso(seen.newest_event), age_s=seen.age_p95_s,
                threshold_s=limit, basis="served", served_lookups=seen.lookups,
                age_p95_s=seen.age_p95_s, age_last_s=seen.age_last_s,
                last_lookup=iso(seen.last_lookup)))
        elif newest is not None:
            out.append(ViewFreshness(
                view=view.name, newest_event=iso(newest),
                age_s=max((now - newest).total_seconds(), 0.0), threshold_s=limit,
                basis="written", served_lookups=0))
        else:
            out.append(ViewFreshness(view=view.name, newest_event=None, age_s=None,
                                     threshold_s=limit))
    return out
