"""`GET /health`: the state of each dependency, checked with a bounded timeout."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import orjson
from fastapi import APIRouter
from starlette.responses import Response

from server.deps import State
from server.health_checks import check_broker, check_redis, check_stream

router = APIRouter(tags=["operations"])


@router.get("/health")
async def health(state: State) -> Response:
    """200 when every required dependency answers, 503 otherwise; always lists each one.

    A stream view the processors skip (its definition cannot work), or a partition whose
    history they cannot write (disk full, say: retried, nothing committed), makes the `stream`
    component and the overall status "degraded" with the reason, still with 200: lookups
    are served, and a load balancer must not drop the API for a stream's trouble.
    """
    definitions = state.definitions
    redis_result, broker_result, stream_result = await asyncio.gather(
        check_redis(state.redis), check_broker(state.settings.kafka_bootstrap_servers),
        check_stream(state.redis, definitions.project),
    )
    checks: dict[str, Any] = {
        "redis": redis_result,
        "kafka": broker_result,
        "stream": stream_result,
        "registry": {
            "status": "ok",
            "version": definitions.version,
            "project": definitions.project,
            "feature_views": len(definitions.views),
        },
    }
    healthy = redis_result["status"] == "ok"
    degraded = not healthy or stream_result["status"] == "degraded"
    body = {"status": "degraded" if degraded else "ok", "checked_at": time.time(),
            "dependencies": checks}
    return Response(orjson.dumps(body), status_code=200 if healthy else 503,
                    media_type="application/json")
