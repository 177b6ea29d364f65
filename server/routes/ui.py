"""The web UI: server-rendered Jinja2 pages over the catalog; no JavaScript, no build step.

Every value reaches HTML through Jinja's autoescape; charts are inline SVG whose geometry is
computed here, so the templates only place numbers. Snippets are built as plain strings (JSON
via orjson, shell-quoted for curl) and escaped like everything else when rendered.

Errors on these routes (unknown names, bad query parameters, a missing key) render an escaped
HTML page with the message and the right status, through `HtmlErrorRoute`; the JSON API keeps
the JSON envelope of `server.errors`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from http import HTTPStatus
from pathlib import Path
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import FileResponse, HTMLResponse, Response
from swagger_ui_bundle import swagger_ui_path  # type: ignore[import-untyped]

from featurebank.catalog.freshness import humanize, parse_time
from featurebank.catalog.lineage import NODE_H, NODE_W, diagram
from featurebank.catalog.pages import entity_page, entity_row, served_refs, service_page
from featurebank.catalog.records import KINDS
from featurebank.catalog.search import MAX_QUERY_CHARS
from featurebank.catalog.search import Query as SearchQuery
from featurebank.catalog.snippets import curl_push, python_read_files, snippets
from featurebank.catalog.source_page import source_page
from featurebank.errors import DependencyUnavailable, FeatureBankError, NotFound
from server.deps import ReadKey, State
from server.routes.catalog import synced_catalog
from server.routes.monitoring import view_panel
from streaming.push import push_target

log = logging.getLogger("featurebank.server")
templates = Jinja2Templates(directory=str(Path(__file__).resolve().parent.parent / "templates"))
templates.env.autoescape = True
templates.env.filters["age"] = humanize

HIST_W, HIST_H = 240, 64
SWAGGER_ASSETS = {name: Path(swagger_ui_path) / name
                  for name in ("swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png")}


def when(value: Any) -> str:
    """A unix or ISO time as `YYYY-MM-DD HH:MM:SS UTC (age ago)`; "never" for none."""
    moment = parse_time(value)
    if moment is None:
        return "never"
    age = (datetime.now(UTC) - moment).total_seconds()
    ago = f"{humanize(age)} ago" if age >= 0 else f"in {humanize(age)}"
    return f"{moment.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC ({ago})"


def plural(count: int, noun: str) -> str:
    """`1 feature service`, `2 feature services`."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


templates.env.filters["when"] = when
templates.env.globals["plural"] = plural


def histogram_svg(stats: dict[str, Any] | None) -> dict[str, Any] | None:
    """Bar geometry for a numeric histogram (of values, or of list lengths) or a top-values
    chart."""
    if not stats:
        return None
    histogram = stats.get("histogram") or stats.get("length_histogram")
    if histogram:
        counts: list[int] = histogram["counts"]
        edges: list[float] = histogram["edges"]
        top = max(counts) or 1
        width = HIST_W / len(counts)
        bars = [{"x": round(i * width, 2), "w": round(width - 1, 2),
                 "h": round(HIST_H * c / top, 2), "y": round(HIST_H - HIST_H * c / top, 2),
                 "title": f"[{edges[i]:g}, {edges[i + 1]:g}): {c}"}
                for i, c in enumerate(counts)]
        label = "histogram" if stats.get("histogram") else "list-length histogram"
        return {"kind": "histogram", "w": HIST_W, "h": HIST_H, "bars": bars,
                "low": edges[0], "high": edges[-1], "label": label}
    if stats.get("top_values"):
        values = stats["top_values"]
        top = max(v["count"] for v in values) or 1
        rows = [{"y": i * 14, "w": round(150 * v["count"] / top, 2), "label": str(v["value"])[:24],
                 "count": v["count"]} for i, v in enumerate(values)]
        return {"kind": "top", "w": HIST_W, "h": 14 * len(rows), "rows": rows}
    return None


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _stale(views: list[dict[str, Any]], expired: list[str]) -> list[str]:
    """Views whose newest value, or whose value for the example key, is older than their TTL:
    online, they answer OUTSIDE_MAX_AGE."""
    stale = [v["name"] for v in views if v["freshness"]["status"] == "stale"]
    return list(dict.fromkeys([*stale, *expired]))


def _read_key(state: Any) -> bool:
    return bool(state.settings.require_read_key)


def _render(request: Request, name: str, context: dict[str, Any],
            status: int = 200) -> Response:
    return templates.TemplateResponse(request, name, {"kinds": KINDS, **context},
                                      status_code=status)


