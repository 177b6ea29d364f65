"""MonitorReport objects built by hand and persisted the way a monitoring run persists them."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

from featurebank.monitoring.report import (
    Breach,
    FeatureConsistency,
    FeatureDrift,
    Histogram,
    MonitorReport,
    ViewFreshness,
    iso,
)
from featurebank.monitoring.store import runs_dir

PSI_THRESHOLD = 0.2


def drift_breach(view: str, feature: str, psi: float) -> Breach:
    return Breach(kind="drift", view=view, feature=feature, metric="psi", value=psi,
                  threshold=PSI_THRESHOLD,
                  message=f"{view}:{feature} PSI {psi:.3f} over {PSI_THRESHOLD}")


def sample_report(run_id: str, view: str, *, shifted_psi: float = 0.05,
                  at: datetime | None = None, match_rate_rows: tuple[int, int] = (100, 100),
                  age_s: float = 30.0) -> MonitorReport:
    """One view with a shifted feature `x` (breach when `shifted_psi` > 0.2), a steady one `y`,
    a consistency result for `x` and a freshness entry."""
    at = at or datetime.now(UTC)
    breaches = []
    if shifted_psi > PSI_THRESHOLD:
        breaches.append(drift_breach(view, "x", shifted_psi))
    rows, matched = match_rate_rows
    return MonitorReport(
        run_id=run_id, generated_at=iso(at), window_start=iso(at - timedelta(hours=1)),
        window_end=iso(at), reference="history:test",
        drift=[
            FeatureDrift(view, "x", shifted_psi, shifted_psi / 4, 0.0, 0.0, 500, 400,
                         reference=Histogram([10, 40, 40, 10], edges=[0.0, 1.0, 2.0, 3.0, 4.0]),
                         current=Histogram([2, 10, 40, 48], edges=[0.0, 1.0, 2.0, 3.0, 4.0])),
            FeatureDrift(view, "y", 0.01, 0.005, 0.0, 0.01, 500, 400,
                         reference=Histogram([5, 5], categories=["a", "b"]),
                         current=Histogram([6, 4], categories=["a", "b"])),
        ],
        consistency=[FeatureConsistency(view, "x", rows, matched, rows - matched, 0, 0.0)],
        freshness=[ViewFreshness(view, iso(at - timedelta(seconds=age_s)), age_s, 600.0)],
        breaches=breaches,
    )


def write_report(data_dir: Path, report: MonitorReport, *, age_s: float = 0.0) -> Path:
    """Persist `report` as `<data_dir>/monitoring/runs/<run_id>.json`, its mtime `age_s` ago."""
    directory = runs_dir(data_dir)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{report.run_id}.json"
    path.write_text(json.dumps(report.to_dict()))
    stamp = datetime.now(UTC).timestamp() - age_s
    os.utime(path, (stamp, stamp))
    return path
