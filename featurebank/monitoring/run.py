"""One monitoring run: consistency, drift and freshness over a window, persisted as JSON.

    run_monitoring(settings, window=timedelta(hours=1), reference=None) -> MonitorReport

The detection window is [now - window, now). Drift compares it with the reference:
`training-set:<id or manifest path>`, `history:<start>/<end>` (ISO-8601), or by default the
offline history of the `DEFAULT_REFERENCE_SPAN` before the window. A feature's detection side
is its served values when the window has logged ones, else the view's history in the window
(so views nobody looked up, and streams, are still watched). Each run is written atomically
to `<data_dir>/monitoring/runs/<run_id>.json` (see `store.py` for the readers) and only the
newest `keep` runs are kept.
"""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import orjson

from featurebank.definitions import Definitions, load_definitions
from featurebank.errors import InvalidInput
from featurebank.feast_repo import open_store
from featurebank.monitoring import samples
from featurebank.monitoring.breaches import find_breaches
from featurebank.monitoring.consistency import check_consistency
from featurebank.monitoring.distributions import (
    NUMERIC_TYPES,
    Sample,
    count_current,
    profile_reference,
)
from featurebank.monitoring.drift_report import feature_drift
from featurebank.monitoring.freshness import (
    online_view_features,
    read_watermarks,
    served_ages,
    view_freshness,
)
from featurebank.monitoring.logs_window import load_window
from featurebank.monitoring.report import FeatureConsistency, FeatureDrift, MonitorReport, iso
from featurebank.monitoring.store import runs_dir
from featurebank.monitoring.thresholds import ViewThresholds, parse_duration, view_thresholds
from featurebank.settings import Settings

DEFAULT_WINDOW = timedelta(hours=1)
DEFAULT_REFERENCE_SPAN = timedelta(days=7)
KEEP_RUNS = 200
PARTS = ("consistency", "drift", "freshness")
Progress = Callable[[str, float], None]


def _no_progress(phase: str, fraction: float) -> None:
    return None


@dataclass(frozen=True)
class Reference:
    """What drift is measured against, parsed from its text form."""

    text: str
    training_set: str | None = None
    start: datetime | None = None
    end: datetime | None = None


