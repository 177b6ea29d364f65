"""`/monitoring/...` and the monitoring gauges of `/metrics` on the real app, over persisted runs;
the shipped Prometheus rules name only exported metrics (and fire on them, via promtool)."""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import redis
import yaml
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from featurebank.monitoring.store import runs_dir
from featurebank.monitoring.thresholds import FeatureThresholds
from tests.integration.monitoring.monitor_api_support import (  # noqa: F401 - *_fixture: fixtures
    ADMIN,
    READER,
    VIEW,
    MonitorRepo,
    client_fixture,
    no_runs_fixture,
    repo_fixture,
)
from tests.support.monitor_reports import sample_report, write_report

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("no_runs")]

RULES = Path(__file__).resolve().parents[3] / "deploy" / "prometheus" / "featurebank-alerts.yml"


def samples(client: TestClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = client.get("/metrics").text
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples
            if s.name.startswith(("featurebank_feature_", "featurebank_view_",
                                  "featurebank_monitor_"))}


def persist_two_runs(repo: MonitorRepo) -> None:
    now = datetime.now(UTC)
    write_report(repo.data, sample_report("20260101T000000Z-aaaaaa", VIEW, shifted_psi=0.05,
                                          at=now - timedelta(minutes=5)), age_s=300)
    write_report(repo.data, sample_report("20260101T000500Z-bbbbbb", VIEW, shifted_psi=0.6,
                                          at=now, match_rate_rows=(200, 190)), age_s=0)
    (runs_dir(repo.data) / "20260101T001000Z-cccccc.json").write_text('{"run_id": "20')


def test_before_any_run(client: TestClient) -> None:
    body = client.get("/monitoring/summary").json()
    assert body["latest"] is None
    assert body["breaches"] == []
    assert body["job"]["enabled"] is False  # FEATUREBANK_MONITOR_INTERVAL_S=0
    assert client.get("/monitoring/runs").json() == {"runs": []}
    values = samples(client)
    assert values[("featurebank_monitor_breaches", (("kind", "drift"),))] == 0
    assert not any(name == "featurebank_feature_psi" for name, _ in values)


def test_summary_lists_and_details_skip_a_half_written_run(
        client: TestClient, repo: MonitorRepo) -> None:
    persist_two_runs(repo)
    body = client.get("/monitoring/summary").json()
    assert body["latest"]["run_id"] == "20260101T000500Z-bbbbbb"
    assert body["latest"]["breaches_by_kind"] == {"drift": 1}
    assert [b["key"] for b in body["breaches"]] == ["drift:orders:x:psi"]
    runs = client.get("/monitoring/runs").json()["runs"]
    assert [r["run_id"] for r in runs] == ["20260101T000500Z-bbbbbb", "20260101T000000Z-aaaaaa"]
    detail = client.get("/monitoring/runs/20260101T000500Z-bbbbbb").json()
    assert detail["drift"][0]["reference"]["edges"] == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert detail["consistency"][0]["match_rate"] == 0.95
    assert detail["breaches"][0]["key"] == "drift:orders:x:psi"


def test_an_absent_or_malformed_run_id_is_named(client: TestClient, repo: MonitorRepo) -> None:
    persist_two_runs(repo)
    missing = client.get("/monitoring/runs/20990101T000000Z-ffffff")
    assert missing.status_code == 404
    assert "20990101T000000Z-ffffff" in missing.json()["error"]["message"]
    broken = client.get("/monitoring/runs/20260101T001000Z-cccccc")
    assert broken.status_code == 404
    assert "unreadable" in broken.json()["error"]["message"]
    bad = client.get("/monitoring/runs/..%2Fsecrets")
    assert bad.status_code in (404, 422)
    assert client.get("/monitoring/runs/bad id!").status_code == 422


def test_view_history_oldest_first_and_unknown_view_named(
        client: TestClient, repo: MonitorRepo) -> None:
    persist_two_runs(repo)
    body = client.get(f"/monitoring/views/{VIEW}").json()
    assert [p["psi"] for p in body["series"]["drift"]["x"]] == [0.05, 0.6]
    assert [p["match_rate"] for p in body["series"]["consistency"]["x"]] == [1.0, 0.95]
    assert body["latest"]["freshness"]["threshold_s"] == 600.0
    assert body["latest"]["drift"][1]["current"]["categories"] == ["a", "b"]
    unknown = client.get("/monitoring/views/ordres")
    assert unknown.status_code == 422
    error = unknown.json()["error"]
    assert error["code"] == "unknown_name"
    assert "'ordres'" in error["message"]
    assert "orders" in error["message"]  # the suggestion


def test_metrics_export_the_latest_run(client: TestClient, repo: MonitorRepo) -> None:
    persist_two_runs(repo)
    values = samples(client)
    assert values[("featurebank_feature_psi", (("feature", "x"), ("view", VIEW)))] == 0.6
    assert values[("featurebank_feature_psi", (("feature", "y"), ("view", VIEW)))] == 0.01
    assert values[("featurebank_feature_js", (("feature", "x"), ("view", VIEW)))] == 0.15
    assert values[("featurebank_feature_match_rate", (("feature", "x"), ("view", VIEW)))] == 0.95
    assert values[("featurebank_view_freshness_seconds", (("view", VIEW),))] == 30.0
    assert values[("featurebank_view_freshness_threshold_seconds", (("view", VIEW),))] == 600.0
    assert values[("featurebank_monitor_breaches", (("kind", "drift"),))] == 1
    assert values[("featurebank_monitor_breaches", (("kind", "consistency"),))] == 0
    stamp = values[("featurebank_monitor_last_run_timestamp_seconds", ())]
    assert abs(stamp - time.time()) < 120


