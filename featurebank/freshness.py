"""Per-view freshness watermarks in Redis: the newest event time written online.

The stream processor (and push) advance a view's watermark after each successful write; the API
and catalog read it to show how fresh a view is. One hash per project,
`featurebank:freshness:<project>`, maps view name → epoch seconds (a float string). Advancing is
a Lua max so concurrent processors never move a watermark backwards.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from typing import Any

import redis
import redis.asyncio as aioredis

_ADVANCE = """
for i = 1, #ARGV, 2 do
  local current = redis.call('HGET', KEYS[1], ARGV[i])
  if not current or tonumber(current) < tonumber(ARGV[i + 1]) then
    redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
  end
end
return 1
"""


ADVANCE_SCRIPT = _ADVANCE
ADVANCE_SHA = hashlib.sha1(_ADVANCE.encode(), usedforsecurity=False).hexdigest()  # Redis script id


def watermark_key(project: str) -> str:
    return f"featurebank:freshness:{project}"


def advance_args(newest: Mapping[str, float]) -> list[str]:
    """ARGV of the advance script: view, epoch seconds, view, epoch seconds, ..."""
    args: list[str] = []
    for view, seconds in newest.items():
        args += [view, repr(float(seconds))]
    return args


def advance_watermarks(client: redis.Redis, project: str, newest: Mapping[str, float]) -> None:
    """Raise each view's watermark to `newest[view]` (epoch seconds) unless it is already later."""
    if newest:
        client.eval(_ADVANCE, 1, watermark_key(project), *advance_args(newest))


async def advance_watermarks_async(client: aioredis.Redis, project: str,
                                   newest: Mapping[str, float]) -> None:
    if newest:
        await client.eval(_ADVANCE, 1, watermark_key(project), *advance_args(newest))  # type: ignore[misc]


def _parse(raw: Mapping[Any, Any]) -> dict[str, float]:
    out: dict[str, float] = {}
    for view, value in raw.items():
        name = view.decode() if isinstance(view, bytes) else str(view)
        try:
            out[name] = float(value)
        except (TypeError, ValueError):
            continue
    return out


async def read_watermarks(client: aioredis.Redis, project: str,
                          views: Iterable[str] | None = None) -> dict[str, float]:
    """View → newest event time written online (epoch seconds); views never written are absent."""
    raw = await client.hgetall(watermark_key(project))  # type: ignore[misc]
    found = _parse(raw)
    if views is None:
        return found
    wanted = set(views)
    return {view: seconds for view, seconds in found.items() if view in wanted}


def read_watermarks_sync(client: redis.Redis, project: str) -> dict[str, float]:
    raw = client.hgetall(watermark_key(project))
    assert isinstance(raw, dict)
    return _parse(raw)
