"""`/monitoring/...`: persisted monitoring runs, one view's history, and a run on demand.

Handlers read the reports every replica shares (`featurebank.monitoring.store`) in a worker
thread, since a first read parses files; `POST /monitoring/run` hands the work to the periodic
job's runner, which takes the cross-replica lock. `panel_context` shapes the same history into
the geometry the view page's monitoring panel draws as inline SVG (no script, works offline).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Query
from starlette.responses import JSONResponse

from featurebank.errors import DependencyUnavailable, UnknownName
from featurebank.monitoring.report import MonitorReport
from featurebank.monitoring.store import ReportStore, view_history
from server.deps import AdminKey, ReadKey, State
from server.monitoring_job import MonitoringJob
from server.state import AppState

log = logging.getLogger("featurebank.monitoring")
router = APIRouter(prefix="/monitoring", tags=["monitoring"])

HISTORY_RUNS = 100
PANEL_RUNS = 50
"""The view page plots fewer runs: a first read parses each file (~15 ms for 200 features)."""
PLOT_W, PLOT_H = 220, 48
BAR_W, BAR_H = 150, 48
DEFAULT_LIMITS = {"psi": 0.2, "js": 0.1, "match_rate": 0.99}
"""Drawn when the latest run has no breach carrying the view's own threshold (tags may differ)."""


def report_store(state: AppState) -> ReportStore:
    store: ReportStore | None = state.extras.get("monitoring_store")
    if store is None:
        store = state.extras["monitoring_store"] = ReportStore(state.settings.data_path)
    return store


def monitoring_job(state: AppState) -> MonitoringJob | None:
    job: MonitoringJob | None = state.extras.get("monitoring_job")
    return job


async def _read(function: Callable[..., Any], *args: Any) -> Any:
    """Run a store read in a worker thread; an unreadable runs directory is a 503 naming it."""
    try:
        return await asyncio.to_thread(function, *args)
    except OSError as exc:
        log.warning("monitoring runs unreadable: %s", exc)
        raise DependencyUnavailable(
            "the monitoring runs directory could not be read; see the server log",
            detail={"dependency": "monitoring runs"}) from None


def _summary(report: MonitorReport) -> dict[str, Any]:
    kinds: dict[str, int] = {}
    for breach in report.breaches:
        kinds[breach.kind] = kinds.get(breach.kind, 0) + 1
    return {"run_id": report.run_id, "generated_at": report.generated_at,
            "window_start": report.window_start, "window_end": report.window_end,
            "reference": report.reference, "breaches": len(report.breaches),
            "breaches_by_kind": kinds, "features_checked": len(report.drift),
            "views_checked": len({f.view for f in report.freshness})}


def _full(report: MonitorReport) -> dict[str, Any]:
    body = report.to_dict()
    body["breaches"] = [{**_plain_breach(b), "key": b.key} for b in report.breaches]
    body["consistency"] = [{**asdict(c), "match_rate": c.match_rate}
                           for c in report.consistency]
    return body


@router.get("/summary")
async def summary(state: State, _key: ReadKey) -> dict[str, Any]:
    """The latest run with its open breaches, and the state of this replica's job."""
    latest = await _read(report_store(state).latest)
    job = monitoring_job(state)
    return {
        "latest": _summary(latest) if latest else None,
        "breaches": [{**_plain_breach(b), "key": b.key} for b in latest.breaches]
        if latest else [],
        "job": job.describe() if job else {"enabled": False, "available": False},
    }


def _plain_breach(breach: Any) -> dict[str, Any]:
    return {"kind": breach.kind, "view": breach.view, "feature": breach.feature,
            "metric": breach.metric, "value": breach.value, "threshold": breach.threshold,
            "message": breach.message}


@router.get("/runs")
async def list_runs(state: State, _key: ReadKey,
                    limit: Annotated[int, Query(ge=1, le=1000)] = 50) -> dict[str, Any]:
    runs = await _read(report_store(state).runs, limit)
    return {"runs": [_summary(r) for r in runs]}


@router.get("/runs/{run_id}")
async def get_run(run_id: str, state: State, _key: ReadKey) -> dict[str, Any]:
    report = await _read(report_store(state).get, run_id)
    return _full(report)


def _view_history(state: AppState, view: str, limit: int) -> dict[str, Any]:
    store = report_store(state)
    runs = store.runs(limit)
    known = set(state.definitions.views) | set(state.definitions.on_demand)
    if view not in known and view not in store.views(limit):
        raise UnknownName("feature view", view, known=sorted(known))
    return view_history(runs, view)


@router.get("/views/{view}")
async def get_view(view: str, state: State, _key: ReadKey,
                   limit: Annotated[int, Query(ge=1, le=1000)] = HISTORY_RUNS) -> dict[str, Any]:
    """Drift, consistency and freshness of one view over the last `limit` runs (oldest first),
    and the newest run's detail: histograms, mismatch examples, open breaches."""
    result: dict[str, Any] = await _read(_view_history, state, view, limit)
    return result


