"""Persisted runs are read newest first; broken or foreign files are skipped, not fatal."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest

from featurebank.errors import InvalidInput, NotFound
from featurebank.monitoring.gauges import MonitoringCollector, report_families
from featurebank.monitoring.store import ReportStore, report_from_dict, runs_dir, view_history
from tests.support.monitor_reports import sample_report, write_report


def test_round_trip_keeps_nested_shapes() -> None:
    report = sample_report("run-1", "orders", shifted_psi=0.6)
    assert report_from_dict(report.to_dict()) == report


@pytest.mark.parametrize(("mutate", "problem"), [
    (lambda d: d.pop("run_id"), "run_id"),
    (lambda d: d.update(drift="nope"), "report.drift: expected a list"),
    (lambda d: d["drift"][0].update(surprise=1), "report.drift[0]"),
    (lambda d: d.update(run_id="../etc"), "is not a run id"),
])
def test_a_malformed_report_names_the_bad_part(mutate: object, problem: str) -> None:
    data = sample_report("run-1", "orders").to_dict()
    mutate(data)  # type: ignore[operator]
    with pytest.raises(InvalidInput, match=problem.replace("[", r"\[").replace("]", r"\]")):
        report_from_dict(data)


def test_latest_and_history_skip_half_written_and_foreign_files(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    write_report(tmp_path, sample_report("run-1", "orders", shifted_psi=0.1), age_s=30)
    write_report(tmp_path, sample_report("run-2", "orders", shifted_psi=0.6), age_s=20)
    directory = runs_dir(tmp_path)
    (directory / "run-3.json").write_text('{"run_id": "run-3", "drift": [')  # crash mid-write
    (directory / "notes.json").write_text('["something else"]')
    (directory / ".run-4.json.tmp").write_text("{")
    store = ReportStore(tmp_path)
    with caplog.at_level(logging.WARNING, logger="featurebank.monitoring"):
        runs = store.runs()
    assert [r.run_id for r in runs] == ["run-2", "run-1"]
    assert store.latest() == runs[0]
    assert "run-3.json" in caplog.text
    assert "notes.json" in caplog.text
    history = view_history(runs, "orders")
    assert [p["psi"] for p in history["series"]["drift"]["x"]] == [0.1, 0.6]  # oldest first
    assert history["latest"]["run_id"] == "run-2"
    assert history["latest"]["breaches"][0]["key"] == "drift:orders:x:psi"
    assert history["latest"]["drift"][0]["reference"]["counts"] == [10, 40, 40, 10]
    assert history["series"]["consistency"]["x"][0]["match_rate"] == 1.0


def test_get_by_id_refuses_paths_and_reports_absent_runs(tmp_path: Path) -> None:
    write_report(tmp_path, sample_report("run-1", "orders"))
    store = ReportStore(tmp_path)
    assert store.get("run-1").run_id == "run-1"
    with pytest.raises(InvalidInput, match="not a run id"):
        store.get("../secrets")
    with pytest.raises(NotFound, match="run-9"):
        store.get("run-9")


def test_no_directory_yet_means_no_runs(tmp_path: Path) -> None:
    assert ReportStore(tmp_path / "absent").latest() is None


def test_gauges_from_a_report_and_before_any_run() -> None:
    report = sample_report("run-1", "orders", shifted_psi=0.6, match_rate_rows=(200, 190))
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for family in report_families(report) for s in family.samples}
    assert samples[("featurebank_feature_psi", (("feature", "x"), ("view", "orders")))] == 0.6
    assert samples[("featurebank_feature_match_rate",
                    (("feature", "x"), ("view", "orders")))] == 0.95
    assert samples[("featurebank_view_freshness_threshold_seconds", (("view", "orders"),))] == 600
    assert samples[("featurebank_monitor_breaches", (("kind", "drift"),))] == 1
    assert samples[("featurebank_monitor_breaches", (("kind", "freshness"),))] == 0
    empty = {s.name: s.value for family in report_families(None) for s in family.samples}
    assert empty == {"featurebank_monitor_breaches": 0}


@pytest.mark.parametrize(("path", "value", "problem"), [
    (("drift", 0, "psi"), "high", "report.drift[0].psi: 'high' is not float | None"),
    (("drift", 0, "reference", "counts"), [1, "2"], "report.drift[0].reference.counts"),
    (("freshness", 0, "threshold_s"), None, "report.freshness[0].threshold_s"),
    (("breaches", 0, "value"), True, "report.breaches[0].value"),
    (("generated_at",), 17, "report.generated_at"),
])
def test_a_run_with_wrong_types_is_skipped_so_metrics_keep_working(
        tmp_path: Path, path: tuple[object, ...], value: object, problem: str) -> None:
    write_report(tmp_path, sample_report("run-1", "orders", shifted_psi=0.6), age_s=10)
    data = sample_report("run-2", "orders", shifted_psi=0.6).to_dict()
    target: Any = data
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    with pytest.raises(InvalidInput) as caught:
        report_from_dict(data)
    assert caught.value.message.startswith(problem)
    (runs_dir(tmp_path) / "run-2.json").write_text(json.dumps(data))
    latest = ReportStore(tmp_path).latest()
    assert latest is not None
    assert latest.run_id == "run-1"
    assert report_families(latest)  # a scrape does arithmetic on every value


def test_gauges_survive_an_unreadable_runs_directory(tmp_path: Path) -> None:
    runs = runs_dir(tmp_path)
    runs.parent.mkdir(parents=True)
    runs.write_text("not a directory")
    families = list(MonitoringCollector(ReportStore(tmp_path).latest).collect())
    assert {f.name for f in families} >= {"featurebank_feature_psi",
                                          "featurebank_monitor_breaches"}
