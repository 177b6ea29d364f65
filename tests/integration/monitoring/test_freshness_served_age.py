"""Freshness is the age each served value had at its request time, judged on the p95.

The acceptance defect: a view with a short SLA looked up once early in a 1 h window was reported
stale (age measured at the window's end) although every value it served was fresh, and Redis
held fresh data; and a view that served stale values passed once one fresh value came last.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import redis
from typer.testing import CliRunner

from featurebank.cli.main import app
from featurebank.freshness import advance_watermarks
from featurebank.monitoring.log_layout import FieldStatus
from featurebank.monitoring.report import MonitorReport, ViewFreshness
from featurebank.monitoring.run import run_monitoring
from featurebank.settings import Settings
from tests.integration.monitoring.monitoring_repo import (
    ACTIVITY_TYPES,
    MonitoringRepo,
    build_monitoring_repo,
)

pytestmark = pytest.mark.integration

WINDOW = timedelta(hours=1)
SLA_S = 1800.0  # activity's `monitor.freshness_max` tag: 30m


@pytest.fixture
def repo(tmp_path: Path, settings_factory: Callable[..., Settings],
         unique_name: str) -> MonitoringRepo:
    return build_monitoring_repo(tmp_path, settings_factory, unique_name)


def _lookups(repo: MonitoringRepo, served: list[tuple[int, datetime, datetime]]) -> None:
    """One logged lookup of every activity feature per (user, request time, event time)."""
    requests = [{"user_id": user, "at": at, **{
        ("activity", name): (None, event, FieldStatus.PRESENT) for name in ACTIVITY_TYPES}}
        for user, at, event in served]
    repo.write_logs(requests, {("activity", n): t for n, t in ACTIVITY_TYPES.items()})


def _run(repo: MonitoringRepo, now: datetime) -> MonitorReport:
    return run_monitoring(repo.settings, window=WINDOW, now=now, parts=("freshness",),
                          definitions=repo.definitions, save=False)


def _activity(report: MonitorReport) -> ViewFreshness:
    return {f.view: f for f in report.freshness}["activity"]


def test_an_early_lookup_of_fresh_values_is_no_breach(repo: MonitoringRepo,
                                                      redis_client: redis.Redis) -> None:
    now = datetime.now(UTC)
    early = now - timedelta(minutes=55)
    _lookups(repo, [(user, early, early - timedelta(seconds=60)) for user in range(20)])
    advance_watermarks(redis_client, repo.definitions.project,
                       {"activity": (now - timedelta(seconds=5)).timestamp()})

    report = _run(repo, now)

    fresh = _activity(report)
    assert fresh.basis == "served"
    assert fresh.served_lookups == 20
    assert fresh.age_s == pytest.approx(60.0)
    assert fresh.age_p95_s == pytest.approx(60.0)
    assert fresh.age_last_s == pytest.approx(60.0)
    assert fresh.last_lookup is not None
    assert fresh.last_lookup.startswith(f"{early:%Y-%m-%dT%H:%M}")
    assert [b for b in report.breaches if b.view == "activity"] == []


def test_stale_values_served_breach_even_when_a_fresh_one_came_last(
        repo: MonitoringRepo) -> None:
    now = datetime.now(UTC)
    stale = [(user, now - timedelta(minutes=50) + timedelta(seconds=user),
              now - timedelta(minutes=90)) for user in range(40)]
    last = now - timedelta(seconds=10)
    _lookups(repo, [*stale, (99, last, last - timedelta(seconds=10))])

    report = _run(repo, now)

    fresh = _activity(report)
    assert fresh.basis == "served"
    assert fresh.served_lookups == 41
    assert fresh.age_s is not None
    assert fresh.age_s > SLA_S
    assert fresh.age_last_s == pytest.approx(10.0)
    breaches = [b for b in report.breaches if b.view == "activity"]
    assert [(b.kind, b.metric) for b in breaches] == [("freshness", "age_s")]
    assert breaches[0].value == fresh.age_s
    assert "p95 age at request time" in breaches[0].message
    assert "41 lookups" in breaches[0].message


def test_an_unserved_view_is_judged_by_its_watermark(repo: MonitoringRepo,
                                                     redis_client: redis.Redis) -> None:
    now = datetime.now(UTC)
    advance_watermarks(redis_client, repo.definitions.project,
                       {"spend_windows": (now - timedelta(days=2)).timestamp()})

    report = _run(repo, now)

    spend = {f.view: f for f in report.freshness}["spend_windows"]
    assert spend.basis == "written"
    assert spend.served_lookups == 0
    assert spend.age_s == pytest.approx(2 * 86400, abs=5)
    assert [(b.kind, b.view) for b in report.breaches] == [("freshness", "spend_windows")]
    assert _activity(report).age_s is None  # neither served nor written: no age, no breach


def test_cli_prints_what_the_age_was_judged_on(repo: MonitoringRepo,
                                               monkeypatch: pytest.MonkeyPatch,
                                               redis_url: str) -> None:
    monkeypatch.setenv("FEATUREBANK_REPO", str(repo.settings.repo))
    monkeypatch.setenv("FEATUREBANK_DATA_DIR", str(repo.settings.data_dir))
    monkeypatch.setenv("REDIS_URL", redis_url)
    now = datetime.now(UTC)
    at = now - timedelta(minutes=5)
    _lookups(repo, [(user, at, at - timedelta(seconds=90)) for user in range(8)])

    result = CliRunner().invoke(app, ["monitor", "run"], terminal_width=200)

    assert result.exit_code == 0, result.output
    rows = [[cell.strip() for cell in line.split("│")[1:7]]
            for line in result.output.splitlines() if line.count("│") > 7]
    assert ["activity", "served", "8", "90", "90", "1800"] in rows