def _describe_error(request: Request, exc: Exception) -> tuple[int, str, list[dict[str, str]]]:
    """Status, message and field problems for an error, never echoing internals on a 500."""
    if isinstance(exc, RequestValidationError):
        problems = [{"field": ".".join(str(p) for p in err.get("loc", ())),
                     "problem": str(err.get("msg", ""))} for err in exc.errors()]
        first = problems[0] if problems else {"field": "request", "problem": "invalid"}
        return 422, f"invalid request: {first['field']}: {first['problem']}", problems
    if isinstance(exc, FeatureBankError):
        if exc.status_code >= 500 and not isinstance(exc, DependencyUnavailable):
            log.error("internal error on %s: %s", request.url.path, exc.message)
            return 500, "internal error; see the server log", []
        return exc.status_code, exc.message, []
    if isinstance(exc, StarletteHTTPException):
        return exc.status_code, str(exc.detail), []
    if isinstance(exc, RedisConnectionError | RedisTimeoutError):
        log.warning("redis unavailable on %s: %s", request.url.path, type(exc).__name__)
        return 503, "the online store (Redis) did not answer in time", []
    log.exception("unhandled error on %s", request.url.path, exc_info=exc)
    return 500, "internal error; see the server log", []


def error_page(request: Request, exc: Exception) -> Response:
    """An HTML page for `exc`, escaped by Jinja like every other page."""
    status, message, problems = _describe_error(request, exc)
    try:
        title = HTTPStatus(status).phrase
    except ValueError:
        title = "Error"
    response = _render(request, "error.html", {"status": status, "title": title,
                                               "message": message, "problems": problems},
                       status)
    if status == 401:
        response.headers["WWW-Authenticate"] = "ApiKey"
    return response


