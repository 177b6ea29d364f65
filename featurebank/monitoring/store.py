"""Reading persisted monitoring runs: the latest one, one by id, and a view's history for plots.

A run is written once as `<data_dir>/monitoring/runs/<run_id>.json` by whoever computed it (the
`featurebank monitor` CLI or the periodic job of any replica); every replica reads the same files,
so metrics, alerts, the API and the UI agree. A file that is half-written (a crash mid-write, a
copy in progress) or not a report at all is skipped with a log line rather than failing a page:
monitoring must not take the catalog down with it.

Files are ordered by modification time (a run is written when it finishes) and parsed lazily,
newest first, with a small cache keyed on (name, mtime, size), so a scrape every few seconds does
not re-read a directory of thousands of runs.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from collections import OrderedDict
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import orjson

from featurebank.errors import InvalidInput, NotFound
from featurebank.monitoring.report import (
    Breach,
    FeatureConsistency,
    FeatureDrift,
    Histogram,
    MismatchExample,
    MonitorReport,
    ViewFreshness,
)

log = logging.getLogger("featurebank.monitoring")

RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")
CACHE_SIZE = 256


def runs_dir(data_path: Path) -> Path:
    """Where runs are persisted under the data dir (shared by every replica)."""
    return data_path / "monitoring" / "runs"


def _build(cls: Any, data: object, where: str, **nested: Any) -> Any:
    """`cls(**data)` with nested dataclasses converted, or an error naming the bad part."""
    if not isinstance(data, dict):
        raise InvalidInput(f"{where}: expected an object, got {type(data).__name__}")
    values = dict(data)
    for name, convert in nested.items():
        if values.get(name) is not None:
            values[name] = convert(values[name], f"{where}.{name}")
    try:
        built = cls(**values)
    except TypeError as exc:  # a missing or foreign field
        raise InvalidInput(f"{where}: {exc}") from exc
    for item in fields(cls):  # metrics and plots do arithmetic on these: a wrong type is refused
        if item.name not in nested and not _conforms(values.get(item.name), str(item.type)):
            raise InvalidInput(f"{where}.{item.name}: {values.get(item.name)!r} is not "
                               f"{item.type}")
    return built


_SCALARS: dict[str, tuple[type, ...]] = {"str": (str,), "BreachKind": (str,), "int": (int,),
                                         "float": (int, float)}


def _conforms(value: object, annotation: str) -> bool:
    """Whether a JSON value fits a field annotated `annotation` (e.g. 'list[float] | None')."""
    for option in (part.strip() for part in annotation.split("|")):
        if option == "None":
            if value is None:
                return True
        elif option in _SCALARS:
            if isinstance(value, _SCALARS[option]) and not isinstance(value, bool):
                return True
        elif option.startswith("list[") and option[5:-1] in _SCALARS:
            kinds = _SCALARS[option[5:-1]]
            if isinstance(value, list) and all(
                    isinstance(v, kinds) and not isinstance(v, bool) for v in value):
                return True
        else:  # object, dict[...]: anything JSON
            return True
    return False


def _items(convert: Any) -> Any:
    def each(values: object, where: str) -> list[Any]:
        if not isinstance(values, list):
            raise InvalidInput(f"{where}: expected a list, got {type(values).__name__}")
        return [convert(v, f"{where}[{i}]") for i, v in enumerate(values)]

    return each


def _histogram(data: object, where: str) -> Histogram:
    histogram: Histogram = _build(Histogram, data, where)
    return histogram


def _drift(data: object, where: str) -> FeatureDrift:
    drift: FeatureDrift = _build(FeatureDrift, data, where, reference=_histogram,
                                 current=_histogram)
    return drift


def _consistency(data: object, where: str) -> FeatureConsistency:
    example = _items(lambda d, w: _build(MismatchExample, d, w))
    consistency: FeatureConsistency = _build(FeatureConsistency, data, where, examples=example)
    return consistency


def report_from_dict(data: object) -> MonitorReport:
    """The `MonitorReport` a `to_dict()` produced, or `InvalidInput` naming what is wrong."""
    report: MonitorReport = _build(
        MonitorReport, data, "report",
        drift=_items(_drift), consistency=_items(_consistency),
        freshness=_items(lambda d, w: _build(ViewFreshness, d, w)),
        breaches=_items(lambda d, w: _build(Breach, d, w)),
    )
    if not isinstance(report.run_id, str) or not RUN_ID.fullmatch(report.run_id):
        raise InvalidInput(f"report: run_id {report.run_id!r} is not a run id")
    if not isinstance(report.generated_at, str):
        raise InvalidInput("report: generated_at must be an ISO-8601 string")
    return report


@dataclass(frozen=True)
class _Entry:
    name: str
    mtime_ns: int
    size: int


class ReportStore:
    """The persisted runs under one data dir, newest first."""

    def __init__(self, data_path: Path) -> None:
        self.directory = runs_dir(data_path)
        self._cache: OrderedDict[_Entry, MonitorReport | None] = OrderedDict()
        self._lock = threading.Lock()  # handlers read through worker threads

    def _entries(self) -> list[_Entry]:
        try:
            scan = list(os.scandir(self.directory))
        except FileNotFoundError:
            return []
        entries = []
        for item in scan:
            if not item.name.endswith(".json") or item.name.startswith("."):
                continue  # temporary files of an atomic write start with a dot or lack .json
            try:
                stat = item.stat()
            except FileNotFoundError:  # removed between listing and stat
                continue
            entries.append(_Entry(item.name, stat.st_mtime_ns, stat.st_size))
        entries.sort(key=lambda e: (e.mtime_ns, e.name), reverse=True)
        return entries

    def _load(self, entry: _Entry) -> MonitorReport | None:
        with self._lock:
            if entry in self._cache:
                self._cache.move_to_end(entry)
                return self._cache[entry]
        report: MonitorReport | None = None
        path = self.directory / entry.name
        try:
            report = report_from_dict(orjson.loads(path.read_bytes()))
        except FileNotFoundError:
            return None
        except (ValueError, InvalidInput) as exc:  # half-written JSON or a foreign file
            message = exc.message if isinstance(exc, InvalidInput) else str(exc)
            log.warning("skipping monitoring run file %s: %s", path, message)
        with self._lock:
            self._cache[entry] = report
            while len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)
        return report

    def runs(self, limit: int | None = None) -> list[MonitorReport]:
        """Readable runs, newest first, at most `limit`."""
        found: list[MonitorReport] = []
        for entry in self._entries():
            report = self._load(entry)
            if report is not None:
                found.append(report)
                if limit is not None and len(found) >= limit:
                    break
        return found

    def latest(self) -> MonitorReport | None:
        runs = self.runs(limit=1)
        return runs[0] if runs else None

    def get(self, run_id: str) -> MonitorReport:
        """One run by id; a malformed id is a 422 and an absent (or unreadable) run a 404."""
        if not RUN_ID.fullmatch(run_id):
            raise InvalidInput(f"run id {run_id!r} is not a run id (letters, digits, ._:-)",
                               detail={"run_id": run_id})
        path = self.directory / f"{run_id}.json"
        try:
            stat = path.stat()
        except FileNotFoundError:
            raise NotFound(f"no monitoring run {run_id!r}", detail={"run_id": run_id}) from None
        report = self._load(_Entry(path.name, stat.st_mtime_ns, stat.st_size))
        if report is None:
            raise NotFound(f"monitoring run {run_id!r} is unreadable (see the server log)",
                           detail={"run_id": run_id})
        return report

    def views(self, limit: int = 50) -> set[str]:
        """Every view the recent runs mention (a view dropped from the registry keeps history)."""
        names: set[str] = set()
        for report in self.runs(limit):
            names.update(d.view for d in report.drift)
            names.update(c.view for c in report.consistency)
            names.update(f.view for f in report.freshness)
            names.update(b.view for b in report.breaches)
        return names


def view_history(reports: list[MonitorReport], view: str) -> dict[str, Any]:
    """One view across runs (`reports` newest first): series oldest first for plots, and the
    newest run's full detail (histograms, examples, open breaches)."""
    drift: dict[str, list[dict[str, Any]]] = {}
    consistency: dict[str, list[dict[str, Any]]] = {}
    freshness: list[dict[str, Any]] = []
    for report in reversed(reports):
        at = {"run_id": report.run_id, "at": report.generated_at}
        for d in report.drift:
            if d.view == view:
                drift.setdefault(d.feature, []).append(
                    {**at, "psi": d.psi, "js": d.js, "null_rate": d.null_rate_current})
        for c in report.consistency:
            if c.view == view:
                consistency.setdefault(c.feature, []).append(
                    {**at, "match_rate": c.match_rate, "smape": c.smape, "rows": c.rows})
        for f in report.freshness:
            if f.view == view:
                freshness.append({**at, "age_s": f.age_s, "threshold_s": f.threshold_s})
    latest = next((r for r in reports if _mentions(r, view)), None)
    detail: dict[str, Any] | None = None
    if latest is not None:
        detail = {
            "run_id": latest.run_id, "generated_at": latest.generated_at,
            "window_start": latest.window_start, "window_end": latest.window_end,
            "reference": latest.reference,
            "drift": [_plain(d) for d in latest.drift if d.view == view],
            "consistency": [{**_plain(c), "match_rate": c.match_rate}
                            for c in latest.consistency if c.view == view],
            "freshness": next((_plain(f) for f in latest.freshness if f.view == view), None),
            "breaches": [{**_plain(b), "key": b.key} for b in latest.breaches if b.view == view],
        }
    return {"view": view, "runs": len(reports), "latest": detail,
            "series": {"drift": drift, "consistency": consistency, "freshness": freshness}}


def _mentions(report: MonitorReport, view: str) -> bool:
    items: list[FeatureDrift | FeatureConsistency | ViewFreshness | Breach] = [
        *report.drift, *report.consistency, *report.freshness, *report.breaches]
    return any(x.view == view for x in items)


def _plain(item: Any) -> dict[str, Any]:
    values: dict[str, Any] = asdict(item)
    return values
