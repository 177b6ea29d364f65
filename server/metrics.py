"""API metrics kept as plain Python numbers and exposed through a Prometheus collector.

prometheus_client's own metric objects cost microseconds per update (and Feast switches them to
file-backed multiprocess values at import), which the lookup hot path would feel; here a
request adds to a few integers and the collector turns them into metric families only when
`/metrics` is scraped. Values are per worker process, labelled with its pid.
"""

from __future__ import annotations

import bisect
import os
from collections import Counter
from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector

from featurebank.monitoring.serving_log import LogCounters

BUCKETS = (0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


class ApiStats:
    """Counters the lookup path updates: requests by status and latency buckets."""

    def __init__(self) -> None:
        self.requests: Counter[int] = Counter()
        self.bucket_counts = [0] * (len(BUCKETS) + 1)
        self.latency_sum = 0.0
        self.serving_log = LogCounters()  # updated by featurebank.monitoring.serving_log

    def observe(self, status: int, seconds: float) -> None:
        self.requests[status] += 1
        self.bucket_counts[bisect.bisect_left(BUCKETS, seconds)] += 1
        self.latency_sum += seconds


class ApiCollector(Collector):
    def __init__(self, stats: ApiStats, cache: Any, definitions_version: Any) -> None:
        self.stats = stats
        self.cache = cache
        self.version = definitions_version

    def collect(self) -> Iterator[Any]:
        pid = str(os.getpid())
        requests = CounterMetricFamily("featurebank_online_requests",
                                       "Online lookup requests by HTTP status",
                                       labels=["status", "pid"])
        for status, count in sorted(self.stats.requests.items()):
            requests.add_metric([str(status), pid], count)
        yield requests
        cumulative, buckets = 0, []
        for bound, count in zip((*BUCKETS, float("inf")), self.stats.bucket_counts, strict=True):
            cumulative += count
            buckets.append(("+Inf" if bound == float("inf") else str(bound), cumulative))
        latency = HistogramMetricFamily("featurebank_online_request_seconds",
                                        "Online lookup latency inside the server",
                                        labels=["pid"])
        latency.add_metric([pid], buckets, self.stats.latency_sum)
        yield latency
        by_feature: Counter[str] = Counter(self.cache.retired_reads)
        for plan in self.cache.plans():
            for ref in plan.feature_refs:
                by_feature[ref] += plan.lookups
        reads = CounterMetricFamily("featurebank_feature_reads",
                                    "Online lookups that returned each feature",
                                    labels=["feature", "pid"])
        for ref, count in sorted(by_feature.items()):
            reads.add_metric([ref, pid], count)
        yield reads
        version = GaugeMetricFamily("featurebank_registry_info", "Registry version served",
                                    labels=["version", "pid"])
        version.add_metric([self.version(), pid], 1)
        yield version
        yield from _serving_log_metrics(self.stats.serving_log, pid)


def _serving_log_metrics(counters: LogCounters, pid: str) -> Iterator[Any]:
    rows = CounterMetricFamily("featurebank_served_log_rows",
                               "Sampled lookup rows written to the served-value log",
                               labels=["pid"])
    rows.add_metric([pid], counters.written)
    yield rows
    dropped = CounterMetricFamily("featurebank_served_log_dropped",
                                  "Sampled lookup rows not logged: the queue was full, or the "
                                  "write failed", labels=["reason", "pid"])
    dropped.add_metric(["queue_full", pid], counters.dropped_full)
    dropped.add_metric(["write_failed", pid], counters.dropped_failed)
    yield dropped
    errors = CounterMetricFamily("featurebank_served_log_write_errors",
                                 "Served-value log files that could not be written",
                                 labels=["pid"])
    errors.add_metric([pid], counters.write_errors)
    yield errors
    queued = GaugeMetricFamily("featurebank_served_log_queued_rows",
                               "Sampled lookup rows waiting for the log writer",
                               labels=["pid"])
    queued.add_metric([pid], counters.queued)
    yield queued


def render(stats: ApiStats, cache: Any, version: Any, *extra: Collector) -> bytes:
    """Prometheus text for the stats and the lookup plan cache (`PlanCache`), plus `extra`
    collectors (e.g. the monitoring gauges)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(ApiCollector(stats, cache, version))
    for collector in extra:
        registry.register(collector)
    return generate_latest(registry)