def _moment(text: str, what: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(f"{what} {text!r} is not an ISO-8601 time "
                           "(e.g. 2024-05-01T00:00:00Z)") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def parse_reference(text: str | None, window_start: datetime) -> Reference:
    """`training-set:<id|path>`, `history:<start>/<end>`, or None for the default history."""
    if text is None or not text.strip():
        start = window_start - DEFAULT_REFERENCE_SPAN
        return Reference(f"history:{iso(start)}/{iso(window_start)}", start=start,
                         end=window_start)
    kind, _, value = text.strip().partition(":")
    if kind == "training-set" and value:
        return Reference(text.strip(), training_set=value)
    if kind == "history" and value.count("/") == 1:
        first, last = value.split("/")
        start, end = _moment(first, "reference start"), _moment(last, "reference end")
        if start >= end:
            raise InvalidInput(f"reference {text!r}: start must be before end")
        return Reference(f"history:{iso(start)}/{iso(end)}", start=start, end=end)
    raise InvalidInput(f"reference {text!r} must be 'training-set:<id>' or "
                       "'history:<start>/<end>' (ISO-8601 times)", detail={"reference": text})


def parse_window(text: str) -> timedelta:
    """A window length like `1h`, `30m`, `900` (seconds) or `1d`."""
    try:
        return timedelta(seconds=parse_duration(text))
    except ValueError as exc:
        raise InvalidInput(f"window: {exc}", detail={"window": text}) from None
    except OverflowError:
        raise InvalidInput(f"window: {text!r} is too long", detail={"window": text}) from None


def _check_reach(moment: datetime, window: timedelta) -> None:
    """The window and the default reference before it must start after year 1: datetime
    arithmetic overflows otherwise, which would surface as a traceback, not a bad window."""
    try:
        moment - window - DEFAULT_REFERENCE_SPAN
    except OverflowError:
        raise InvalidInput(f"the monitoring window ({window.days} days) reaches back before "
                           "year 1", detail={"window_s": window.total_seconds()}) from None


def _drift(connection: duckdb.DuckDBPyConnection, definitions: Definitions, settings: Settings,
           reference: Reference, logs_sample: Sample, start: datetime, end: datetime,
           work: Path, report: Progress, *, explicit: bool = False) -> list[FeatureDrift]:
    if reference.training_set is not None:
        found = samples.find_training_set(settings.data_path, reference.training_set)
        references = [samples.training_sample(definitions, found)]
    else:
        assert reference.start is not None
        assert reference.end is not None
        references = samples.history_samples(connection, definitions, reference.start,
                                             reference.end, work / "reference")
    report("drift", 0.2)
    bins = {}
    for sample in references:
        numeric = {key: definitions.views[key[0]].features[key[1]].value_type
                   in NUMERIC_TYPES for key in sample.columns}
        bins.update(profile_reference(connection, sample, numeric))
    report("drift", 0.5)
    current = count_current(connection, logs_sample, bins)
    unserved = {view for view, _ in bins} - {view for (view, _), c in current.items() if c.rows}
    if unserved:
        for sample in samples.history_samples(connection, definitions, start, end,
                                              work / "current", views=unserved):
            current.update(count_current(connection, sample, bins))
    report("drift", 0.9)
    drift = [feature_drift(key, bins[key], current.get(key)) for key in bins]
    if explicit and not any(d.rows_reference for d in drift):
        # A reference the user chose that holds nothing would pass every check: say so.
        raise InvalidInput(f"reference {reference.text!r} holds no rows of any monitored "
                           "feature (scalar features of feature views); pick a span with "
                           "history or a training set of those features",
                           detail={"reference": reference.text})
    return drift


def compute_report(settings: Settings, definitions: Definitions, *, window: timedelta,
                   reference: str | None, now: datetime, parts: tuple[str, ...] = PARTS,
                   progress: Progress | None = None) -> MonitorReport:
    """The report of one run, without persisting it."""
    report = progress or _no_progress
    stages = _Stages(report, parts)
    end, start = now, now - window
    parsed = parse_reference(reference, start)
    thresholds: dict[str, ViewThresholds] = {
        name: view_thresholds(view) for name, view in definitions.views.items()}
    report("reading logs", 0.0)
    work = Path(tempfile.mkdtemp(prefix="monitor-", dir=_scratch(settings)))
    connection = duckdb.connect()
    try:
        connection.execute("SET TimeZone = 'UTC'")
        logs = load_window(connection, definitions, settings.data_path, start, end)
        consistency: list[FeatureConsistency] = []
        if "consistency" in parts:
            consistency = check_consistency(connection, definitions, logs,
                                            progress=stages.of("consistency"))
        drift: list[FeatureDrift] = []
        if "drift" in parts:
            drift = _drift(connection, definitions, settings, parsed,
                           samples.logged_sample(definitions, logs), start, end, work,
                           stages.of("drift"), explicit=bool(reference and reference.strip()))
        freshness = []
        if "freshness" in parts:
            stages.of("freshness")("freshness", 0.0)
            served = served_ages(connection, online_view_features(definitions), logs)
            written = read_watermarks(settings.redis_url, definitions.project,
                                      settings.redis_timeout_s)
            freshness = view_freshness(definitions, served, written, thresholds, now)
    finally:
        connection.close()
        shutil.rmtree(work, ignore_errors=True)
    run_id = f"{now.astimezone(UTC):%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"
    result = MonitorReport(run_id=run_id, generated_at=iso(datetime.now(UTC)),
                           window_start=iso(start), window_end=iso(end), reference=parsed.text,
                           drift=drift, consistency=consistency, freshness=freshness)
    result.breaches.extend(find_breaches(result, thresholds))
    report("done", 1.0)
    return result


class _Stages:
    """One bar for the whole run: each part reports 0..1 of its own share of the total."""

    SHARES = {"consistency": 0.45, "drift": 0.45, "freshness": 0.1}

    def __init__(self, report: Progress, parts: tuple[str, ...]) -> None:
        self.report = report
        total = sum(self.SHARES[p] for p in parts) or 1.0
        self.start: dict[str, float] = {}
        done = 0.0
        for part in PARTS:
            if part in parts:
                self.start[part] = done
                done += self.SHARES[part] / total
        self.total = total

    def of(self, part: str) -> Progress:
        begin, width = self.start.get(part, 0.0), self.SHARES[part] / self.total

        def relay(phase: str, fraction: float) -> None:
            self.report(part, min(begin + width * max(min(fraction, 1.0), 0.0), 1.0))

        return relay


def _scratch(settings: Settings) -> Path:
    path = settings.data_path / "monitoring" / "tmp"
    path.mkdir(parents=True, exist_ok=True)
    return path


def persist(data_path: Path, report: MonitorReport, keep: int = KEEP_RUNS) -> Path:
    """Write the run atomically (readers never see half a file), then prune to `keep`."""
    directory = runs_dir(data_path)
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / f"{report.run_id}.json"
    temp = directory / f".{report.run_id}.{os.getpid()}.tmp"
    temp.write_bytes(orjson.dumps(report.to_dict(), option=orjson.OPT_INDENT_2))
    os.replace(temp, target)
    runs = sorted((p for p in directory.glob("*.json") if not p.name.startswith(".")),
                  key=lambda p: (p.stat().st_mtime_ns, p.name))
    for old in runs[:-keep] if keep > 0 else []:
        old.unlink(missing_ok=True)
    return target


def run_monitoring(settings: Settings, *, window: timedelta = DEFAULT_WINDOW,
                   reference: str | None = None, now: datetime | None = None,
                   parts: tuple[str, ...] = PARTS, progress: Progress | None = None,
                   keep: int = KEEP_RUNS, definitions: Definitions | None = None,
                   save: bool = True) -> MonitorReport:
    """Compute a run over [now - window, now) and persist it (unless `save` is False)."""
    if window <= timedelta(0):
        raise InvalidInput("the monitoring window must be positive")
    moment = now or datetime.now(UTC)
    if moment.tzinfo is None:
        raise InvalidInput("the monitoring time must be timezone-aware")
    _check_reach(moment, window)
    defs = definitions or load_definitions(open_store(settings))
    report = compute_report(settings, defs, window=window, reference=reference, now=moment,
                            parts=parts, progress=progress)
    if save:
        persist(settings.data_path, report, keep)
    return report
