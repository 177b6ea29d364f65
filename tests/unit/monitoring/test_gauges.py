"""The JS gauge exports the divergence the run computed (bits, in [0, 1]); its help must say so,
since a dashboard reader who takes it for the distance (its square root) misreads every value."""

from __future__ import annotations

from featurebank.monitoring.gauges import report_families
from featurebank.monitoring.report import FeatureDrift, MonitorReport


def test_js_gauge_is_the_divergence_and_says_so() -> None:
    drift = FeatureDrift(view="orders", feature="amount", psi=0.3, js=0.25,
                         null_rate_reference=0.0, null_rate_current=0.0, rows_reference=10,
                         rows_current=10)
    report = MonitorReport(run_id="20260101T000000Z-abcdef", generated_at="2026-01-01T00:00:01Z",
                           window_start="2025-12-31T23:00:00Z",
                           window_end="2026-01-01T00:00:00Z", reference="history:x/y",
                           drift=[drift], consistency=[], freshness=[])
    family = {f.name: f for f in report_families(report)}["featurebank_feature_js"]
    assert [s.value for s in family.samples] == [0.25]
    assert "divergence" in family.documentation
    assert "distance" not in family.documentation
