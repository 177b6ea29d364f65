"""A real Tansu broker per session, and throwaway stream repos applied at test time."""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from kafka import KafkaConsumer, KafkaProducer
from kafka.structs import TopicPartition

from featurebank.feast_repo import apply_repo
from featurebank.settings import Settings
from streaming.processor import ProcessorOptions, StreamProcessor
from tests.support.broker import (
    create_topic,
    private_broker,
    start_processor_thread,
    stop_processors,
)
from tests.support.repos import write_repo

HERE = Path(__file__).parent

# One stream view over a KafkaSource with a Parquet history; `{topic}` and `{extra}` filled in.
STREAM_DEFINITIONS = '''
import os
from datetime import timedelta
from feast import Entity, Field, FileSource, KafkaSource, ValueType
from feast.data_format import JsonFormat
from feast.stream_feature_view import StreamFeatureView
from feast.types import Bool, Float32, Float64, Int32, Int64, String

DATA = os.environ["FEATUREBANK_DATA_DIR"]
BOOTSTRAP = os.environ["KAFKA_BOOTSTRAP_SERVERS"]

device = Entity(name="device", join_keys=["device_id"], value_type=ValueType.INT64)
readings = KafkaSource(
    name="readings", topic="{topic}", kafka_bootstrap_servers=BOOTSTRAP,
    timestamp_field="event_ts",
    message_format=JsonFormat(schema_json=(
        "device_id BIGINT, temp DOUBLE, level INT, ok BOOLEAN, label STRING, "
        "ratio FLOAT, event_ts TIMESTAMP")),
    batch_source=FileSource(name="readings_history", path=f"{{DATA}}/readings/*.parquet",
                            timestamp_field="event_ts"),
)
device_readings = StreamFeatureView(
    name="device_readings", entities=[device], ttl=timedelta(days=3650), source=readings,
    online=True,
    schema=[Field(name="device_id", dtype=Int64), Field(name="temp", dtype=Float64),
            Field(name="level", dtype=Int32), Field(name="ok", dtype=Bool),
            Field(name="label", dtype=String), Field(name="ratio", dtype=Float32)],
)
{extra}
'''


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Feast warns that stream views are experimental each time it builds one."""
    for item in items:
        if HERE in Path(str(item.path)).parents:
            item.add_marker(pytest.mark.filterwarnings(
                "ignore:Stream feature views are experimental:RuntimeWarning"))
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def bootstrap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A private in-memory Tansu broker for the session."""
    with private_broker(tmp_path_factory.mktemp("tansu")) as address:
        yield address


def produce(bootstrap: str, topic: str,
            messages: list[tuple[bytes | None, bytes, list[tuple[str, bytes]]]]) -> None:
    """Send (key, value, headers) in order and wait for every acknowledgement."""
    producer = KafkaProducer(bootstrap_servers=bootstrap, linger_ms=20, batch_size=512 * 1024,
                             max_request_size=4 * 1024 * 1024)
    try:
        for key, value, headers in messages:
            producer.send(topic, key=key, value=value, headers=headers)
        producer.flush(timeout=60)
    finally:
        producer.close(timeout=5)


def committed_offsets(settings: Settings, topic: str, partitions: int) -> list[int | None]:
    """The consumer group's committed offset of each partition (None: nothing committed)."""
    consumer = KafkaConsumer(bootstrap_servers=settings.kafka_bootstrap_servers,
                             group_id=settings.consumer_group, enable_auto_commit=False)
    try:
        return [consumer.committed(TopicPartition(topic, p)) for p in range(partitions)]
    finally:
        consumer.close()


def read_topic(bootstrap: str, topic: str, count: int, timeout: float = 20.0) -> list[object]:
    """Read `count` records of a topic from the start (counting, never trusting end offsets)."""
    consumer = KafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest",
                             enable_auto_commit=False, group_id=None, fetch_max_wait_ms=100)
    records: list[object] = []
    deadline = time.monotonic() + timeout
    try:
        while len(records) < count and time.monotonic() < deadline:
            for batch in consumer.poll(timeout_ms=200).values():
                records.extend(batch)
    finally:
        consumer.close()
    return records


