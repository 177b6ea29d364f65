"""`featurebank monitor`: exit codes, persisted runs, references, and bad input named."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import redis
from typer.testing import CliRunner

from featurebank.cli.main import app
from featurebank.freshness import advance_watermarks
from featurebank.monitoring.log_layout import FieldStatus
from featurebank.monitoring.store import runs_dir
from featurebank.settings import Settings
from featurebank.training import manifest as manifests
from featurebank.training.features import select_features
from featurebank.training.jobs import job_dir
from featurebank.training.spine import as_table, prepare_spine
from tests.integration.monitoring.monitoring_repo import (
    ACTIVITY_TYPES,
    MonitoringRepo,
    activity_table,
    build_monitoring_repo,
)

pytestmark = pytest.mark.integration
SET_ID = "c" * 32


@pytest.fixture
def repo(tmp_path: Path, settings_factory: Callable[..., Settings], unique_name: str,
         monkeypatch: pytest.MonkeyPatch, redis_url: str) -> MonitoringRepo:
    built = build_monitoring_repo(tmp_path, settings_factory, unique_name)
    monkeypatch.setenv("FEATUREBANK_REPO", str(built.settings.repo))
    monkeypatch.setenv("FEATUREBANK_DATA_DIR", str(built.settings.data_dir))
    monkeypatch.setenv("REDIS_URL", redis_url)
    return built


def _fill(repo: MonitoringRepo, now: datetime, skewed: int = 0) -> None:
    """History, a row a minute up to 35 minutes ago, then each user's latest row every 6 s up
    to 15 minutes ago; 200 requests 10 minutes ago served what history says (at most 25 minutes
    old at request time: fresh under the 30m tag), except `skewed` of them."""
    rng = np.random.default_rng(2)
    rows: list[dict[str, Any]] = []
    for i in range(1000):
        rows.append({"user_id": i % 200, "amount": float(rng.normal(10, 2)),
                     "clicks": int(rng.poisson(3)), "segment": ["a", "b"][i % 2],
                     "flag": i % 3 == 0,
                     "ts": now - timedelta(minutes=15) - (
                         timedelta(seconds=6 * (999 - i)) if i >= 800
                         else timedelta(minutes=20 + 799 - i))})
    repo.write_history("activity", activity_table(rows))
    latest = {r["user_id"]: r for r in rows}  # rows are in time order: the last one wins
    requests = []
    for user, row in latest.items():
        at = now - timedelta(minutes=10)
        cells = {("activity", n): (row[n], row["ts"], FieldStatus.PRESENT)
                 for n in ACTIVITY_TYPES}
        if user < skewed:
            cells[("activity", "amount")] = (row["amount"] + 1, row["ts"], FieldStatus.PRESENT)
        requests.append({"user_id": user, "at": at, **cells})
    repo.write_logs(requests, {("activity", n): t for n, t in ACTIVITY_TYPES.items()})


def test_run_saves_reports_and_keeps_the_newest(repo: MonitoringRepo) -> None:
    _fill(repo, datetime.now(UTC))
    runner = CliRunner()
    for _ in range(3):
        result = runner.invoke(app, ["monitor", "run", "--window", "1h", "--keep", "2"])
        assert result.exit_code == 0, result.output
    saved = sorted(runs_dir(repo.data).glob("*.json"))
    assert len(saved) == 2
    report = json.loads(saved[-1].read_text())
    amount = next(c for c in report["consistency"] if c["feature"] == "amount")
    assert (amount["rows"], amount["matched"]) == (200, 200)
    assert {d["feature"] for d in report["drift"]} >= set(ACTIVITY_TYPES)
    assert report["breaches"] == []
    assert report["reference"].startswith("history:")


def test_consistency_breach_exits_3_and_is_not_saved(repo: MonitoringRepo) -> None:
    _fill(repo, datetime.now(UTC), skewed=5)
    result = CliRunner().invoke(app, ["monitor", "consistency", "--window", "2h"])
    assert result.exit_code == 3, result.output
    assert "activity:amount served values match history in 97.50% of 200 rows" in result.output
    assert not runs_dir(repo.data).exists() or not list(runs_dir(repo.data).glob("*.json"))


def test_drift_against_a_training_set(repo: MonitoringRepo) -> None:
    now = datetime.now(UTC)
    _fill(repo, now)
    selection = select_features(repo.definitions, features=[
        "activity:amount", "activity:segment"])
    spine = prepare_spine(as_table({
        "user_id": list(range(200)),
        "event_timestamp": [now - timedelta(hours=1)] * 200}), selection, max_rows=1000)
    manifests.build(job_dir(repo.data, SET_ID), SET_ID, repo.definitions, selection, spine,
                    timestamp_column="event_timestamp")
    result = CliRunner().invoke(app, ["monitor", "drift", "--reference",
                                      f"training-set:{SET_ID}"], terminal_width=200)
    assert result.exit_code == 0, result.output
    assert f"vs training-set:{SET_ID}" in result.output
    assert "activity:amount" in result.output
    assert "activity:clicks" not in result.output  # not in the training set: no reference


@pytest.mark.parametrize(("args", "message"), [
    (["monitor", "run", "--window", "soon"], "window: 'soon' is not a duration"),
    (["monitor", "drift", "--reference", "yesterday"], "reference 'yesterday' must be"),
    (["monitor", "drift", "--reference", "history:2024-01-02/2024-01-01"],
     "start must be before end"),
    (["monitor", "drift", "--reference", "history:then/now"], "reference start 'then'"),
    (["monitor", "drift", "--reference", "training-set:" + "d" * 32], "no manifest.json"),
])
def test_bad_input_is_named(repo: MonitoringRepo, args: list[str], message: str) -> None:
    result = CliRunner().invoke(app, args, terminal_width=200)
    assert result.exit_code == 2, result.output
    assert message in result.output


def test_freshness_falls_back_to_the_redis_watermark(repo: MonitoringRepo,
                                                     redis_client: redis.Redis) -> None:
    """A view nobody looked up is judged by the newest event written online."""
    now = datetime.now(UTC)
    _fill(repo, now)  # activity served values at most 25 minutes old: fresh under its 30m tag
    advance_watermarks(redis_client, repo.definitions.project,
                       {"spend_windows": (now - timedelta(days=2)).timestamp()})
    result = CliRunner().invoke(app, ["monitor", "run"], terminal_width=200)
    assert result.exit_code == 3, result.output
    report = json.loads(next(runs_dir(repo.data).glob("*.json")).read_text())
    fresh = {f["view"]: f for f in report["freshness"]}
    assert fresh["spend_windows"]["age_s"] == pytest.approx(2 * 86400, abs=120)
    assert fresh["spend_windows"]["threshold_s"] == 86400  # its TTL: no tag
    assert fresh["activity"]["age_s"] < 1800
    assert [(b["kind"], b["view"]) for b in report["breaches"]] == [("freshness", "spend_windows")]
