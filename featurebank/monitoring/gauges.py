"""Prometheus gauges for the latest monitoring run, built at scrape time from the persisted report.

Every replica reads the same newest report file, so each exports the same values and a Prometheus
rule does not care which replica it scraped; nothing is kept in process memory between runs. The
families are emitted even before any run exists (with no samples, and the breach counts at 0), so
`absent()`-style rules and dashboards see the metric names from the first scrape.

`featurebank_view_freshness_seconds` is the age the run judged against the SLA (the p95 of served
values' age at their request time, else the age of the newest value written online at the run),
not extrapolated to the scrape time, so the gauge and the run's own freshness breach never
disagree; a stalled monitor is caught by `featurebank_monitor_last_run_timestamp_seconds` instead.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any, get_args

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from featurebank.monitoring.report import BreachKind, MonitorReport

log = logging.getLogger("featurebank.monitoring")


def _epoch(text: str) -> float | None:
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def report_families(report: MonitorReport | None) -> list[GaugeMetricFamily]:
    """The monitoring gauges for `report` (None: no run yet)."""
    psi = GaugeMetricFamily("featurebank_feature_psi",
                            "Population stability index of a feature vs its reference, last run",
                            labels=["view", "feature"])
    js = GaugeMetricFamily("featurebank_feature_js",
                           "Jensen-Shannon divergence (bits) vs the reference, last run",
                           labels=["view", "feature"])
    match = GaugeMetricFamily("featurebank_feature_match_rate",
                              "Share of served values that match a point-in-time recompute",
                              labels=["view", "feature"])
    age = GaugeMetricFamily("featurebank_view_freshness_seconds",
                            "Freshness age the last run judged against the SLA: p95 of served "
                            "values' age at request time, else now minus newest written event",
                            labels=["view"])
    last = GaugeMetricFamily("featurebank_view_freshness_last_lookup_seconds",
                             "Age at request time of the value the view's most recent lookup "
                             "in the last run's window was served",
                             labels=["view"])
    sla = GaugeMetricFamily("featurebank_view_freshness_threshold_seconds",
                            "Freshness SLA of a view (age above it is a breach)",
                            labels=["view"])
    breaches = GaugeMetricFamily("featurebank_monitor_breaches",
                                 "Open breaches in the last run, by kind", labels=["kind"])
    last_run = GaugeMetricFamily("featurebank_monitor_last_run_timestamp_seconds",
                                 "Unix time the last monitoring run was generated")
    counts = dict.fromkeys(get_args(BreachKind), 0)
    if report is not None:
        for d in report.drift:
            if d.psi is not None:
                psi.add_metric([d.view, d.feature], d.psi)
            if d.js is not None:
                js.add_metric([d.view, d.feature], d.js)
        for c in report.consistency:
            if c.match_rate is not None:
                match.add_metric([c.view, c.feature], c.match_rate)
        for f in report.freshness:
            if f.age_s is not None:
                age.add_metric([f.view], f.age_s)
            if f.age_last_s is not None:
                last.add_metric([f.view], f.age_last_s)
            sla.add_metric([f.view], f.threshold_s)
        for b in report.breaches:
            counts[b.kind] = counts.get(b.kind, 0) + 1
        generated = _epoch(report.generated_at)
        if generated is not None:
            last_run.add_metric([], generated)
    for kind, count in sorted(counts.items()):
        breaches.add_metric([kind], count)
    return [psi, js, match, age, last, sla, breaches, last_run]


class MonitoringCollector(Collector):
    """Yields `report_families(latest())` on every scrape."""

    def __init__(self, latest: Callable[[], MonitorReport | None]) -> None:
        self.latest = latest

    def collect(self) -> Iterator[Any]:
        try:
            report = self.latest()
        except OSError as exc:  # the runs directory is unreadable: the API's own metrics stay up
            log.warning("monitoring gauges: cannot read runs: %s", exc)
            report = None
        yield from report_families(report)
