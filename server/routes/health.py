"""`GET /health`: the state of each dependency, checked with a bounded timeout."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import orjson
from fastapi import APIRouter
from starlette.responses import Response

from server.deps import State
from server.health_checks import check_broker, check_redis

router = APIRouter(tags=["operations"])


@router.get("/health")
async def health(state: State) -> Response:
    """200 when every required dependency answers, 503 otherwise; always lists each one."""
    redis_result, broker_result = await asyncio.gather(
        check_redis(state.redis), check_broker(state.settings.kafka_bootstrap_servers)
    )
    definitions = state.definitions
    checks: dict[str, Any] = {
        "redis": redis_result,
        "kafka": broker_result,
        "registry": {
            "status": "ok",
            "version": definitions.version,
            "project": definitions.project,
            "feature_views": len(definitions.views),
        },
    }
    healthy = redis_result["status"] == "ok"
    body = {"status": "ok" if healthy else "degraded", "checked_at": time.time(),
            "dependencies": checks}
    return Response(orjson.dumps(body), status_code=200 if healthy else 503,
                    media_type="application/json")
