"""What the stream processor tells the API about itself: the views it skips, and why.

A view whose definition cannot work (an aggregation over a column of the wrong type, say) is
left out of the plan and only logged by the processor, so the API process could not tell. The
processor therefore keeps a small Redis hash, `featurebank:stream:skipped:<project>` (view →
JSON `{"reason", "at"}`, `at` being when it was last
reported), rewritten on every plan change and every `PUBLISH_EVERY_S`, and
expiring after `TTL_S`: when no processor runs any more, the report goes away with it.
`/health` reads it in one HGETALL and shows a degraded `stream` component.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import orjson
import redis

PUBLISH_EVERY_S = 10.0
TTL_S = 60


def skipped_key(project: str) -> str:
    return f"featurebank:stream:skipped:{project}"


def publish_skipped(client: redis.Redis, project: str, skipped: Mapping[str, str]) -> None:
    """Replace the project's report with `skipped` (view → reason) in one transaction."""
    key = skipped_key(project)
    stamp = time.time()
    pipe = client.pipeline(transaction=True)
    pipe.delete(key)
    if skipped:
        pipe.hset(key, mapping={view: orjson.dumps({"reason": reason, "at": stamp})
                                for view, reason in skipped.items()})
        pipe.expire(key, TTL_S)
    pipe.execute()


def parse_skipped(raw: Mapping[bytes | str, bytes | str]) -> dict[str, dict[str, Any]]:
    """The hash as read back (bytes or str), view → {"reason", "at"}; junk is shown as is."""
    out: dict[str, dict[str, Any]] = {}
    for view, value in raw.items():
        name = view.decode("utf-8", "replace") if isinstance(view, bytes) else view
        try:
            entry = orjson.loads(value)
        except orjson.JSONDecodeError:
            entry = None
        if not isinstance(entry, dict):
            text = value.decode("utf-8", "replace") if isinstance(value, bytes) else value
            entry = {"reason": text}
        out[name] = entry
    return dict(sorted(out.items()))
