"""Retrying a failed write while staying in the consumer group, with consumption paused.

When Redis, the disk or the broker (for dead letters) fails, the processor must neither
commit nor read further, yet keep polling so the group does not evict it: the assignment is
paused, the same write is retried with backoff (0.2 s doubling to `MAX_BACKOFF_S`), anything
fetched meanwhile is un-read (seek back), and consumption resumes once the write succeeds.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import redis
from kafka import KafkaConsumer
from kafka.errors import KafkaError

from streaming.metrics import StreamMetrics
from streaming.sinks.dlq import DeadLettersUnconfirmed

log = logging.getLogger("featurebank.stream")

TRANSIENT: tuple[type[BaseException], ...] = (redis.RedisError, OSError, KafkaError,
                                              DeadLettersUnconfirmed)
"""Failures of a dependency, worth retrying; the sinks raise nothing else on purpose."""
MAX_BACKOFF_S = 5.0


class Stopping(Exception):
    """Raised inside a retry wait when a stop was requested; nothing is committed."""


def dependency_of(exc: BaseException) -> str:
    """The metrics label of what failed."""
    if isinstance(exc, redis.RedisError):
        return "redis"
    if isinstance(exc, KafkaError | DeadLettersUnconfirmed):
        return "broker"
    return "disk"


class PausingRetry:
    """Runs writes for the processor; `consumer` is called each time (it can be replaced)."""

    def __init__(self, consumer: Callable[[], KafkaConsumer], stopping: Callable[[], bool],
                 metrics: StreamMetrics) -> None:
        self._consumer = consumer
        self._stopping = stopping
        self._metrics = metrics

    def once(self, action: Callable[[], None]) -> bool:
        """Run `action` without retrying (inside a rebalance callback); True if it succeeded."""
        try:
            action()
        except TRANSIENT as exc:
            log.warning("writes failed during a rebalance (%s); the batch is left "
                        "uncommitted", type(exc).__name__)
            return False
        return True

    def run(self, action: Callable[[], None]) -> None:
        """Run `action` until it succeeds; raises `Stopping` if a stop comes meanwhile."""
        delay = 0.2
        paused = False
        while True:
            try:
                action()
                break
            except TRANSIENT as exc:
                dependency = dependency_of(exc)
                self._metrics.count_retry(dependency)
                log.warning("%s failed (%s: %s); pausing consumption, retrying in %.1fs",
                            dependency, type(exc).__name__, str(exc)[:200], delay)
                if not paused:
                    consumer = self._consumer()
                    consumer.pause(*consumer.assignment())
                    paused = True
                self._wait(delay)
                delay = min(delay * 2, MAX_BACKOFF_S)
        if paused:
            consumer = self._consumer()
            consumer.resume(*consumer.assignment())
            log.info("writes succeed again; resuming consumption")

    def _wait(self, seconds: float) -> None:
        """Sleep while staying in the group; anything fetched meanwhile is un-read."""
        consumer = self._consumer()
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self._stopping():
                raise Stopping
            fetched = consumer.poll(timeout_ms=100)
            for partition, messages in fetched.items():
                if messages:
                    consumer.seek(partition, messages[0].offset)
            unpaused = consumer.assignment() - consumer.paused()
            if unpaused:
                consumer.pause(*unpaused)
