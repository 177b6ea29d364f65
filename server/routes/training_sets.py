"""Training sets over HTTP: submit (202), poll, download.

`POST /training-sets` takes JSON columns, a multipart Parquet/CSV upload, or a spine spec;
validation (names, timestamps, row limit) happens before the 202 so mistakes are a 4xx naming
the value, and the join runs in a worker thread. Records live on disk under the data directory,
so any replica can answer GETs (the CLI records the sets it builds there too, without rows).
An accepted job is handed to the catalog's usage at once, so lineage shows it without waiting
for the catalog's next re-read of the records. Creating a training set needs the `write` scope
(it spends CPU and disk); reading one needs `read` (open when reads are open).
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

import orjson
import pyarrow as pa
from fastapi import APIRouter, Request
from starlette.responses import FileResponse, Response, StreamingResponse

from featurebank.catalog.training_uses import training_use
from featurebank.errors import Conflict, InvalidInput, LimitExceeded, NotFound, UnknownName
from featurebank.training import export, jobs
from featurebank.training.features import Selection, select_features
from featurebank.training.manifest import OUTPUT_FILE
from featurebank.training.plan import PLANS
from featurebank.training.spine import (
    DEFAULT_TIMESTAMP,
    SpineSpec,
    as_table,
    build_spine,
    prepare_spine,
    read_spine_bytes,
)
from server.deps import ReadKey, State, WriteKey
from server.routes.catalog import usage_of
from server.state import AppState

router = APIRouter(tags=["training sets"])
_ALLOWED = {"entities", "features", "feature_service", "full_feature_names",
            "timestamp_column", "spine", "plan"}
MAX_EVERY_S = 100 * 365 * 86_400
_MEDIA = {"parquet": "application/vnd.apache.parquet", "csv": "text/csv",
          "json": "application/json"}


def _runner(state: AppState) -> jobs.JobRunner:
    runner = state.extras.get("training_jobs")
    if runner is None:
        runner = state.extras["training_jobs"] = jobs.JobRunner(
            lease_s=state.settings.training_lease_s)
    assert isinstance(runner, jobs.JobRunner)
    return runner


def _time(value: Any, name: str) -> datetime:
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(f"spine {name} {value!r} is not an ISO-8601 time") from None
    if moment.tzinfo is None:
        raise InvalidInput(f"spine {name} {value!r} needs a time zone (e.g. a trailing Z)")
    return moment


def _every(value: Any) -> timedelta | None:
    """`every_seconds`: a positive finite number of seconds that fits a timedelta."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidInput(f"spine every_seconds {value!r} must be a number of seconds",
                           detail={"field": "spine.every_seconds"})
    if not 0 < value <= MAX_EVERY_S:
        raise InvalidInput(f"spine every_seconds {value!r} must be > 0 and at most "
                           f"{MAX_EVERY_S:,} (100 years)",
                           detail={"field": "spine.every_seconds"})
    return timedelta(seconds=float(value))


def _spine_spec(raw: Any) -> SpineSpec:
    if not isinstance(raw, dict):
        raise InvalidInput("'spine' must be an object with mode, view, start, end")
    unknown = sorted(raw.keys() - {"mode", "view", "start", "end", "every_seconds"})
    if unknown:
        raise InvalidInput(f"unknown spine field(s) {unknown}", detail={"fields": unknown})
    for name in ("mode", "view"):
        if not isinstance(raw.get(name), str):
            raise InvalidInput(f"spine {name} {raw.get(name)!r} must be a string",
                               detail={"field": f"spine.{name}"})
    return SpineSpec(mode=raw["mode"], view=raw["view"], start=_time(raw.get("start"), "start"),
                     end=_time(raw.get("end"), "end"), every=_every(raw.get("every_seconds")))


def _check_types(options: dict[str, Any]) -> None:
    """Scalar options have the JSON type they need; the message names the field and value."""
    for name in ("feature_service", "timestamp_column", "plan"):
        value = options.get(name)
        if value is not None and not isinstance(value, str):
            raise InvalidInput(f"{name!r} must be a string, got {value!r}",
                               detail={"field": name})
    flag = options.get("full_feature_names")
    if flag is not None and not isinstance(flag, bool):
        raise InvalidInput(f"'full_feature_names' must be true or false, got {flag!r}",
                           detail={"field": "full_feature_names"})


