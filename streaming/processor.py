"""The consumer loop: poll → process per partition → write (retrying) → commit → repeat.

Delivery: offsets are committed only after the batch's dead letters are acknowledged and its
online and offline writes succeeded, so a crash replays uncommitted messages (at least once);
online writes are event-time monotonic and history files are rewritten per offset range, so the
effect of a replay is exactly once. When Redis (or the disk, or the broker for dead letters)
fails, the assignment is paused and the same batch is retried with backoff; nothing is committed
meanwhile. The registry is re-read every `registry_refresh_s`, and topics of newly applied
stream views are subscribed without a restart.

Pipelining: a batch's online write runs on a writer thread while the loop polls and checks the
next batch (Redis executing the monotonic script was the largest wait of the loop); the batch
is finished (online write awaited, history, dead letters, commit) before the next one's write
starts, before partitions are revoked and before the processor stops, so the delivery rules
above are unchanged.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

import redis
from feast import FeatureStore
from kafka import ConsumerRebalanceListener, KafkaConsumer
from kafka.errors import CommitFailedError, KafkaError
from kafka.structs import OffsetAndMetadata, TopicPartition

from featurebank.definitions import load_definitions
from featurebank.feast_repo import open_store
from featurebank.settings import Settings
from streaming.consumer import ClientOptions, make_consumer, make_producer
from streaming.core import BatchResult, Message, process_batch
from streaming.metrics import StreamMetrics
from streaming.plan import StreamPlan, TopicPlan, build_plan
from streaming.sinks.dlq import DeadLetterSink
from streaming.sinks.parquet import ParquetHistorySink
from streaming.sinks.redis import RedisOnlineSink

log = logging.getLogger("featurebank.stream")

TRANSIENT: tuple[type[BaseException], ...] = (redis.RedisError, OSError, KafkaError)
MAX_BACKOFF_S = 5.0


@dataclass(frozen=True)
class ProcessorOptions:
    max_message_bytes: int = 1024 * 1024
    poll_timeout_ms: int = 200
    max_poll_records: int = 5000
    session_timeout_ms: int = 6000
    heartbeat_interval_ms: int = 1000
    metrics_port: int = 0


class Stopping(Exception):
    """Raised inside a retry wait when a stop was requested; nothing is committed."""


@dataclass
class _Progress:
    """Which writes of a batch already succeeded, so a retry redoes only the rest."""

    result: BatchResult
    plan: TopicPlan
    done: set[str] = field(default_factory=set)


@dataclass
class _InFlight:
    """A polled batch whose online write was handed to the writer thread, not yet committed."""

    batches: list[_Progress]
    offsets: dict[TopicPartition, OffsetAndMetadata]
    online: Future[dict[str, float]]
    started: float


class _Rebalance(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, on_assigned: Callable[[list[TopicPartition]], None],
                 on_revoked: Callable[[], None]) -> None:
        self._on_assigned = on_assigned
        self._on_revoked = on_revoked

    def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        log.info("partitions revoked: %s", _names(revoked))
        self._on_revoked()

    def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        log.info("partitions assigned: %s", _names(assigned))
        self._on_assigned(assigned)


def _names(partitions: list[TopicPartition]) -> str:
    return ", ".join(f"{p.topic}[{p.partition}]" for p in sorted(partitions)) or "none"


class StreamProcessor:
    def __init__(self, settings: Settings, options: ProcessorOptions,
                 store: FeatureStore | None = None) -> None:
        self.settings = settings
        self.options = options
        self.metrics = StreamMetrics()
        self._store = store or open_store(settings)
        self._plan = StreamPlan(self._store.project, "", {})
        self._stop = False
        self._next_refresh = 0.0
        client_options = ClientOptions(
            bootstrap_servers=settings.kafka_bootstrap_servers, group_id=settings.consumer_group,
            session_timeout_ms=options.session_timeout_ms,
            heartbeat_interval_ms=options.heartbeat_interval_ms,
            max_poll_records=options.max_poll_records)
        self._client_options = client_options
        self._consumer: KafkaConsumer = make_consumer(client_options)
        self._subscribed = False
        self._subscribed_at = 0.0
        self._wanted_topics: list[str] | None = None
        self._listener = _Rebalance(self._assigned, self._settle_before_revoke)
        self._in_flight: _InFlight | None = None
        self._online_io = ThreadPoolExecutor(max_workers=1, thread_name_prefix="online-write")
        self._dlq = DeadLetterSink(make_producer(settings.kafka_bootstrap_servers,
                                                 client_id=f"{settings.consumer_group}-dlq"))
        client = redis.Redis.from_url(settings.redis_url, socket_timeout=5,
                                      socket_connect_timeout=2)
        self._online = RedisOnlineSink(client, self._store.project)
        self._offline = ParquetHistorySink()

    def stop(self) -> None:
        """Ask the loop to finish its batch, commit and return (safe from a signal handler)."""
        self._stop = True

    @property
    def plan(self) -> StreamPlan:
        return self._plan

    def run(self) -> int:
        self.metrics.serve(self.options.metrics_port)
        try:
            while not self._stop:
                self._maybe_refresh()
                if not self._plan.topics:
                    time.sleep(self.options.poll_timeout_ms / 1000)
                    continue
                # With a batch in flight, only take records already fetched; else finish it.
                timeout = 0 if self._in_flight is not None else self.options.poll_timeout_ms
                try:
                    records = self._consumer.poll(timeout_ms=timeout)
                except KafkaError as exc:
                    log.warning("poll failed (%s); retrying", type(exc).__name__)
                    self._finish_in_flight()
                    time.sleep(1.0)
                    continue
                if records:
                    self._handle(records)
                elif self._in_flight is not None:
                    self._finish_in_flight()
                else:
                    self.metrics.refresh_lag()
            self._finish_in_flight()
        except Stopping:
            log.info("stopped while retrying; the batch was not committed and will be replayed")
        finally:
            self._close()
        return 0

    def _close(self) -> None:
        try:
            self._online_io.shutdown(wait=True)
            self._consumer.close(autocommit=False)
        finally:
            self._dlq.close()

    def _maybe_refresh(self) -> None:
        self._apply_subscription()
        now = time.monotonic()
        if now < self._next_refresh:
            return
        interval = self.settings.registry_refresh_s
        self._next_refresh = now + (interval if interval > 0 else float("inf"))
        try:
            definitions = load_definitions(self._store, refresh=True)
        except Exception as exc:  # keep the last good plan: a registry hiccup must not stop us
            log.warning("registry refresh failed (%s); keeping the current plan",
                        type(exc).__name__)
            return
        if definitions.version == self._plan.version:
            return
        plan = build_plan(definitions, self.settings.max_event_skew_s)
        old, new = self._plan.topic_names(), plan.topic_names()
        self._plan = plan
        if old != new:
            self._resubscribe(new)
            log.info("registry %s: consuming %s", plan.version, ", ".join(new) or "nothing")

    def _resubscribe(self, topics: list[str]) -> None:
        """Ask for the new topic set, once the current join has settled.

        Changing a subscription (or leaving) while a join is still in flight can wedge the
        group on the local broker (SyncGroup loops on "rebalance in progress"), so the change
        waits until this consumer holds an assignment or twice the session timeout has passed.
        """
        self._wanted_topics = topics
        self._apply_subscription()

    def _apply_subscription(self) -> None:
        topics = self._wanted_topics
        if topics is None:
            return
        joining_for = time.monotonic() - self._subscribed_at
        settled = (not self._subscribed or bool(self._consumer.assignment())
                   or joining_for > 2 * self.options.session_timeout_ms / 1000)
        if not settled:
            return
        if self._subscribed:
            # A fresh consumer, not subscribe() on the joined one: kafka-python 3.0.x can take
            # the new assignment from SyncGroup and never apply it (the new topic is never
            # fetched; seen here on every few resubscriptions, cf. dpkp/kafka-python#3131).
            # Leaving and rejoining costs one rebalance, as the resubscription would.
            self._finish_in_flight()
            self._consumer.close(autocommit=False)
            self._consumer = make_consumer(self._client_options)
        if topics:
            self._consumer.subscribe(topics, listener=self._listener)
        else:
            self._consumer.unsubscribe()
        self._subscribed = bool(topics)
        self._subscribed_at = time.monotonic()
        self._wanted_topics = None

    def _assigned(self, partitions: list[TopicPartition]) -> None:
        for partition in partitions:
            self._offline.forget(partition.topic, partition.partition)

    def _handle(self, records: dict[TopicPartition, list[Message]]) -> None:
        """Check this poll's batches, finish the batch in flight, then start these."""
        started = time.perf_counter()
        now_micros = time.time_ns() // 1000
        batches: list[_Progress] = []
        offsets: dict[TopicPartition, OffsetAndMetadata] = {}
        for partition, messages in records.items():
            plan = self._plan.topics.get(partition.topic)
            if plan is None or not messages:
                continue  # the topic was just dropped from the registry: leave it uncommitted
            self.metrics.count_in(partition.topic, len(messages))
            result = process_batch(plan, messages, now_micros, self.options.max_message_bytes)
            batches.append(_Progress(result, plan))
            offsets[partition] = OffsetAndMetadata(messages[-1].offset + 1, "", -1)
        self._finish_in_flight()
        views = [view for progress in batches for view in progress.result.views]
        self._in_flight = _InFlight(batches, offsets,
                                    self._online_io.submit(self._online.write, views), started)

    def _finish_in_flight(self, *, retry: bool = True) -> None:
        """Await the batch in flight's online write, then write the rest and commit.

        With `retry=False` (inside a rebalance callback, where polling again is not allowed) a
        failure leaves the batch uncommitted; the partitions' next owner replays it.
        """
        flight, self._in_flight = self._in_flight, None
        if flight is None:
            return
        try:
            self.metrics.wrote(flight.online.result())
            for progress in flight.batches:
                progress.done.add("online")
        except TRANSIENT as exc:  # redone, with the retry policy, by _write_with_retry
            if not retry:
                log.warning("online write failed during a rebalance (%s); the batch is left "
                            "uncommitted", type(exc).__name__)
                return
        if retry:
            self._write_with_retry(flight.batches)
        else:
            try:
                self._write(flight.batches)
            except TRANSIENT as exc:
                log.warning("writes failed during a rebalance (%s); the batch is left "
                            "uncommitted", type(exc).__name__)
                return
        self._commit(flight.offsets)
        for progress in flight.batches:
            self._count(progress.result)
        self.metrics.batch_seconds.observe(time.perf_counter() - flight.started)

    def _settle_before_revoke(self) -> None:
        self._finish_in_flight(retry=False)

    def _write(self, batches: list[_Progress]) -> None:
        for progress in batches:
            if "dlq" not in progress.done and progress.result.rejects:
                self._dlq.send(progress.result.rejects)
            progress.done.add("dlq")
        for progress in batches:
            result = progress.result
            if "online" not in progress.done:
                self.metrics.wrote(self._online.write(result.views))
                progress.done.add("online")
            if "offline" not in progress.done:
                self._offline.write(progress.plan, result)
                progress.done.add("offline")
        self._dlq.flush()

    def _write_with_retry(self, batches: list[_Progress]) -> None:
        delay = 0.2
        paused = False
        while True:
            try:
                self._write(batches)
                break
            except TRANSIENT as exc:
                dependency = _dependency(exc)
                self.metrics.count_retry(dependency)
                log.warning("%s failed (%s: %s); pausing consumption, retrying in %.1fs",
                            dependency, type(exc).__name__, str(exc)[:200], delay)
                if not paused:
                    self._consumer.pause(*self._consumer.assignment())
                    paused = True
                self._wait(delay)
                delay = min(delay * 2, MAX_BACKOFF_S)
        if paused:
            self._consumer.resume(*self._consumer.assignment())
            log.info("writes succeed again; resuming consumption")

    def _wait(self, seconds: float) -> None:
        """Sleep while staying in the group; anything fetched meanwhile is un-read."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self._stop:
                raise Stopping
            fetched = self._consumer.poll(timeout_ms=100)
            for partition, messages in fetched.items():
                if messages:
                    self._consumer.seek(partition, messages[0].offset)
            unpaused = self._consumer.assignment() - self._consumer.paused()
            if unpaused:
                self._consumer.pause(*unpaused)

    def _commit(self, offsets: dict[TopicPartition, OffsetAndMetadata]) -> None:
        if not offsets:
            return
        owned = self._consumer.assignment()
        mine = {tp: meta for tp, meta in offsets.items() if tp in owned}
        try:
            self._consumer.commit(mine)
        except CommitFailedError:
            log.warning("commit refused after a rebalance; the new owner replays those offsets")
        except KafkaError as exc:
            log.warning("commit failed (%s); a later commit covers these offsets",
                        type(exc).__name__)

    def _count(self, result: BatchResult) -> None:
        for reject in result.rejects:
            self.metrics.count_dead(result.topic, reject.reason)
        for batch in result.views:
            self.metrics.count_written(result.topic, batch.view.name, batch.table.num_rows)


def _dependency(exc: BaseException) -> str:
    if isinstance(exc, redis.RedisError):
        return "redis"
    if isinstance(exc, KafkaError):
        return "broker"
    return "disk"