class HtmlErrorRoute(APIRoute):
    """A UI route whose errors (including parameter validation, which FastAPI raises before
    the endpoint runs) become HTML pages instead of the API's JSON envelope."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def html_errors(request: Request) -> Response:
            try:
                return await handler(request)
            except Exception as exc:  # every error: a UI user should never see raw JSON
                return error_page(request, exc)

        return html_errors


router = APIRouter(tags=["ui"], include_in_schema=False, route_class=HtmlErrorRoute)


@router.get("/", response_class=HTMLResponse)
async def home(
    request: Request, state: State, _key: ReadKey,
    q: Annotated[str, Query(max_length=MAX_QUERY_CHARS)] = "",
    kind: str = "", owner: str = "", tag: str = "",
) -> Response:
    catalog = await synced_catalog(state)
    context: dict[str, Any] = {"q": q, "kind": kind, "owner": owner, "tag": tag, "hits": None,
                               "error": None}
    if q or kind or owner or tag:
        try:
            context["hits"] = catalog.search(
                SearchQuery(q, kind or None, owner or None, tag or None, 50))["hits"]
        except FeatureBankError as exc:
            context["error"] = exc.message
    records = catalog.snapshot.records
    context.update(views=catalog.listing("feature-views"), services=records.services.values(),
                   entities=records.entities.values(), project=records.project)
    return _render(request, "index.html", context, 422 if context["error"] else 200)


@router.get("/ui/feature-views/{name}", response_class=HTMLResponse)
async def view_page(request: Request, name: str, state: State, _key: ReadKey) -> Response:
    catalog = await synced_catalog(state)
    body = await catalog.view_detail(name, redis=state.redis)
    record = catalog.snapshot.records.views[name]
    entities, sample = await entity_row(catalog, [name])
    charts = {f["name"]: histogram_svg(f["statistics"]) for f in body["features"]}
    code = snippets(_base(request), {"features": [f["ref"] for f in body["features"]]},
                    entities, sample.at, read_key=_read_key(state),
                    lookup={"features": [f.ref for f in record.served]})
    return _render(request, "view.html", {
        "v": body, "charts": charts, "diagram": diagram(body["lineage"], record),
        "node_w": NODE_W, "node_h": NODE_H, "snippets": code,
        "sampled": sample.from_history, "gaps": sample.gaps,
        "offline_only": [f.name for f in record.features if not f.served],
        "monitoring": await view_panel(state, name),
        "stale": _stale([body], sample.expired),
    })


@router.get("/ui/feature-services/{name}", response_class=HTMLResponse)
async def feature_service_page(request: Request, name: str, state: State,
                               _key: ReadKey) -> Response:
    catalog = await synced_catalog(state)
    body, drawing = await service_page(catalog, name)
    entities, sample = await entity_row(catalog, list(body["views"]))
    served = served_refs(catalog.snapshot.records, name)
    code = snippets(_base(request), {"feature_service": name}, entities, sample.at,
                    read_key=_read_key(state),
                    lookup=None if served is None else {"features": served})
    return _render(request, "service.html", {
        "o": body, "diagram": drawing, "node_w": NODE_W, "node_h": NODE_H, "snippets": code,
        "sampled": sample.from_history, "gaps": sample.gaps,
        "offline_only": [r for r in body["feature_refs"] if served is not None
                         and r not in served],
        "stale": _stale(body["view_details"], sample.expired),
    })


@router.get("/ui/entities/{name}", response_class=HTMLResponse)
async def entity_detail_page(request: Request, name: str, state: State,
                             _key: ReadKey) -> Response:
    catalog = await synced_catalog(state)
    body, drawing, refs = await entity_page(catalog, name)
    code = None
    sampled = False
    gaps: list[str] = []
    expired: list[str] = []
    if refs:
        views = list(dict.fromkeys(ref.split(":", 1)[0] for ref in refs))
        entities, sample = await entity_row(catalog, views)
        code = snippets(_base(request), {"features": refs, "full_feature_names": True},
                        entities, sample.at, read_key=_read_key(state))
        sampled, gaps, expired = sample.from_history, sample.gaps, sample.expired
    return _render(request, "entity.html", {
        "o": body, "diagram": drawing, "node_w": NODE_W, "node_h": NODE_H, "snippets": code,
        "sampled": sampled, "gaps": gaps, "stale": _stale(body["view_details"], expired),
    })


EXAMPLE_VALUES: dict[str, Any] = {"int64": 1, "int32": 1, "float64": 1.0, "float32": 1.0,
                                  "bool": True, "string": "example"}


def _push_example(state: Any, name: str) -> dict[str, list[Any]] | None:
    """One example row for a push source, typed as `/push` checks it (event time now), or
    None when no view reads the source or a column has no JSON example (bytes)."""
    try:
        target = push_target(state.definitions, name, state.settings.max_event_skew_s)
    except FeatureBankError:
        return None
    now = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    row: dict[str, list[Any]] = {}
    for column in target.schema.columns:
        kind = column.kind.removeprefix("list_")
        if column.kind == "timestamp" or column.name == target.schema.timestamp_field:
            row[column.name] = [now]
        elif kind in EXAMPLE_VALUES:
            value = EXAMPLE_VALUES[kind]
            row[column.name] = [[value] if column.kind.startswith("list_") else value]
        else:
            return None
    return row


@router.get("/ui/data-sources/{name}", response_class=HTMLResponse)
async def data_source_page(request: Request, name: str, state: State,
                           _key: ReadKey) -> Response:
    catalog = await synced_catalog(state)
    body, drawing = await source_page(catalog, name)
    code: dict[str, str] = {}
    if body["type"] == "push" and (row := _push_example(state, name)) is not None:
        code["push"] = curl_push(_base(request), name, row)
    files = body["files"]
    if files and files["count"]:
        code["read"] = python_read_files(body["path"], body["timestamp_field"])
    return _render(request, "source.html", {
        "o": body, "diagram": drawing, "node_w": NODE_W, "node_h": NODE_H, "code": code,
    })


@router.get("/ui/usage", response_class=HTMLResponse)
async def usage_page(
    request: Request, state: State, _key: ReadKey,
    days: Annotated[float, Query(gt=0, le=3650)] = 30,
) -> Response:
    catalog = await synced_catalog(state)
    return _render(request, "usage.html", {"unused": catalog.unused(days),
                                           "consumers": catalog.consumers()})


@router.get("/ui/{kind}/{name}", response_class=HTMLResponse)
async def object_page(request: Request, kind: str, name: str, state: State,
                      _key: ReadKey) -> Response:
    body = (await synced_catalog(state)).detail(kind, name)
    return _render(request, "object.html", {"o": body, "kind_path": kind,
                                            "pretty": orjson.dumps(
                                                body, option=orjson.OPT_INDENT_2).decode()})


@router.get("/docs", response_class=HTMLResponse)
async def api_docs() -> Response:
    """Swagger UI from assets this server ships (the `swagger-ui-bundle` package), so the API
    page works without internet access."""
    return get_swagger_ui_html(
        openapi_url="/openapi.json", title="Feature Bank API",
        swagger_js_url="/static/swagger-ui/swagger-ui-bundle.js",
        swagger_css_url="/static/swagger-ui/swagger-ui.css",
        swagger_favicon_url="/static/swagger-ui/favicon-32x32.png",
    )


@router.get("/static/swagger-ui/{name}")
async def swagger_asset(name: str) -> Response:
    """One of a fixed set of files: the name only selects from `SWAGGER_ASSETS`."""
    path = SWAGGER_ASSETS.get(name)
    if path is None:
        raise NotFound(f"no asset named {name!r}", detail={"name": name})
    return FileResponse(path, headers={"Cache-Control": "public, max-age=86400"})


@router.get("/ui/{path:path}", response_class=HTMLResponse)
async def no_page(path: str) -> Response:
    """Any other `/ui/...` address: a 404 page rather than the API's JSON."""
    raise NotFound(f"no page at /ui/{path}", detail={"path": path})
