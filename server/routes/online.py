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
from featurebank.definitions import Definitions
from featurebank.errors import InvalidInput
from featurebank.monitoring.serving_log import PlanLog, ServingLog
from featurebank.monitoring.serving_log_shape import (
    LogShape,
    arrow_type,
    arrow_type_of_value_type,
    build_shape,
    sample_rate_for,
)
from server.deps import authorize
from server.lookup.engine import assemble, fetch, validate_entities
from server.lookup.plan import LookupPlan, PlanCache
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
    response = assemble(plan, entities, count, replies)
    serving_log = state.serving_log
    if serving_log is not None:
        try:
            entry = serving_log.plans.get(plan.id) or _register(serving_log, plan, definitions)
            if entry.shape.sample_rate > 0.0:
                serving_log.offer(entry, entities, count, response,
                                  key.name if key is not None else None, headers)
        except Exception as exc:  # logging must never fail a lookup; reported once
            serving_log.offer_failed(exc)
    return orjson.dumps(response, option=orjson.OPT_SERIALIZE_NUMPY)


def _register(serving_log: ServingLog, plan: LookupPlan, definitions: Definitions) -> PlanLog:
    return serving_log.register(plan.id, log_shape(plan, definitions, serving_log.sample_rate))


def log_shape(plan: LookupPlan, definitions: Definitions, default_rate: float) -> LogShape:
    """What a plan's lookups log: Feast's columns for its features, keys and request fields."""
    rate = default_rate
    if plan.service is not None:
        service = definitions.services.get(plan.service)
        rate = sample_rate_for(plan.service, service.tags if service else {}, default_rate)
    join_keys = {name: value_type for group in plan.groups for slot in group.slots
                 for name, value_type in slot.view.join_keys if name in plan.join_keys}
    request_fields = {field.name: field.dtype for odfv in plan.odfvs
                      for source in odfv.source_request_sources.values()
                      for field in source.schema}
    features = []
    for ref, output in zip(plan.feature_refs, plan.outputs, strict=True):
        view, feature = ref.split(":", 1)
        if output.kind == "view":
            spec = plan.groups[output.group].slots[output.slot].features[output.feature]
            features.append((view, feature, arrow_type_of_value_type(spec.value_type)))
        else:
            odfv = next(o for o in plan.odfvs if o.name == output.odfv)
            dtype = next((f.dtype for f in odfv.features if f.name == output.odfv_feature), None)
            features.append((view, feature, arrow_type(dtype)))
    return build_shape(project=definitions.project, feature_service=plan.service,
                       join_keys=list(join_keys.items()),
                       request_fields=list(request_fields.items()), features=features,
                       sample_rate=rate)


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
