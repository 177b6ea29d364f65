"""Freshness per view: how old the newest value was that users were actually served.

The age is measured on event time, from the served-value logs of the window (the newest
`<view>__<feature>__timestamp` among PRESENT values): that is what a model saw. A view with no
served values in the window falls back to its Redis watermark (`featurebank.freshness`: the
newest event time written online), so an unserved but stale view is still caught. A view known
to neither has no age and raises no breach; it is listed so the gap is visible.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
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


def served_event_times(connection: duckdb.DuckDBPyConnection, definitions: Definitions,
                       logs: LoggedWindow) -> dict[str, datetime]:
    """View -> newest event time among the values served in `logs` (registered as `logs`)."""
    present = logs.columns
    selects: list[str] = []
    views: list[str] = []
    ok = int(log_layout.FieldStatus.PRESENT)
    for view in definitions.views.values():
        parts = []
        for feature in view.features:
            ts = log_layout.timestamp_column(view.name, feature)
            status = log_layout.status_column(view.name, feature)
            if ts in present and status in present:
                parts.append(f"max(CASE WHEN {quote(status)} = {ok} THEN {quote(ts)} END)")
        if parts:
            selects.append(f"greatest({', '.join(parts)})" if len(parts) > 1 else parts[0])
            views.append(view.name)
    if not selects or logs.rows == 0:
        return {}
    rows = connection.execute(f"SELECT {', '.join(selects)} FROM logs").fetchall()  # noqa: S608
    row = rows[0] if rows else None
    found: dict[str, datetime] = {}
    for view_name, newest in zip(views, row or (), strict=True):
        if isinstance(newest, datetime):
            found[view_name] = newest if newest.tzinfo else newest.replace(tzinfo=UTC)
    return found


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


def view_freshness(definitions: Definitions, served: Mapping[str, datetime],
                   written: Mapping[str, datetime], thresholds: Mapping[str, ViewThresholds],
                   now: datetime) -> list[ViewFreshness]:
    """One entry per online view: newest served event time, else newest written, else none."""
    out = []
    for view in definitions.views.values():
        if not view.online:
            continue
        newest = served.get(view.name) or written.get(view.name)
        age = max((now - newest).total_seconds(), 0.0) if newest is not None else None
        out.append(ViewFreshness(view=view.name,
                                 newest_event=iso(newest) if newest is not None else None,
                                 age_s=age, threshold_s=thresholds[view.name].freshness_max_s))
    return out
