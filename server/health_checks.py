"""Dependency probes for `/health`; each one bounded so a dead dependency cannot hang it."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import redis.asyncio as aioredis

from streaming.status import (
    current_history_failures,
    history_key,
    parse_skipped,
    skipped_key,
)


async def check_redis(client: aioredis.Redis) -> dict[str, Any]:
    began = time.perf_counter()
    try:
        await asyncio.wait_for(client.ping(), timeout=1.0)  # type: ignore[arg-type]
    except Exception as exc:  # any failure means "down"; the type says why
        return {"status": "down", "error": type(exc).__name__}
    return {"status": "ok", "latency_ms": round((time.perf_counter() - began) * 1000, 3)}


async def check_broker(bootstrap: str) -> dict[str, Any]:
    """A TCP connect to the first reachable bootstrap server (optional for lookups)."""
    for server in bootstrap.split(","):
        host, _, port = server.strip().rpartition(":")
        try:
            _, writer = await asyncio.wait_for(
                asyncio.open_connection(host or "127.0.0.1", int(port)), timeout=1.0
            )
        except (OSError, ValueError, TimeoutError):
            continue
        writer.close()
        return {"status": "ok", "bootstrap": server.strip()}
    return {"status": "down", "bootstrap": bootstrap, "required": False}


async def check_stream(client: aioredis.Redis, project: str) -> dict[str, Any]:
    """The views the stream processors skip and the partitions whose history they cannot
    write, as they report them (`streaming.status`).

    Degraded (not down: lookups are unaffected) while any view is skipped or any history
    write keeps failing; "unknown" when Redis does not answer (the redis check reports that).
    """
    try:
        pipe = client.pipeline(transaction=False)
        pipe.hgetall(skipped_key(project))
        pipe.hgetall(history_key(project))
        skipped, history = await asyncio.wait_for(pipe.execute(), timeout=1.0)
    except Exception as exc:  # any failure means "not known"; the type says why
        return {"status": "unknown", "error": type(exc).__name__}
    failing = current_history_failures(history or {}, time.time())
    if not skipped and not failing:
        return {"status": "ok"}
    result: dict[str, Any] = {"status": "degraded"}
    if skipped:
        result["skipped_views"] = parse_skipped(skipped)
    if failing:
        result["history_failing"] = failing
    return result
