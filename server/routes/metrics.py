"""`GET /metrics`: Prometheus text format."""

from __future__ import annotations

from fastapi import APIRouter
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.responses import Response

from featurebank.monitoring.gauges import MonitoringCollector
from server.deps import State
from server.metrics import render
from server.routes.monitoring import report_store
from server.routes.online import plan_cache

router = APIRouter(tags=["operations"])


@router.get("/metrics")
async def metrics(state: State) -> Response:
    cache = plan_cache(state)
    gauges = MonitoringCollector(report_store(state).latest)  # the latest persisted run
    body = render(state.stats, cache, lambda: state.definitions.version, gauges)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
