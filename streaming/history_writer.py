"""Writing a processor's buffered history to files, and what that makes committable.

The processor buffers each partition's history (`streaming.offline_buffer`); this writes it
one file per partition (and target) and records each written partition's committable offset.
Kept apart from the consumer loop so the loop reads as poll → process → write → commit, and
the rules of when history may be written (and committed) live in one place.
"""

from __future__ import annotations

import logging

from kafka import KafkaConsumer
from kafka.structs import OffsetAndMetadata, TopicPartition

from streaming.consumer import topic_log_id
from streaming.metrics import StreamMetrics
from streaming.offline_buffer import OfflineBuffer
from streaming.sinks.dlq import DeadLetterSink
from streaming.sinks.parquet import ParquetHistorySink
from streaming.status import HistoryFailures

log = logging.getLogger("featurebank.stream")


class HistoryWriter:
    """Writes buffered partitions; `take_committable` hands over the offsets that completes."""

    def __init__(self, offline: ParquetHistorySink, buffer: OfflineBuffer,
                 dead_letters: DeadLetterSink, failures: HistoryFailures,
                 metrics: StreamMetrics) -> None:
        self._offline = offline
        self._buffer = buffer
        self._dlq = dead_letters
        self._failures = failures
        self._metrics = metrics
        self._committable: dict[TopicPartition, OffsetAndMetadata] = {}

    def take_committable(self) -> dict[TopicPartition, OffsetAndMetadata]:
        """The offsets written since the last call (and forget them)."""
        committable, self._committable = self._committable, {}
        return committable

    def write(self, consumer: KafkaConsumer, partitions: list[TopicPartition]) -> None:
        """One file per partition (and target); each written partition becomes committable
        up to its last buffered offset. Written partitions leave the buffer one by one, so a
        retry after a failure redoes only the rest.

        History of a partition `consumer` no longer owns is dropped, not written: the new
        owner replays it from the last commit, and a file written after its own first flush
        would never be replaced (a duplicate). Rows the sink refuses for their data are
        dead-lettered before the partition becomes committable; an `OSError` (the disk's
        fault) is reported for `/health` and raised, so the retry policy redoes the write.
        """
        owned = consumer.assignment()
        for partition in partitions:
            pending = self._buffer.get(partition)
            if pending is None:
                continue
            if partition not in owned:
                self._buffer.remove(partition)
                log.warning("dropping unwritten history of %s[%d]: the partition was revoked",
                            partition.topic, partition.partition)
                continue
            where = f"{partition.topic}[{partition.partition}]"
            try:
                written = self._offline.write_range(pending.plan, partition.partition,
                                                    pending.pieces)
            except OSError as exc:
                self._failures.failed(where, exc)
                raise
            self._failures.succeeded(where)
            if written.refused:  # raises (retried: the rewrite is idempotent) until confirmed
                self._dlq.send(written.refused)
                self._dlq.flush()
                for reject in written.refused:
                    self._metrics.count_dead(partition.topic, reject.reason)
            self._buffer.remove(partition)
            if pending.pieces[0].log_id == topic_log_id(consumer, partition.topic):
                self._committable[partition] = OffsetAndMetadata(pending.last + 1, "", -1)
            else:  # read before the broker lost the topic: its offsets mean nothing there now
                log.warning("not committing %s[%d]: the topic was recreated on the broker",
                            partition.topic, partition.partition)
            self._metrics.count_history_files(partition.topic, written.files)