def _rule_metrics() -> dict[str, str]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return {rule["alert"]: rule["expr"] for group in groups for rule in group["rules"]}


def test_rules_name_only_exported_metrics_with_the_default_thresholds(
        client: TestClient, repo: MonitorRepo) -> None:
    persist_two_runs(repo)
    exported = {name for name, _ in samples(client)}
    rules = _rule_metrics()
    named = {m for expr in rules.values() for m in re.findall(r"featurebank_[a-z_]+", expr)}
    assert named
    assert named <= exported, named - exported
    defaults = FeatureThresholds()
    assert f"> {defaults.psi_max}" in rules["FeatureBankFeatureDrift"]
    assert f"< {defaults.match_min}" in rules["FeatureBankOnlineOfflineMismatch"]
    assert "featurebank_view_freshness_threshold_seconds" in rules["FeatureBankViewStale"]


def _series(client: TestClient) -> list[dict[str, str]]:
    out = []
    for (name, labels), value in samples(client).items():
        selector = ",".join(f'{k}="{v}"' for k, v in labels)
        out.append({"series": f"{name}{{{selector}}}", "values": f"{value}x10"})
    return out


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool (Debian: prometheus)")
def test_promtool_accepts_the_rules_and_they_fire_on_our_metrics(
        client: TestClient, repo: MonitorRepo, tmp_path: Path) -> None:
    persist_two_runs(repo)
    checked = subprocess.run(["promtool", "check", "rules", str(RULES)], capture_output=True,
                             text=True, check=False)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    stale = [{"series": f'featurebank_view_freshness_seconds{{view="{VIEW}"}}',
              "values": "900x10"}]
    bare = yaml.safe_load(RULES.read_text())  # annotations are checked above, not compared here
    for group in bare["groups"]:
        for rule in group["rules"]:
            rule.pop("annotations", None)
    rules = tmp_path / "rules.yml"
    rules.write_text(yaml.safe_dump(bare))
    cases = {
        "rule_files": [str(rules)],
        "evaluation_interval": "1m",
        "tests": [
            {"interval": "1m", "input_series": _series(client),
             "alert_rule_test": [
                 {"eval_time": "2m", "alertname": "FeatureBankFeatureDrift",
                  "exp_alerts": [{"exp_labels": {"severity": "warning", "view": VIEW,
                                                 "feature": "x"}}]},
                 {"eval_time": "2m", "alertname": "FeatureBankOnlineOfflineMismatch",
                  "exp_alerts": [{"exp_labels": {"severity": "warning", "view": VIEW,
                                                 "feature": "x"}}]},
                 {"eval_time": "2m", "alertname": "FeatureBankViewStale", "exp_alerts": []},
             ]},
            {"interval": "1m",
             "input_series": [s for s in _series(client)
                              if not s["series"].startswith("featurebank_view_freshness_sec")]
             + stale,
             "alert_rule_test": [{"eval_time": "2m", "alertname": "FeatureBankViewStale",
                                  "exp_alerts": [{"exp_labels": {"severity": "warning",
                                                                 "view": VIEW}}]}]},
        ],
    }
    path = tmp_path / "tests.yml"
    path.write_text(yaml.safe_dump(cases))
    tested = subprocess.run(["promtool", "test", "rules", str(path)], capture_output=True,
                            text=True, check=False)
    assert tested.returncode == 0, tested.stdout + tested.stderr


def test_trigger_needs_admin_and_runs_the_real_computation(
        client: TestClient, repo: MonitorRepo) -> None:
    assert client.post("/monitoring/run").status_code == 401
    assert client.post("/monitoring/run", headers=READER).status_code == 403
    started = client.post("/monitoring/run", headers=ADMIN)
    assert started.status_code == 202
    assert started.json()["status"] == "started"
    deadline = time.monotonic() + 120
    job = client.get("/monitoring/summary").json()["job"]
    while job["last_run_id"] is None and job["last_error"] is None:
        assert time.monotonic() < deadline, job
        time.sleep(0.2)
        job = client.get("/monitoring/summary").json()["job"]
    assert job["last_error"] is None
    run = client.get(f"/monitoring/runs/{job['last_run_id']}").json()
    psi = {d["feature"]: d["psi"] for d in run["drift"] if d["view"] == VIEW}
    assert psi["x"] > 0.2  # shifted by 1.5 sd in the window
    assert psi["y"] < 0.2
    assert "drift:orders:x:psi" in {b["key"] for b in run["breaches"]}


def test_trigger_while_another_replica_runs_is_a_conflict(
        client: TestClient, repo: MonitorRepo, redis_client: redis.Redis) -> None:
    lock = f"featurebank:monitor:{repo.project}:running"
    redis_client.set(lock, "other-replica", px=30_000)
    try:
        answer = client.post("/monitoring/run", headers=ADMIN)
    finally:
        redis_client.delete(lock)
    assert answer.status_code == 409
    assert "already in progress" in answer.json()["error"]["message"]


def test_an_unreadable_runs_directory_is_a_503_and_metrics_stay_up(
        client: TestClient, repo: MonitorRepo) -> None:
    runs = runs_dir(repo.data)
    runs.parent.mkdir(parents=True, exist_ok=True)
    runs.write_text("not a directory")
    try:
        for path in ("/monitoring/summary", "/monitoring/runs", f"/monitoring/views/{VIEW}"):
            answer = client.get(path)
            assert answer.status_code == 503, path
            assert "monitoring runs directory" in answer.json()["error"]["message"]
        assert client.get("/metrics").status_code == 200
        assert client.get(f"/ui/feature-views/{VIEW}").status_code == 200
    finally:
        runs.unlink()
