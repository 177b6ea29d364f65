"""Every malformed class lands in `<topic>.dlq` with its reason; the valid events around apply."""

from __future__ import annotations

import threading
import time
from typing import Any

import orjson
import redis
from conftest import committed_offsets, produce, read_topic
from kafka import KafkaProducer
from kafka.errors import NotEnoughReplicasError
from kafka.future import Future
from stream_support import history_rows, online_state, wait_until

from featurebank.definitions import load_definitions
from featurebank.feast_repo import open_store
from streaming.consumer import make_producer
from streaming.processor import ProcessorOptions, StreamProcessor
from streaming.sinks.dlq import DeadLetterSink

NOW_MS = int(time.time() * 1000)


def good(device: int, level: int) -> bytes:
    return orjson.dumps({"device_id": device, "temp": 1.5, "level": level, "ok": True,
                         "label": "fine", "ratio": 0.5, "event_ts": NOW_MS - 60_000 + level})


BAD: list[tuple[str, bytes]] = [
    ("invalid_json", b'{"device_id": 1, "temp": '),
    ("invalid_json", b'[1, 2, 3]'),
    ("missing_join_key", orjson.dumps({"temp": 1.0, "event_ts": NOW_MS})),
    ("wrong_type", orjson.dumps({"device_id": 2, "temp": "hot", "event_ts": NOW_MS})),
    ("wrong_type", orjson.dumps({"device_id": "two", "event_ts": NOW_MS})),
    ("lossy_cast", orjson.dumps({"device_id": 2, "level": 2.5, "event_ts": NOW_MS})),
    ("lossy_cast", orjson.dumps({"device_id": 2, "level": 2**40, "event_ts": NOW_MS})),
    ("nan_forbidden", b'{"device_id": 3, "level": NaN, "event_ts": %d}' % NOW_MS),
    ("bad_timestamp", orjson.dumps({"device_id": 4, "event_ts": "yesterday"})),
    ("missing_timestamp", orjson.dumps({"device_id": 4})),
    ("timestamp_in_future", orjson.dumps({"device_id": 5, "event_ts": NOW_MS + 86_400_000})),
    ("timestamp_too_old", orjson.dumps({"device_id": 5, "event_ts": "1969-07-20T20:17:00Z"})),
    ("oversize", orjson.dumps({"device_id": 6, "label": "x" * 5000, "event_ts": NOW_MS})),
    ("invalid_utf8", b'{"device_id": 7, "label": "\xff\xfe", "event_ts": 1}'),
]


def test_each_malformed_class_is_dead_lettered(stream_repo_factory: Any, redis_url: str) -> None:
    repo = stream_repo_factory()
    messages: list[tuple[bytes | None, bytes, list[tuple[str, bytes]]]] = []
    for index, (_, payload) in enumerate(BAD):
        messages.append((b"k", good(100 + index, index), []))
        messages.append((b"bad", payload, [("trace", f"t{index}".encode())]))
    messages.append((b"k", good(999, 99), []))
    produce(repo.settings.kafka_bootstrap_servers, repo.topic, messages)
    processor = repo.start_processor()

    dead = read_topic(repo.settings.kafka_bootstrap_servers, f"{repo.topic}.dlq", len(BAD))
    assert len(dead) == len(BAD)
    by_offset = {int(dict(r.headers)["fb-origin-offset"]): r for r in dead}  # type: ignore[attr-defined]
    for index, (reason, payload) in enumerate(BAD):
        record = by_offset[2 * index + 1]
        headers = dict(record.headers)  # type: ignore[attr-defined]
        assert headers["fb-error-code"].decode() == reason, headers["fb-error-message"]
        assert record.value == payload  # type: ignore[attr-defined]
        assert headers["trace"] == f"t{index}".encode()
        assert headers["fb-origin-topic"].decode() == repo.topic
        assert headers["fb-origin-partition"] == b"0"
        assert headers["fb-error-message"]

    view = load_definitions(open_store(repo.settings)).views["device_readings"]
    client = redis.Redis.from_url(redis_url)
    devices = [100 + i for i in range(len(BAD))] + [999]
    wait_until(lambda: len(online_state(client, view, devices)) == len(devices), 20,
               "every valid event online")
    state = online_state(client, view, devices)
    assert state[100 + 3]["level"] == 3
    assert state[999]["label"] == "fine"
    totals = processor.metrics.totals
    # Dead letters are counted once their batch is committed, a moment after they are readable.
    wait_until(lambda: sum(v for k, v in totals.items() if k[0] == "dead") == len(BAD), 10,
               "the counters")
    assert totals["in", repo.topic] == len(messages)
    assert totals["dead", repo.topic, "invalid_json"] == 2
    assert totals["dead", repo.topic, "oversize"] == 1
    assert sum(v for k, v in totals.items() if k[0] == "dead") == len(BAD)


class GatedProducer:
    """A real producer whose records the "broker" refuses until `open` is set."""

    def __init__(self, producer: KafkaProducer) -> None:
        self.producer = producer
        self.open = threading.Event()

    def send(self, topic: str, **kwargs: Any) -> Any:
        if self.open.is_set():
            return self.producer.send(topic, **kwargs)
        future = Future()
        future.failure(NotEnoughReplicasError("refused by the test"))
        return future

    def flush(self, timeout: float | None = None) -> None:
        self.producer.flush(timeout=timeout)

    def close(self, timeout: float | None = None) -> None:
        self.producer.close(timeout=timeout)


def test_a_refused_dead_letter_holds_the_commit_until_it_is_acknowledged(
    stream_repo_factory: Any,
) -> None:
    repo = stream_repo_factory()
    bootstrap = repo.settings.kafka_bootstrap_servers
    produce(bootstrap, repo.topic, [(b"k", good(1, 1), []), (b"bad", b"{", []),
                                    (b"k", good(2, 2), [])])
    gate = GatedProducer(make_producer(bootstrap))
    processor = StreamProcessor(
        repo.settings, ProcessorOptions(session_timeout_ms=2000, heartbeat_interval_ms=500,
                                        offline_flush_s=0),
        dead_letters=DeadLetterSink(gate))  # type: ignore[arg-type]
    thread = threading.Thread(target=processor.run, daemon=True)
    thread.start()
    repo.threads.append((processor, thread))

    wait_until(lambda: processor.metrics.totals["retry", "broker"] >= 2, 30,
               "retries of the refused dead letter")
    assert committed_offsets(repo.settings, repo.topic, 1) == [None]
    assert history_rows(repo.history_dir()) == []  # nothing past the unconfirmed dead letter

    gate.open.set()
    dead = read_topic(bootstrap, f"{repo.topic}.dlq", 1)
    assert [dict(r.headers)["fb-origin-offset"] for r in dead] == [b"1"]  # type: ignore[attr-defined]
    wait_until(lambda: committed_offsets(repo.settings, repo.topic, 1) == [3], 30,
               "the commit once the dead letter is acknowledged")
    assert len(history_rows(repo.history_dir())) == 2
