"""Kafka clients configured for the processor (DESIGN.md §4 lists why these values)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from kafka import ConsumerRebalanceListener, KafkaConsumer, KafkaProducer
from kafka.structs import TopicPartition

log = logging.getLogger("featurebank.stream")


@dataclass(frozen=True)
class ClientOptions:
    bootstrap_servers: str
    group_id: str
    session_timeout_ms: int = 6000
    heartbeat_interval_ms: int = 1000
    max_poll_records: int = 5000
    max_poll_interval_ms: int = 300_000
    fetch_max_wait_ms: int = 100


def make_consumer(options: ClientOptions) -> KafkaConsumer:
    """Manual commits only, starting new groups from the earliest offset (see the broker notes)."""
    return KafkaConsumer(
        bootstrap_servers=options.bootstrap_servers.split(","),
        group_id=options.group_id,
        client_id=f"{options.group_id}-consumer",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        session_timeout_ms=options.session_timeout_ms,
        heartbeat_interval_ms=options.heartbeat_interval_ms,
        max_poll_records=options.max_poll_records,
        max_poll_interval_ms=options.max_poll_interval_ms,
        fetch_max_wait_ms=options.fetch_max_wait_ms,
        max_partition_fetch_bytes=4 * 1024 * 1024,
        reconnect_backoff_max_ms=5000,
    )


def make_producer(bootstrap_servers: str, *, linger_ms: int = 5,
                  client_id: str = "featurebank") -> KafkaProducer:
    return KafkaProducer(
        bootstrap_servers=bootstrap_servers.split(","),
        client_id=client_id,
        linger_ms=linger_ms,
        batch_size=256 * 1024,
        acks="all",
        retries=5,
        max_request_size=8 * 1024 * 1024,
        reconnect_backoff_max_ms=5000,
    )


def topic_log_id(consumer: KafkaConsumer, topic: str) -> str:
    """The broker's id of `topic` as 32 hex digits, or "" when the broker reports none.

    A topic gets a new id each time it is created, so the id tells apart offsets of an earlier
    incarnation (an in-memory broker restarted, or the topic was recreated) from this one's.
    kafka-python keeps it in the consumer's cluster metadata and has no public accessor.
    """
    topic_id = consumer._client.cluster.topic_id(topic)  # private: see the docstring
    if topic_id is None or topic_id.int == 0:  # pre-2.8 brokers, or metadata not yet fetched
        return ""
    return str(topic_id.hex)


class RebalanceListener(ConsumerRebalanceListener):  # type: ignore[misc]
    """Logs each rebalance and hands the partitions to the processor's callbacks."""

    def __init__(self, on_assigned: Callable[[list[TopicPartition]], None],
                 on_revoked: Callable[[list[TopicPartition]], None]) -> None:
        self._on_assigned = on_assigned
        self._on_revoked = on_revoked

    def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        log.info("partitions revoked: %s", partition_names(revoked))
        self._on_revoked(revoked)

    def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        log.info("partitions assigned: %s", partition_names(assigned))
        self._on_assigned(assigned)


def partition_names(partitions: list[TopicPartition]) -> str:
    return ", ".join(f"{p.topic}[{p.partition}]" for p in sorted(partitions)) or "none"
