"""`POST /push`: Feast-compatible pushes into the online store and/or the offline history.

Same contract and writers as the stream processor: rows are checked all at once (a bad row
makes a 422 naming it, and nothing is written), online writes are event-time monotonic, and
offline rows are appended as a new Parquet file under the push source's batch directory.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from typing import Any

import orjson
from fastapi import APIRouter, Request
from starlette.responses import Response

from featurebank.auth import Scope
from featurebank.errors import InvalidInput
from featurebank.offline.writer import unique_name, write_parquet_atomic
from featurebank.online.rows import rows_from_table
from featurebank.online.writer import AsyncRedisOnlineWriter, ViewRows
from server.deps import authorize
from server.state import AppState
from streaming.push import (
    TARGETS,
    PreparedPush,
    PushTarget,
    prepare_push,
    prepare_small_push,
    push_target,
)
from streaming.sinks.redis import max_event_seconds, newest_per_key

router = APIRouter(tags=["push"])

MAX_PUSH_ROWS = 100_000
_ALLOWED = {"push_source_name", "df", "to", "allow_registry_cache", "transform_on_write"}
_SCHEMA = {
    "type": "object",
    "required": ["push_source_name", "df"],
    "properties": {
        "push_source_name": {"type": "string", "example": "account_events_push"},
        "df": {"type": "object", "additionalProperties": {"type": "array"},
               "example": {"driver_id": [1001], "conv_rate": [0.5],
                           "event_timestamp": ["2024-05-01T00:00:00Z"]}},
        "to": {"type": "string", "enum": list(TARGETS), "default": "online"},
    },
}


def parse_push(raw: bytes) -> tuple[str, Any, str]:
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidInput(f"request body is not valid JSON: {exc.msg}") from None
    if not isinstance(body, dict):
        raise InvalidInput("request body must be a JSON object")
    unknown = sorted(body.keys() - _ALLOWED)
    if unknown:
        raise InvalidInput(f"unknown request field(s) {unknown}", detail={"fields": unknown})
    name = body.get("push_source_name")
    if not isinstance(name, str) or not name:
        raise InvalidInput("'push_source_name' must be a non-empty string")
    to = body.get("to", "online")
    if to not in TARGETS:
        raise InvalidInput(f"'to' must be one of {list(TARGETS)}, got {to!r}")
    return name, body.get("df"), str(to)


def _target(state: AppState, name: str) -> PushTarget:
    """Compiled once per registry version and push source."""
    definitions = state.definitions
    cache: dict[tuple[str, str], PushTarget] = state.extras.setdefault("push_targets", {})
    key = (definitions.version, name)
    target = cache.get(key)
    if target is None:
        if len(cache) > 256:
            cache.clear()
        target = cache[key] = push_target(definitions, name, state.settings.max_event_skew_s)
    return target


def _writer(state: AppState) -> AsyncRedisOnlineWriter:
    writer: AsyncRedisOnlineWriter | None = state.extras.get("push_writer")
    if writer is None:
        writer = state.extras["push_writer"] = AsyncRedisOnlineWriter(state.redis)
    return writer


async def _write_small(state: AppState, encoded: list[tuple[ViewRows, float]]) -> int:
    """The Arrow-free path's rows (see streaming.scalar_push): one Redis round trip."""
    rows = [newest_per_key(view_rows) for view_rows, _ in encoded if view_rows.view.online]
    newest = {view_rows.view.name: seconds for view_rows, seconds in encoded
              if view_rows.view.online}
    return await _writer(state).write(rows, project=state.definitions.project, newest=newest)


async def _write_online(state: AppState, prepared: PreparedPush) -> int:
    ts = prepared.target.schema.timestamp_field
    rows: list[ViewRows] = []
    newest: dict[str, float] = {}
    for view, table in prepared.view_rows:
        if not view.online or table.num_rows == 0:
            continue
        rows.append(newest_per_key(rows_from_table(view, table, ts)))
        newest[view.name] = max_event_seconds(table.column(ts))
    return await _writer(state).write(rows, project=state.definitions.project, newest=newest)


def _write_offline(prepared: PreparedPush) -> str:
    target = prepared.target
    if target.offline is None:
        raise InvalidInput(f"push source {target.name!r} has no Parquet directory to append "
                           "to; push with to='online'")
    path = write_parquet_atomic(target.offline.directory, unique_name(f"push-{target.name}"),
                                prepared.source_rows)
    return path.name


async def push_response(state: AppState, raw: bytes, headers: Mapping[str, str]) -> bytes:
    """The JSON bytes answering one push; raises FeatureBankError on bad input.

    Called by the route below and, for speed, by `server.fast_path` straight from ASGI.
    """
    authorize(state, headers, Scope.WRITE)
    name, df, to = parse_push(raw)
    target = _target(state, name)
    now_micros = time.time_ns() // 1000
    if to == "online":
        small = prepare_small_push(target, df, now_micros)
        if small is not None:
            written = await _write_small(state, small)
            rows = len(next(iter(df.values())))
            return orjson.dumps({"push_source_name": name, "rows": rows,
                                 "online_written": written})
    prepared = prepare_push(target, df, now_micros, MAX_PUSH_ROWS)
    result: dict[str, Any] = {"push_source_name": name, "rows": prepared.source_rows.num_rows}
    if to in ("offline", "online_and_offline") and target.offline is None:
        _write_offline(prepared)  # raises the explanatory 422 before any write
    # Online first: it is idempotent (an equal event time rewrites the same values), the
    # Parquet append is not. If Redis fails nothing was appended and a retry is safe; if the
    # append fails after the online write, a retry rewrites online and appends once.
    if to in ("online", "online_and_offline"):
        result["online_written"] = await _write_online(state, prepared)
    if to in ("offline", "online_and_offline"):
        result["offline_file"] = await asyncio.to_thread(_write_offline, prepared)
    return orjson.dumps(result)


@router.post(
    "/push",
    openapi_extra={"requestBody": {"required": True,
                                   "content": {"application/json": {"schema": _SCHEMA}}}},
    summary="Push rows to a push source's views, online and/or offline (Feast compatible)",
)
async def push(request: Request) -> Response:
    state: AppState = request.app.state.featurebank
    payload = await push_response(state, await request.body(), request.headers)
    return Response(payload, media_type="application/json")