def _form_flag(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered not in ("true", "false"):
        raise InvalidInput(f"'full_feature_names' must be true or false, got {value!r}",
                           detail={"field": "full_feature_names"})
    return lowered == "true"


def _form_features(value: str) -> Any:
    """`features` as a form field: a JSON list, or names separated by commas."""
    text = value.strip()
    if not text.startswith("["):
        return [f.strip() for f in text.split(",") if f.strip()]
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise InvalidInput(f"form field 'features' {text[:80]!r} is not a JSON list: {exc.msg}",
                           detail={"field": "features"}) from None


Upload = tuple[bytes, str]
"""An uploaded entity file's bytes and name, read once the join key types are known."""


async def _parse(request: Request) -> tuple[dict[str, Any], Upload | None]:
    """The options and, for an upload, the uploaded file."""
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        form = await request.form()
        upload = form.get("entities") or form.get("file")
        if upload is None or isinstance(upload, str):
            raise InvalidInput("the upload needs a file part named 'entities'")
        data = await upload.read()
        options: dict[str, Any] = {k: v for k, v in form.items() if isinstance(v, str)}
        unknown = sorted(options.keys() - _ALLOWED)
        if unknown:
            raise InvalidInput(f"unknown form field(s) {unknown}", detail={"fields": unknown})
        if "features" in options:
            options["features"] = _form_features(options["features"])
        if "full_feature_names" in options:
            options["full_feature_names"] = _form_flag(options["full_feature_names"])
        _check_types(options)
        return options, (data, upload.filename or "upload")
    try:
        body = orjson.loads(await request.body())
    except orjson.JSONDecodeError as exc:
        raise InvalidInput(f"request body is not valid JSON: {exc.msg}") from None
    if not isinstance(body, dict):
        raise InvalidInput("request body must be a JSON object")
    unknown = sorted(body.keys() - _ALLOWED)
    if unknown:
        raise InvalidInput(f"unknown request field(s) {unknown}", detail={"fields": unknown})
    _check_types(body)
    return body, None


def _prepare(state: AppState, options: dict[str, Any], upload: Upload | None
             ) -> tuple[Selection, pa.Table, dict[str, Any] | None, str]:
    definitions = state.definitions
    limit = state.settings.max_training_rows
    features = options.get("features")
    if features is not None and not (isinstance(features, list)
                                     and all(isinstance(f, str) for f in features)):
        raise InvalidInput("'features' must be a list of 'view:feature' strings")
    selection = select_features(definitions, features=features,
                                service=options.get("feature_service"),
                                full_feature_names=bool(options.get("full_feature_names", False)))
    timestamp_column = str(options.get("timestamp_column") or DEFAULT_TIMESTAMP)
    spec: dict[str, Any] | None = None
    if options.get("spine") is not None:
        spine_spec = _spine_spec(options["spine"])
        view = definitions.views.get(spine_spec.view)
        if view is None:
            raise UnknownName("feature view", spine_spec.view, known=sorted(definitions.views))
        table = build_spine(view, spine_spec, max_rows=limit, timestamp_column=timestamp_column)
        spec = spine_spec.describe()
    elif upload is not None:  # CSV key columns are read as text, then as their declared types
        table = read_spine_bytes(*upload, text_columns=selection.key_types().keys())
    else:
        entities = options.get("entities")
        if not isinstance(entities, dict) or not entities:
            raise InvalidInput("give 'entities' ({column: [values]}), an upload or a 'spine'")
        first = next(iter(entities.values()))
        if isinstance(first, list) and len(first) > limit:
            raise LimitExceeded(f"{len(first):,} entity rows exceed the limit of {limit:,}",
                                detail={"rows": len(first), "limit": limit})
        table = as_table(entities, selection.key_types())
    spine = prepare_spine(table, selection, max_rows=limit, timestamp_column=timestamp_column)
    return selection, spine, spec, timestamp_column


@router.post("/training-sets", status_code=202,
             summary="Build a point-in-time correct training set in the background")
async def create_training_set(request: Request, state: State, key: WriteKey) -> Response:
    options, upload = await _parse(request)
    plan = str(options.get("plan") or "auto")
    if plan not in ("auto", *PLANS):
        raise InvalidInput(f"plan {plan!r} must be one of {['auto', *PLANS]}")
    selection, spine, spec, ts_column = await asyncio.to_thread(_prepare, state, options, upload)
    data_path = state.settings.data_path
    runner = _runner(state)
    record = await asyncio.to_thread(runner.create, data_path, selection, spine.num_rows)
    usage_of(state).add_training(training_use(record.id, record.created_at,
                                              record.feature_refs, record.views))
    runner.submit(data_path, record, state.definitions, selection, spine,
                  timestamp_column=ts_column, spine_spec=spec, plan=plan)
    body = {"id": record.id, "status": record.status, "entity_rows": spine.num_rows,
            "url": f"/training-sets/{record.id}"}
    return Response(orjson.dumps(body), status_code=202, media_type="application/json")


@router.get("/training-sets/{set_id}", summary="Status, progress, timings and manifest")
async def get_training_set(set_id: str, state: State, key: ReadKey) -> Response:
    data_path = state.settings.data_path
    record = await asyncio.to_thread(jobs.read_record, data_path, set_id)
    body: dict[str, Any] = dict(record.__dict__)
    body["manifest"] = await asyncio.to_thread(jobs.read_manifest, data_path, set_id)
    if record.status == "succeeded" and record.origin == "server":
        body["data_url"] = f"/training-sets/{set_id}/data"
    return Response(orjson.dumps(body), media_type="application/json")


@router.get("/training-sets/{set_id}/data", summary="The training set as parquet, csv or json")
async def get_training_set_data(set_id: str, state: State, key: ReadKey,
                                format: str = "parquet") -> Response:
    if format not in _MEDIA:
        raise InvalidInput(f"format {format!r} must be parquet, csv or json")
    data_path = state.settings.data_path
    record = await asyncio.to_thread(jobs.read_record, data_path, set_id)
    if record.status != "succeeded":
        raise Conflict(f"training set {set_id} is {record.status}, not ready",
                       detail={"status": record.status})
    if record.origin != "server":
        raise NotFound(f"training set {set_id} was built by the {record.origin}; its rows are "
                       f"in the file it wrote, not on the server (its manifest is at "
                       f"/training-sets/{set_id})", detail={"id": set_id, "origin": record.origin})
    path = jobs.job_dir(data_path, set_id) / OUTPUT_FILE
    if format == "parquet":
        return FileResponse(path, media_type=_MEDIA[format], filename=f"{set_id}.parquet")
    # Types are checked before the stream starts: a column the format cannot carry is a 422,
    # not a 200 whose body stops halfway.
    chunks = await asyncio.to_thread(export.chunks, path, format)
    return StreamingResponse(chunks, media_type=_MEDIA[format])
