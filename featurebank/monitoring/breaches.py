"""Which thresholds a run crossed: one `Breach` per (kind, view, feature, metric)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from featurebank.monitoring.report import Breach, MonitorReport, ViewFreshness
from featurebank.monitoring.thresholds import ViewThresholds


def _drift(report: MonitorReport, thresholds: Mapping[str, ViewThresholds]) -> Iterator[Breach]:
    for d in report.drift:
        limits = thresholds[d.view].for_feature(d.feature)
        where = f"{d.view}:{d.feature}"
        if d.psi is not None and d.psi > limits.psi_max:
            yield Breach("drift", d.view, d.feature, "psi", d.psi, limits.psi_max,
                         f"{where} drifted: PSI {d.psi:.3f} > {limits.psi_max:g}")
        if d.js is not None and d.js > limits.js_max:
            yield Breach("drift", d.view, d.feature, "js", d.js, limits.js_max,
                         f"{where} drifted: Jensen-Shannon {d.js:.3f} > {limits.js_max:g}")
        if d.null_rate_reference is not None and d.null_rate_current is not None:
            delta = abs(d.null_rate_current - d.null_rate_reference)
            if delta > limits.null_rate_delta_max:
                yield Breach("null_rate", d.view, d.feature, "null_rate_delta", delta,
                             limits.null_rate_delta_max,
                             f"{where} null rate {d.null_rate_reference:.1%} -> "
                             f"{d.null_rate_current:.1%} (change > "
                             f"{limits.null_rate_delta_max:.1%})")


def find_breaches(report: MonitorReport, thresholds: Mapping[str, ViewThresholds]
                  ) -> list[Breach]:
    """Every threshold `report` crosses, drift first, then consistency, then freshness."""
    found = list(_drift(report, thresholds))
    for c in report.consistency:
        limit = thresholds[c.view].for_feature(c.feature).match_min
        rate = c.match_rate
        if rate is not None and rate < limit:
            found.append(Breach(
                "consistency", c.view, c.feature, "match_rate", rate, limit,
                f"{c.view}:{c.feature} served values match history in {rate:.2%} of "
                f"{c.rows} rows (< {limit:.2%}; {c.missing} missing, {c.extra} extra)"))
    found.extend(_freshness(f) for f in report.freshness
                 if f.age_s is not None and f.age_s > f.threshold_s)
    return found


def _freshness(f: ViewFreshness) -> Breach:
    """The breach of a view whose judged age (`age_s`: p95 of served ages, else the age of
    the newest written value) is over its SLA; the metric keeps one key for both bases."""
    assert f.age_s is not None
    if f.basis == "served":
        last = (f" (last lookup at {f.last_lookup} saw {f.age_last_s:.0f}s)"
                if f.age_last_s is not None else "")
        message = (f"{f.view} served stale values: p95 age at request time {f.age_s:.0f}s over "
                   f"{f.served_lookups} lookups (> {f.threshold_s:.0f}s){last}")
    else:
        message = (f"{f.view} is stale: newest value from {f.newest_event} is {f.age_s:.0f}s old "
                   f"(> {f.threshold_s:.0f}s)")
    return Breach("freshness", f.view, None, "age_s", f.age_s, f.threshold_s, message)
