"""`POST /get-online-features`, wire-compatible with Feast's feature server.

The route is declared here for the OpenAPI document, but requests are answered by
`server.fast_path.LookupFastPath`, which runs the same `lookup_response` straight from ASGI.
The body is parsed with orjson and validated by hand: the checks are few and their errors name
the offending value, which a pydantic model would make slower and vaguer.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from fastapi import APIRouter, Request
from starlette.responses import Response

from featurebank.auth import Scope
from featurebank.errors import InvalidInput
from server.deps import authorize
from server.lookup.engine import assemble, fetch, validate_entities
from server.lookup.plan import PlanCache
from server.state import AppState

router = APIRouter(tags=["online"])

_REQUEST_SCHEMA = {
    "type": "object",
    "required": ["entities"],
    "properties": {
        "features": {"type": "array", "items": {"type": "string"},
                     "example": ["account_stats:balance"]},
        "feature_service": {"type": "string"},
        "entities": {"type": "object", "additionalProperties": {"type": "array"},
                     "example": {"account_id": [1001, 1002]}},
        "full_feature_names": {"type": "boolean", "default": False},
    },
}
_ALLOWED = {"features", "feature_service", "entities", "full_feature_names",
            "include_feature_view_version_metadata"}


def parse_request(raw: bytes) -> dict[str, Any]:
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidInput(
            f"request body is not valid JSON: {exc.msg} at position {exc.pos}"
        ) from None
    if not isinstance(body, dict):
        raise InvalidInput("request body must be a JSON object")
    unknown = body.keys() - _ALLOWED
    if unknown:
        raise InvalidInput(f"unknown request field(s) {sorted(unknown)}",
                           detail={"fields": sorted(unknown)})
    features = body.get("features")
    service = body.get("feature_service")
    if features is not None and not isinstance(features, list):
        raise InvalidInput("'features' must be a list of 'view:feature' strings")
    if service is not None and not isinstance(service, str):
        raise InvalidInput("'feature_service' must be a string")
    if features and service:
        raise InvalidInput("give either 'features' or 'feature_service', not both")
    full = body.get("full_feature_names", False)
    if not isinstance(full, bool):
        raise InvalidInput("'full_feature_names' must be true or false")
    return body


def plan_cache(state: AppState) -> PlanCache:
    cache = state.extras.get("plans")
    if cache is None:
        cache = state.extras["plans"] = PlanCache()
    assert isinstance(cache, PlanCache)
    return cache


async def lookup_response(state: AppState, raw: bytes, headers: Mapping[str, str]) -> bytes:
    """The JSON bytes answering one lookup request; raises FeatureBankError on bad input."""
    key = None
    if state.settings.require_read_key or "x-api-key" in headers or "authorization" in headers:
        key = authorize(state, headers, Scope.READ)
    body = parse_request(raw)
    definitions = state.definitions
    plan = plan_cache(state).get(definitions, body.get("features"), body.get("feature_service"),
                                 body.get("full_feature_names", False))
    entities = body.get("entities", {})
    count = validate_entities(plan, entities, state.settings.max_entities_per_request)
    assert isinstance(entities, dict)
    replies = await fetch(plan, entities, count, state.wire)
    plan.lookups += 1
    consumer = key.name if key is not None else "anonymous"
    plan.consumers[consumer] = plan.consumers.get(consumer, 0) + 1
    return orjson.dumps(assemble(plan, entities, count, replies),
                        option=orjson.OPT_SERIALIZE_NUMPY)


@router.post(
    "/get-online-features",
    openapi_extra={"requestBody": {"required": True,
                                   "content": {"application/json": {"schema": _REQUEST_SCHEMA}}}},
    summary="Latest feature values for entity keys (Feast feature-server compatible)",
)
async def get_online_features(request: Request) -> Response:
    state: AppState = request.app.state.featurebank
    payload = await lookup_response(state, await request.body(), request.headers)
    return Response(payload, media_type="application/json")