@router.post("/run", status_code=202)
async def trigger_run(state: State, _key: AdminKey) -> JSONResponse:
    """Start a monitoring run now; poll `/monitoring/summary` (its `job`) for the outcome."""
    job = monitoring_job(state)
    if job is None:
        raise DependencyUnavailable("the monitoring job is not running on this server")
    await job.trigger()
    return JSONResponse({"status": "started", "job": job.describe()}, status_code=202)


def line_plot(values: list[float | None], limit: float | None, *,
              low_is_bad: bool = False) -> dict[str, Any] | None:
    """Polyline geometry for a series, with the limit drawn as a dashed line."""
    points = [(i, v) for i, v in enumerate(values) if v is not None]
    if not points:
        return None
    seen = [v for _, v in points] + ([limit] if limit is not None else [])
    if low_is_bad:
        top, bottom = 1.0, min(min(seen) - 0.005, 0.98)
    else:
        top, bottom = max(max(seen) * 1.15, 1e-9), 0.0
    step = PLOT_W / max(1, len(values) - 1)

    def y(value: float) -> float:
        return round(PLOT_H - PLOT_H * (value - bottom) / ((top - bottom) or 1), 2)

    dots = [{"x": round(i * step, 2), "y": y(v), "v": f"{v:.4g}",
             "bad": limit is not None and (v < limit if low_is_bad else v > limit)}
            for i, v in points]
    return {"w": PLOT_W, "h": PLOT_H, "points": " ".join(f"{d['x']},{d['y']}" for d in dots),
            "dots": dots, "limit_y": y(limit) if limit is not None else None, "limit": limit,
            "last": dots[-1]}


def bars(histogram: dict[str, Any] | None, top: float) -> dict[str, Any] | None:
    """Bars of shares (count / total) on a shared scale `top`, so two histograms compare."""
    if not histogram or not histogram.get("counts"):
        return None
    counts: list[int] = histogram["counts"]
    total = sum(counts) or 1
    edges, categories = histogram.get("edges"), histogram.get("categories")
    width = BAR_W / len(counts)
    out = []
    for i, count in enumerate(counts):
        share = count / total
        if categories:
            label = str(categories[i])
        elif edges:
            label = f"[{edges[i]:g}, {edges[i + 1]:g})"
        else:
            label = str(i)
        height = round(BAR_H * share / (top or 1), 2)
        out.append({"x": round(i * width, 2), "w": round(max(width - 1, 0.5), 2), "h": height,
                    "y": round(BAR_H - height, 2), "title": f"{label}: {count} ({share:.1%})"})
    return {"w": BAR_W, "h": BAR_H, "bars": out}


def _share_top(*histograms: dict[str, Any] | None) -> float:
    shares = [c / (sum(h["counts"]) or 1) for h in histograms if h and h.get("counts")
              for c in h["counts"]]
    return max(shares, default=1.0)


def panel_context(history: dict[str, Any]) -> dict[str, Any]:
    """What `monitoring_panel.html` draws for one view (from `view_history`)."""
    latest = history["latest"]
    if latest is None:
        return {"available": False}
    limits = {(b["feature"], b["metric"]): b["threshold"] for b in latest["breaches"]}
    series = history["series"]
    features = []
    for name in sorted(set(series["drift"]) | set(series["consistency"])):
        drift = series["drift"].get(name, [])
        match = series["consistency"].get(name, [])
        features.append({
            "name": name,
            "psi": line_plot([p["psi"] for p in drift],
                             limits.get((name, "psi"), DEFAULT_LIMITS["psi"])),
            "js": line_plot([p["js"] for p in drift],
                            limits.get((name, "js"), DEFAULT_LIMITS["js"])),
            "match": line_plot([p["match_rate"] for p in match],
                               limits.get((name, "match_rate"), DEFAULT_LIMITS["match_rate"]),
                               low_is_bad=True),
        })
    histograms = []
    for item in latest["drift"]:
        top = _share_top(item["reference"], item["current"])
        histograms.append({"feature": item["feature"], "psi": item["psi"], "js": item["js"],
                           "reference": bars(item["reference"], top),
                           "current": bars(item["current"], top),
                           "rows_reference": item["rows_reference"],
                           "rows_current": item["rows_current"]})
    freshness = latest["freshness"]
    if freshness is not None:
        age = freshness["age_s"]
        freshness = {**freshness, "ok": age is not None and age <= freshness["threshold_s"]}
    return {"available": True, "run_id": latest["run_id"], "generated_at": latest["generated_at"],
            "reference": latest["reference"], "window_start": latest["window_start"],
            "window_end": latest["window_end"], "runs": history["runs"],
            "breaches": latest["breaches"], "freshness": freshness, "features": features,
            "histograms": histograms}


async def view_panel(state: AppState, view: str) -> dict[str, Any]:
    """The panel context for the view page (`server/routes/ui.py`); never fails the page."""
    store = report_store(state)
    try:
        runs = await asyncio.to_thread(store.runs, PANEL_RUNS)
    except OSError as exc:  # an unreadable runs directory must not take the catalog page down
        log.warning("monitoring panel for %s: cannot read runs: %s", view, exc)
        return {"available": False, "error": "monitoring runs could not be read"}
    return panel_context(view_history(runs, view))
