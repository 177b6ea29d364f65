"""The consumer loop: poll → process per partition → write (retrying) → commit → repeat.

Delivery: offsets are committed only after the batch's dead letters are acknowledged, its
online write succeeded and its history is on disk, so a crash replays uncommitted messages (at
least once); online writes are event-time monotonic and history files are rewritten per offset
range, so the effect of a replay is exactly once.

History is buffered per partition (`streaming.offline_buffer`) and written
(`streaming.history_writer`) as one file per `offline_flush_s` (or `offline_flush_rows`), on
revoke and on stop; a partition is committed only up to the end of its last written file, so
commits trail by up to the flush interval and a crash replays at most that much. When Redis (or
the disk, or the broker for dead letters) fails, the assignment is paused and the same batch is
retried with backoff (`streaming.retry`); nothing is committed meanwhile. Rows the online store
refuses for good are dead-lettered (`streaming.sinks.redis`), never a reason to stop. The
registry is re-read every `registry_refresh_s`, and topics of newly applied stream views are
subscribed without a restart.

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
from kafka import KafkaConsumer
from kafka.errors import CommitFailedError, KafkaError
from kafka.structs import OffsetAndMetadata, TopicPartition

from featurebank.definitions import load_definitions
from featurebank.feast_repo import open_store
from featurebank.settings import Settings
from streaming.consumer import (
    ClientOptions,
    RebalanceListener,
    make_consumer,
    make_producer,
    topic_log_id,
)
from streaming.core import BatchResult, Message, process_batch
from streaming.history_writer import HistoryWriter
from streaming.metrics import StreamMetrics
from streaming.offline_buffer import OfflineBuffer
from streaming.plan import StreamPlan, TopicPlan, build_plan
from streaming.retry import TRANSIENT, PausingRetry, Stopping
from streaming.sinks.dlq import DeadLetterSink
from streaming.sinks.parquet import ParquetHistorySink
from streaming.sinks.redis import OnlineOutcome, RedisOnlineSink
from streaming.status import PUBLISH_EVERY_S, HistoryFailures, publish_skipped

log = logging.getLogger("featurebank.stream")


@dataclass(frozen=True)
class ProcessorOptions:
    max_message_bytes: int = 1024 * 1024
    poll_timeout_ms: int = 200
    max_poll_records: int = 5000
    session_timeout_ms: int = 6000
    heartbeat_interval_ms: int = 1000
    metrics_port: int = 0
    offline_flush_s: float = 10.0
    """Buffered history of a partition is written once its oldest row waited this long."""
    offline_flush_rows: int = 100_000
    """... or once it holds this many rows (bounds the buffer's memory per partition)."""


@dataclass
class _Progress:
    """Which writes of a batch already succeeded, so a retry redoes only the rest."""

    result: BatchResult
    plan: TopicPlan
    log_id: str = ""
    """The topic's incarnation on the broker when it was read (see `topic_log_id`)."""
    done: set[str] = field(default_factory=set)


@dataclass
class _InFlight:
    """A polled batch whose online write was handed to the writer thread, not yet committed."""

    batches: list[_Progress]
    online: Future[OnlineOutcome]
    started: float


class StreamProcessor:
    def __init__(self, settings: Settings, options: ProcessorOptions,
                 store: FeatureStore | None = None,
                 dead_letters: DeadLetterSink | None = None) -> None:
        self.settings = settings
        self.options = options
        self.metrics = StreamMetrics()
        self._store = store or open_store(settings)
        self._plan = StreamPlan(self._store.project, "", {})
        self._stop = False
        self._next_refresh = 0.0
        self._next_report = 0.0
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
        self._listener = RebalanceListener(self._assigned, self._settle_before_revoke)
        self._retry = PausingRetry(lambda: self._consumer, lambda: self._stop, self.metrics)
        self._in_flight: _InFlight | None = None
        self._online_io = ThreadPoolExecutor(max_workers=1, thread_name_prefix="online-write")
        self._dlq = dead_letters or DeadLetterSink(make_producer(
            settings.kafka_bootstrap_servers, client_id=f"{settings.consumer_group}-dlq"))
        client = redis.Redis.from_url(settings.redis_url, socket_timeout=5,
                                      socket_connect_timeout=2)
        self._redis = client
        self._online = RedisOnlineSink(client, self._store.project)
        self._offline = ParquetHistorySink()
        self._buffer = OfflineBuffer(options.offline_flush_s, options.offline_flush_rows)
        self._history = HistoryWriter(
            self._offline, self._buffer, self._dlq,
            HistoryFailures(client, lambda: self._plan.project), self.metrics)

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
                self._flush(self._buffer.due(time.monotonic()))
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
            self._flush(self._buffer.partitions())
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
        if now >= self._next_refresh:
            self._refresh(now)
        if now >= self._next_report:
            self._report_skipped(now)

    def _report_skipped(self, now: float) -> None:
        """Keep the skipped views (and why) readable by `/health` (see `streaming.status`)."""
        self._next_report = now + PUBLISH_EVERY_S
        try:
            publish_skipped(self._redis, self._plan.project, self._plan.skipped)
        except redis.RedisError as exc:  # a report only: the next one retries
            log.warning("could not report skipped views (%s)", type(exc).__name__)

    def _refresh(self, now: float) -> None:
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
        self._next_report = 0.0  # report the new plan's skipped views now
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
            self._flush(self._buffer.partitions())
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
        for partition, messages in records.items():
            plan = self._plan.topics.get(partition.topic)
            if plan is None or not messages:
                continue  # the topic was just dropped from the registry: leave it uncommitted
            self.metrics.count_in(partition.topic, len(messages))
            result = process_batch(plan, messages, now_micros, self.options.max_message_bytes)
            batches.append(_Progress(result, plan, topic_log_id(self._consumer,
                                                                partition.topic)))
        self._finish_in_flight()
        views = [view for progress in batches for view in progress.result.views]
        self._in_flight = _InFlight(batches,
                                    self._online_io.submit(self._online.write, views), started)

    def _finish_in_flight(self, *, retry: bool = True) -> None:
        """Await the batch in flight's online write, then do the rest, buffer its history and
        write (and commit) the history that is due.

        With `retry=False` (inside a rebalance callback, where polling again is not allowed) a
        failure leaves the batch uncommitted; the partitions' next owner replays it.
        """
        flight, self._in_flight = self._in_flight, None
        if flight is None:
            return
        try:
            self._online_done(flight.online.result(), flight.batches)
        except TRANSIENT as exc:  # redone, with the retry policy, by _retrying
            if not retry:
                log.warning("online write failed during a rebalance (%s); the batch is left "
                            "uncommitted", type(exc).__name__)
                return
        if not self._attempt(lambda: self._write(flight.batches), retry=retry):
            return
        for progress in flight.batches:
            self._count(progress.result)
        self.metrics.batch_seconds.observe(time.perf_counter() - flight.started)
        self._flush(self._buffer.due(time.monotonic()), retry=retry)

    def _settle_before_revoke(self, revoked: list[TopicPartition]) -> None:
        self._finish_in_flight(retry=False)
        self._flush(self._buffer.partitions(), retry=False)
        for partition in revoked:  # a failed write: the next owner replays these offsets
            if self._buffer.remove(partition) is not None:
                log.warning("history of %s[%d] was not written before the revoke; it is left "
                            "uncommitted", partition.topic, partition.partition)

    def _online_done(self, outcome: OnlineOutcome, batches: list[_Progress]) -> None:
        """Count what was written; rows the online store refused join their batch's rejects
        (so they are dead-lettered before anything of the batch is committed)."""
        self.metrics.wrote(outcome.newest)
        for reject in outcome.rejects:
            origin = (reject.message.topic, reject.message.partition)
            for progress in batches:
                if (progress.result.topic, progress.result.partition) == origin:
                    progress.result.rejects.append(reject)
                    break
        for progress in batches:
            progress.done.add("online")

    def _write(self, batches: list[_Progress]) -> None:
        """Online rows (if the writer thread's attempt failed), dead letters, then the history
        into the buffer.

        Dead letters follow the online write, which may refuse rows. Buffering comes last:
        buffered offsets become committable once written, so a batch joins the buffer only
        when its dead letters are acknowledged and its online rows are in Redis.
        """
        for progress in batches:
            if "online" not in progress.done:
                self._online_done(self._online.write(progress.result.views), [progress])
        for progress in batches:
            if "dlq" not in progress.done and progress.result.rejects:
                self._dlq.send(progress.result.rejects)
            progress.done.add("dlq")
        self._dlq.flush()
        now = time.monotonic()
        owned = self._consumer.assignment()
        for progress in batches:
            if "offline" in progress.done:
                continue
            result = progress.result
            partition = TopicPartition(result.topic, result.partition)
            if partition not in owned:  # revoked during a retry: its new owner replays it
                progress.done.add("offline")
                continue
            if self._buffer.must_flush_before(partition, progress.plan, progress.log_id):
                self._write_history([partition])  # raises: retried before anything is added
            self._buffer.add(partition, progress.plan,
                             self._offline.history(progress.plan, result, progress.log_id), now)
            progress.done.add("offline")

    def _flush(self, partitions: list[TopicPartition], *, retry: bool = True) -> None:
        """Write the buffered history of `partitions`, then commit what it completes."""
        if partitions:
            self._attempt(lambda: self._write_history(partitions), retry=retry)
        self._commit(self._history.take_committable())

    def _write_history(self, partitions: list[TopicPartition]) -> None:
        self._history.write(self._consumer, partitions)

    def _attempt(self, action: Callable[[], None], *, retry: bool) -> bool:
        """Run `action`, with the retry policy or (in a rebalance callback) once; True if done."""
        if retry:
            self._retry.run(action)
            return True
        return self._retry.once(action)

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

