"""Must-show: a 1-sd shift in one feature crosses its PSI threshold and is a breach in the run
of the window it happened in; the unshifted features stay under."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from featurebank.monitoring.log_layout import FieldStatus
from featurebank.monitoring.report import FeatureDrift
from featurebank.monitoring.run import run_monitoring
from featurebank.monitoring.store import runs_dir
from tests.integration.monitoring.monitoring_repo import (  # noqa: F401 - *_fixture: fixtures
    ACTIVITY_TYPES,
    MonitoringRepo,
    activity_table,
    monitoring_repo_fixture,
    payments_table,
)

pytestmark = pytest.mark.integration

NOW = datetime(2026, 1, 10, 12, 0, tzinfo=UTC)
WINDOW = timedelta(hours=1)
USERS = 200


def _activity(rng: np.random.Generator, n: int, start: datetime, span: timedelta,
              amount_mean: float = 100.0) -> list[dict[str, object]]:
    seconds = rng.uniform(0, span.total_seconds(), n)
    return [{"user_id": int(rng.integers(1, USERS + 1)),
             "amount": float(rng.normal(amount_mean, 20.0)),
             "clicks": int(rng.poisson(5)),
             "segment": str(rng.choice(["a", "b", "c"], p=[0.5, 0.3, 0.2])),
             "flag": bool(rng.random() < 0.3),
             "ts": start + timedelta(seconds=float(s))} for s in seconds]


def _payments(rng: np.random.Generator, n: int, start: datetime, span: timedelta,
              mean: float) -> list[tuple[int, datetime, float]]:
    return [(int(rng.integers(1, 21)), start + timedelta(seconds=float(s)),
             float(rng.normal(mean, 10.0)))
            for s in rng.uniform(0, span.total_seconds(), n)]


def _by_feature(report_drift: list[FeatureDrift]) -> dict[str, FeatureDrift]:
    return {f"{d.view}:{d.feature}": d for d in report_drift}


def test_stream_shift_breaches_psi_and_others_stay_under(monitoring_repo: MonitoringRepo) -> None:
    """History only (no served logs): the detection window is recent history, aggregations
    of the stream view are recomputed at each event time from its raw events."""
    rng = np.random.default_rng(11)
    start = NOW - WINDOW
    reference_start = start - timedelta(days=1)
    monitoring_repo.write_history("activity", activity_table(
        _activity(rng, 3000, reference_start, timedelta(days=1))
        + _activity(rng, 3000, start, WINDOW)))
    # The stream: spend ~ N(50, 10) for a day, then its mean moves by 1 sd in the last hour.
    monitoring_repo.write_history("payments", payments_table(
        _payments(rng, 4000, reference_start, timedelta(days=1), 50.0)))
    monitoring_repo.write_history("payments", payments_table(
        _payments(rng, 4000, start, WINDOW, 60.0)), name="part-1.parquet")

    report = run_monitoring(monitoring_repo.settings, window=WINDOW, now=NOW,
                            reference=f"history:{reference_start.isoformat()}/{start.isoformat()}",
                            definitions=monitoring_repo.definitions)

    drift = _by_feature(report.drift)
    shifted = drift["spend_windows:sum_spend_3600s"]
    print({k: (d.psi, d.js, d.rows_reference, d.rows_current) for k, d in drift.items()})
    assert shifted.psi is not None
    assert shifted.psi > 0.2, shifted
    breached = {(b.view, b.feature, b.metric) for b in report.breaches if b.kind == "drift"}
    assert ("spend_windows", "sum_spend_3600s", "psi") in breached
    for name in ("activity:amount", "activity:clicks", "activity:segment", "activity:flag"):
        entry = drift[name]
        assert entry.psi is not None
        assert entry.psi < 0.05, entry
        assert entry.rows_current > 2500
    assert {b.feature for b in report.breaches if b.kind in ("drift", "null_rate")} == {
        "sum_spend_3600s"}
    saved = json.loads((runs_dir(monitoring_repo.data) / f"{report.run_id}.json").read_text())
    assert saved["breaches"][0]["feature"] == "sum_spend_3600s"


def test_served_shift_breaches_psi_and_others_stay_under(monitoring_repo: MonitoringRepo) -> None:
    """Served logs are the detection window when there are any: one served feature's mean
    moves by 1 sd against the reference history; the others keep their distribution."""
    rng = np.random.default_rng(5)
    start = NOW - WINDOW
    reference_start = start - timedelta(days=1)
    monitoring_repo.write_history("activity", activity_table(
        _activity(rng, 4000, reference_start, timedelta(days=1))))
    requests = []
    for row in _activity(rng, 4000, start, WINDOW, amount_mean=120.0):
        at = row["ts"]
        assert isinstance(at, datetime)
        event = at - timedelta(minutes=5)
        requests.append({"user_id": row["user_id"], "at": at, **{
            ("activity", name): (row[name], event, FieldStatus.PRESENT)
            for name in ACTIVITY_TYPES}})
    monitoring_repo.write_logs(requests, {("activity", n): t for n, t in ACTIVITY_TYPES.items()})

    report = run_monitoring(monitoring_repo.settings, window=WINDOW, now=NOW,
                            reference=f"history:{reference_start.isoformat()}/{start.isoformat()}",
                            definitions=monitoring_repo.definitions, parts=("drift", "freshness"))

    drift = _by_feature(report.drift)
    amount = drift["activity:amount"]
    assert amount.rows_current == 4000
    print({k: (d.psi, d.js, d.rows_reference, d.rows_current) for k, d in drift.items()})
    assert amount.psi is not None
    assert amount.psi > 0.2
    assert ("drift", "activity", "amount", "psi") in {
        (b.kind, b.view, b.feature, b.metric) for b in report.breaches}
    for name in ("activity:clicks", "activity:segment", "activity:flag"):
        psi = drift[name].psi
        assert psi is not None
        assert psi < 0.05, drift[name]
    assert {b.feature for b in report.breaches if b.kind == "drift"} == {"amount"}
    histogram = amount.reference
    assert histogram is not None
    assert histogram.edges is not None
    assert len(histogram.edges) == len(histogram.counts) + 1 == 11
    assert sum(histogram.counts) == 4000
    segment = drift["activity:segment"].reference
    assert segment is not None
    assert segment.categories == ["a", "b", "c", "(other)"]
    # Served event times are 5 minutes behind requests: fresh under the view's 30m tag.
    fresh = {f.view: f for f in report.freshness}["activity"]
    assert fresh.age_s is not None
    assert fresh.age_s < 30 * 60
    assert fresh.threshold_s == 1800