@dataclass
class StreamRepo:
    settings: Settings
    topic: str
    root: Path
    project: str
    threads: list[tuple[StreamProcessor, threading.Thread]] = field(default_factory=list)

    def history_dir(self) -> Path:
        return self.settings.data_path / "readings"

    def start_processor(self, **overrides: object) -> StreamProcessor:
        """A processor in a thread of this test process; stopped at teardown."""
        values: dict[str, object] = {"session_timeout_ms": 2000, "heartbeat_interval_ms": 500,
                                     "max_message_bytes": 4096}
        values.update(overrides)
        running = start_processor_thread(
            self.settings, ProcessorOptions(**values))  # type: ignore[arg-type]
        self.threads.append(running)
        return running[0]

    def stop_all(self) -> None:
        stop_processors(self.threads)
        self.threads.clear()


@pytest.fixture
def stream_repo_factory(
    tmp_path: Path, unique_name: str, bootstrap: str, settings_factory: Callable[..., Settings],
) -> Iterator[Callable[..., StreamRepo]]:
    made: list[StreamRepo] = []

    def make(partitions: int = 1, extra: str = "", refresh_s: float = 1.0) -> StreamRepo:
        topic = f"{unique_name}.readings"
        create_topic(bootstrap, topic, partitions)
        repo = write_repo(tmp_path, unique_name,
                          STREAM_DEFINITIONS.format(topic=topic, extra=extra))
        settings = settings_factory(
            repo, KAFKA_BOOTSTRAP_SERVERS=bootstrap, FEATUREBANK_REGISTRY_REFRESH_S=refresh_s,
            FEATUREBANK_CONSUMER_GROUP=f"{unique_name}-group",
            FEATUREBANK_MAX_EVENT_SKEW_S=300)
        apply_repo(settings)
        stream_repo = StreamRepo(settings, topic, repo, unique_name)
        made.append(stream_repo)
        return stream_repo

    yield make
    for stream_repo in made:
        stream_repo.stop_all()


def processor_env(settings: Settings, **extra: str) -> dict[str, str]:
    """The environment a `featurebank stream` child needs to see this test's settings."""
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("FEATUREBANK_")}
    env.update(settings.feast_environment())
    env.update({
        "FEATUREBANK_REPO": str(settings.repo_path),
        "FEATUREBANK_DATA_DIR": str(settings.data_path),
        "REDIS_URL": settings.redis_url,
        "KAFKA_BOOTSTRAP_SERVERS": settings.kafka_bootstrap_servers,
        "FEATUREBANK_CONSUMER_GROUP": settings.consumer_group,
        "FEATUREBANK_REGISTRY_REFRESH_S": str(settings.registry_refresh_s),
        "FEATUREBANK_MAX_EVENT_SKEW_S": str(settings.max_event_skew_s),
    })
    env.update(extra)
    return env


def start_cli_processor(settings: Settings, workdir: Path, *args: str) -> subprocess.Popen[bytes]:
    """Start `featurebank stream` and return once it has said it is running."""
    import sys
    import time

    log_path = workdir / "processor.log"
    banner = b"stream processor in group"
    with log_path.open("ab") as log:
        started_before = log_path.read_bytes().count(banner)
        process = subprocess.Popen(
            [sys.executable, "-m", "featurebank.cli.main", "stream", "--metrics-port", "0",
             "--session-timeout-ms", "2000", "--heartbeat-interval-ms", "500", *args],
            env=processor_env(settings), cwd=workdir, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while log_path.read_bytes().count(banner) == started_before:
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise AssertionError("the processor did not start:\n"
                                 + log_path.read_text(errors="replace")[-2000:])
        time.sleep(0.05)
    return process
