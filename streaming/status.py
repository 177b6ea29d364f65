"""What the stream processor tells the API about itself: the views it skips, and why.

A view whose definition cannot work (an aggregation over a column of the wrong type, say) is
left out of the plan and only logged by the processor, so the API process could not tell. The
processor therefore keeps a small Redis hash, `featurebank:stream:skipped:<project>` (view →
JSON `{"reason", "at"}`, `at` being when it was last
reported), rewritten on every plan change and every `PUBLISH_EVERY_S`, and
expiring after `TTL_S`: when no processor runs any more, the report goes away with it.
`/health` reads it in one HGETALL and shows a degraded `stream` component.

A history write that keeps failing for a reason of the environment (disk full, a directory
that is a file, no permission) is retried with backoff, nothing committed meanwhile; each
failing processor reports it in `featurebank:stream:history:<project>` (`<topic>[<partition>]`
→ JSON `{"reason", "at"}`), field by field so replicas do not erase each other's reports, and
removes its field once the write succeeds. The hash expires after `TTL_S` and `/health` ignores
fields older than that, so a processor that died while failing does not stay reported.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

import orjson
import redis

log = logging.getLogger("featurebank.stream")

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


def history_key(project: str) -> str:
    return f"featurebank:stream:history:{project}"


def report_history_failure(client: redis.Redis, project: str, where: str, reason: str) -> None:
    """Record (or refresh) that the history of `where` cannot be written, and why."""
    key = history_key(project)
    pipe = client.pipeline(transaction=True)
    pipe.hset(key, mapping={where: orjson.dumps({"reason": reason, "at": time.time()})})
    pipe.expire(key, TTL_S)
    pipe.execute()


def clear_history_failure(client: redis.Redis, project: str, where: str) -> None:
    client.hdel(history_key(project), where)


def current_history_failures(raw: Mapping[bytes | str, bytes | str],
                             now: float) -> dict[str, dict[str, Any]]:
    """The reports of `raw` made within `TTL_S` of `now` (older ones: a processor gone)."""
    return {where: entry for where, entry in parse_skipped(raw).items()
            if isinstance(entry.get("at"), int | float) and now - entry["at"] <= TTL_S}


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


class HistoryFailures:
    """A processor's own history-failure reports: sent while failing, withdrawn once not.

    Reporting is best effort: Redis being down must not stop the retry it reports on.
    """

    def __init__(self, client: redis.Redis, project: Callable[[], str]) -> None:
        self._client = client
        self._project = project
        self._reported: set[str] = set()

    def failed(self, where: str, exc: OSError) -> None:
        reason = f"{type(exc).__name__}: {exc}"[:300]
        try:
            report_history_failure(self._client, self._project(), where, reason)
        except redis.RedisError as error:
            log.warning("could not report the failing history write (%s)",
                        type(error).__name__)
            return
        self._reported.add(where)

    def succeeded(self, where: str) -> None:
        if where not in self._reported:
            return
        try:
            clear_history_failure(self._client, self._project(), where)
        except redis.RedisError as error:  # the report expires by itself
            log.warning("could not withdraw the history failure report (%s)",
                        type(error).__name__)
            return
        self._reported.discard(where)
