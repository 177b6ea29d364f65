"""Prometheus metrics of the processor, served on its own port (`--metrics-port`)."""

from __future__ import annotations

import collections
import logging
import time

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

log = logging.getLogger("featurebank.stream")


class StreamMetrics:
    """One set of metrics per processor, in a private registry.

    `totals` mirrors the counters in plain Python: Feast switches prometheus_client into its
    multiprocess mode at import, where values live in per-process files shared by every
    instance, so in-process readers (tests, `featurebank stream` logs) use `totals` instead.
    """

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.events_in = Counter("featurebank_stream_events_in_total",
                                 "Messages consumed", ["topic"], registry=r)
        self.events_written = Counter("featurebank_stream_events_written_total",
                                      "Rows written online", ["topic", "view"], registry=r)
        self.dead_lettered = Counter("featurebank_stream_events_dead_lettered_total",
                                     "Messages sent to the DLQ", ["topic", "reason"], registry=r)
        self.batch_seconds = Histogram(
            "featurebank_stream_batch_seconds",
            "Time to process one poll's batch, up to buffering its history",
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10), registry=r)
        self.event_lag = Gauge("featurebank_stream_event_lag_seconds",
                               "now - newest event time written online", ["view"], registry=r)
        self.retries = Counter("featurebank_stream_retries_total",
                               "Batches retried after a dependency failed", ["dependency"],
                               registry=r)
        self.history_files = Counter("featurebank_stream_history_files_total",
                                     "Parquet history files written", ["topic"], registry=r)
        self._newest: dict[str, float] = {}
        self.totals: collections.Counter[tuple[str, ...]] = collections.Counter()

    def count_in(self, topic: str, count: int) -> None:
        self.events_in.labels(topic).inc(count)
        self.totals["in", topic] += count

    def count_written(self, topic: str, view: str, count: int) -> None:
        self.events_written.labels(topic, view).inc(count)
        self.totals["written", topic, view] += count

    def count_history_files(self, topic: str, count: int) -> None:
        self.history_files.labels(topic).inc(count)
        self.totals["history_files", topic] += count

    def count_retry(self, dependency: str) -> None:
        self.retries.labels(dependency).inc()
        self.totals["retry", dependency] += 1

    def count_dead(self, topic: str, reason: str) -> None:
        self.dead_lettered.labels(topic, reason).inc()
        self.totals["dead", topic, reason] += 1

    def wrote(self, newest: dict[str, float]) -> None:
        for view, seconds in newest.items():
            self._newest[view] = max(seconds, self._newest.get(view, 0.0))
        self.refresh_lag()

    def refresh_lag(self) -> None:
        now = time.time()
        for view, seconds in self._newest.items():
            self.event_lag.labels(view).set(max(0.0, now - seconds))

    def serve(self, port: int, host: str = "127.0.0.1") -> None:
        if port <= 0:
            return
        try:
            start_http_server(port, addr=host, registry=self.registry)
        except OSError as exc:
            log.warning("metrics port %d is not available (%s); metrics are not served",
                        port, exc.strerror)
            return
        log.info("metrics at http://%s:%d/metrics", host, port)
