"""How old a view's newest value is: online watermark when available, else offline history.

Freshness is `now - newest event time`. The stream processor publishes a per-view online
watermark through `featurebank.freshness` (a Redis hash); for views without one the newest
event time in the view's offline Parquet history stands in (computed by `stats.offline_range`).
A view is stale when that age exceeds its TTL.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from redis.exceptions import RedisError

from featurebank.freshness import read_watermarks

log = logging.getLogger("featurebank.catalog")

STALE_FACTOR = 0.85


def parse_time(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    if isinstance(value, int | float):
        return datetime.fromtimestamp(float(value), UTC)
    if isinstance(value, str) and value:
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)
    return None


async def online_watermarks(redis: Any, project: str, views: list[str]) -> dict[str, datetime]:
    """Newest event time written online per view, from the watermarks the writers advance.

    An optional signal: when Redis does not answer, the offline history is used instead, so
    the catalog never fails for want of it.
    """
    try:
        seconds = await read_watermarks(redis, project, views)
    except (RedisError, OSError) as exc:
        log.warning("online watermarks unavailable: %s", type(exc).__name__)
        return {}
    return {view: datetime.fromtimestamp(value, UTC) for view, value in seconds.items()}


def describe(now: datetime, online: datetime | None, offline: dict[str, Any] | None,
             ttl_seconds: float | None) -> dict[str, Any]:
    """The freshness block of a view's detail page."""
    offline_max = parse_time(offline["max"]) if offline else None
    newest = online or offline_max
    age = (now - newest).total_seconds() if newest is not None else None
    if age is None:
        status = "unknown"
    elif ttl_seconds is not None and age > ttl_seconds:
        status = "stale"
    else:
        status = "fresh"
    return {
        "status": status,
        "age_seconds": round(age, 3) if age is not None else None,
        "newest_event": newest.isoformat().replace("+00:00", "Z") if newest else None,
        "basis": "online watermark" if online is not None else (
            "offline history" if offline_max is not None else None),
        "online_newest_event": online.isoformat().replace("+00:00", "Z") if online else None,
        "offline": offline,
        "ttl_seconds": ttl_seconds,
    }


def humanize(seconds: float | None) -> str:
    if seconds is None:
        return "unknown"
    seconds = abs(seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds / size:.1f}{unit}"
    return f"{seconds:.0f}s"
