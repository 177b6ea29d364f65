"""How the served-age freshness reaches readers: saved runs (old and new), the panel, the gauge."""

from __future__ import annotations

from dataclasses import asdict

from featurebank.monitoring.gauges import report_families
from featurebank.monitoring.report import MonitorReport, ViewFreshness
from featurebank.monitoring.store import report_from_dict, view_history
from server.routes.monitoring import panel_context
from server.routes.ui import templates

SERVED = ViewFreshness(view="orders", newest_event="2026-01-01T00:59:00Z", age_s=75.0,
                       threshold_s=900.0, basis="served", served_lookups=40, age_p95_s=75.0,
                       age_last_s=12.0, last_lookup="2026-01-01T00:59:30Z")
WRITTEN = ViewFreshness(view="orders", newest_event="2026-01-01T00:10:00Z", age_s=3000.0,
                        threshold_s=900.0, basis="written", served_lookups=0)


def _report(freshness: ViewFreshness) -> MonitorReport:
    return MonitorReport(run_id="20260101T010000Z-abcdef", generated_at="2026-01-01T01:00:01Z",
                         window_start="2026-01-01T00:00:00Z", window_end="2026-01-01T01:00:00Z",
                         reference="history:x/y", freshness=[freshness])


def _panel(freshness: ViewFreshness) -> str:
    context = panel_context(view_history([_report(freshness)], "orders"))
    html: str = templates.get_template("monitoring_panel.html").render(monitoring=context,
                                                                       v={"name": "orders"})
    return " ".join(html.split())


def test_runs_saved_before_the_served_age_fields_still_load() -> None:
    old = _report(SERVED).to_dict()
    old["freshness"] = [{"view": "orders", "newest_event": "2026-01-01T00:59:00Z",
                         "age_s": 60.0, "threshold_s": 900.0}]
    loaded = report_from_dict(old).freshness[0]
    assert (loaded.age_s, loaded.basis, loaded.age_last_s) == (60.0, None, None)
    assert report_from_dict(_report(SERVED).to_dict()).freshness[0] == SERVED
    assert asdict(SERVED)["age_p95_s"] == 75.0


def test_panel_says_what_the_age_is() -> None:
    served = _panel(SERVED)
    assert 'class="badge fresh">1.2m old</span>' in served
    assert "p95 age of 40 served values at request time" in served
    assert "2026-01-01T00:59:30Z, saw 12s" in served
    written = _panel(WRITTEN)
    assert 'class="badge stale">' in written
    assert "nothing served in the window" in written
    assert "p95" not in written


def test_freshness_gauge_help_names_the_served_p95() -> None:
    family = {f.name: f for f in report_families(_report(SERVED))}
    gauge = family["featurebank_view_freshness_seconds"]
    assert [s.value for s in gauge.samples] == [75.0]
    assert "p95 of served values' age at request time" in gauge.documentation


def test_the_last_lookup_age_is_a_gauge_of_served_views_only() -> None:
    served = {f.name: f for f in report_families(_report(SERVED))}
    gauge = served["featurebank_view_freshness_last_lookup_seconds"]
    assert [(s.labels, s.value) for s in gauge.samples] == [({"view": "orders"}, 12.0)]
    written = {f.name: f for f in report_families(_report(WRITTEN))}
    assert written["featurebank_view_freshness_last_lookup_seconds"].samples == []
