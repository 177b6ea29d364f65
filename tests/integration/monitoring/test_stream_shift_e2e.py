"""Must-show (issue 9), end to end: a shift injected into a stream reaches the webhook.

Events for a stream feature view go through the real broker and the real processor, which
writes their history as Parquet: first a reference period (days before the monitoring
window), then a detection period inside the window in which `pressure`'s mean moves by one
standard deviation. The API runs its periodic monitoring job every second with a webhook
receiver: the shifted feature's PSI crosses its threshold and exactly one PSI alert names it
(its Jensen-Shannon breach is a breach of its own, alerted once too), within one monitoring
period (plus the run that computes it) of the events landing; the unshifted features stay
under their threshold and are never alerted on.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import orjson
import pytest
from fastapi.testclient import TestClient
from kafka import KafkaProducer

from featurebank.feast_repo import apply_repo
from featurebank.settings import Settings
from server.app import create_app
from streaming.processor import ProcessorOptions
from tests.support.broker import create_topic, private_broker, processor_running
from tests.support.repos import write_repo
from tests.support.webhook import WebhookReceiver, webhook_receiver

pytestmark = [pytest.mark.integration,
              pytest.mark.filterwarnings(
                  "ignore:Stream feature views are experimental:RuntimeWarning")]

INTERVAL_S = 1.0
VIEW = "sensor_stats"
SHIFTED, STEADY = "pressure", ("humidity", "mode")
REFERENCE_EVENTS, DETECTION_EVENTS = 3000, 1500

DEFINITIONS = '''
import os
from datetime import timedelta
from feast import Entity, Field, FileSource, KafkaSource, ValueType
from feast.data_format import JsonFormat
from feast.stream_feature_view import StreamFeatureView
from feast.types import Float64, Int64, String

DATA = os.environ["FEATUREBANK_DATA_DIR"]
BOOTSTRAP = os.environ["KAFKA_BOOTSTRAP_SERVERS"]

sensor = Entity(name="sensor", join_keys=["sensor_id"], value_type=ValueType.INT64)
sensor_readings = KafkaSource(
    name="sensor_readings", topic="{topic}", kafka_bootstrap_servers=BOOTSTRAP,
    timestamp_field="event_ts",
    message_format=JsonFormat(schema_json=(
        "sensor_id BIGINT, pressure DOUBLE, humidity DOUBLE, mode STRING, event_ts TIMESTAMP")),
    batch_source=FileSource(name="sensor_history", path=f"{{DATA}}/sensor_history/*.parquet",
                            timestamp_field="event_ts"),
)
sensor_stats = StreamFeatureView(
    name="sensor_stats", entities=[sensor], ttl=timedelta(days=3650), source=sensor_readings,
    online=True,
    schema=[Field(name="sensor_id", dtype=Int64), Field(name="pressure", dtype=Float64),
            Field(name="humidity", dtype=Float64), Field(name="mode", dtype=String)],
)
'''


@pytest.fixture(scope="module")
def bootstrap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A private in-memory Tansu broker (the streaming tests' fixture lives in their conftest)."""
    with private_broker(tmp_path_factory.mktemp("tansu")) as address:
        yield address


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with webhook_receiver() as hook:
        yield hook


def _events(rng: np.random.Generator, count: int, start: datetime, end: datetime,
            pressure_mean: float) -> list[bytes]:
    span = (end - start).total_seconds()
    return [orjson.dumps({
        "sensor_id": int(rng.integers(1, 400)),
        "pressure": float(rng.normal(pressure_mean, 10.0)),
        "humidity": float(rng.normal(50.0, 5.0)),
        "mode": str(rng.choice(["eco", "normal", "boost"], p=[0.5, 0.3, 0.2])),
        "event_ts": int((start + timedelta(seconds=float(s))).timestamp() * 1000),
    }) for s in np.sort(rng.uniform(0, span, count))]


def _produce(bootstrap: str, topic: str, values: list[bytes]) -> None:
    producer = KafkaProducer(bootstrap_servers=bootstrap, linger_ms=20)
    try:
        for value in values:
            producer.send(topic, key=value[:20], value=value)
        producer.flush(timeout=60)
    finally:
        producer.close(timeout=5)


def _history_rows(directory: Path) -> int:
    """Rows of the stream's Parquet history (0 while a file is being replaced)."""
    if not any(directory.glob("*.parquet")):
        return 0
    connection = duckdb.connect()
    try:
        row = connection.execute("SELECT count(*) FROM read_parquet(?, union_by_name = true)",
                                 [str(directory / "*.parquet")]).fetchone()
    except duckdb.IOException:
        return 0
    finally:
        connection.close()
    return int(row[0]) if row else 0


def _wait(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.05)


def _alerts_on(receiver: WebhookReceiver, feature: str) -> list[dict[str, Any]]:
    with receiver.lock:
        return [body for body in receiver.received
                if body["view"] == VIEW and body["feature"] == feature]


def _psi_gauges(metrics: str) -> dict[str, float]:
    gauges = {}
    for line in metrics.splitlines():
        if line.startswith("featurebank_feature_psi{") and f'view="{VIEW}"' in line:
            feature = line.split('feature="', 1)[1].split('"', 1)[0]
            gauges[feature] = float(line.split()[-1])
    return gauges


def test_a_shift_injected_into_a_stream_alerts_once_for_that_feature_only(
    bootstrap: str, receiver: WebhookReceiver, tmp_path: Path,
    settings_factory: Callable[..., Settings],
) -> None:
    project = "s" + uuid.uuid4().hex[:10]
    topic = f"{project}.sensor_readings"
    create_topic(bootstrap, topic)
    settings = settings_factory(
        write_repo(tmp_path, project, DEFINITIONS.format(topic=topic)),
        KAFKA_BOOTSTRAP_SERVERS=bootstrap, FEATUREBANK_CONSUMER_GROUP=f"{project}-group",
        FEATUREBANK_MONITOR_INTERVAL_S=INTERVAL_S, FEATUREBANK_ALERT_WEBHOOK_URL=receiver.url)
    apply_repo(settings)
    history = settings.data_path / "sensor_history"

    options = ProcessorOptions(session_timeout_ms=2000, heartbeat_interval_ms=500,
                               offline_flush_s=0.2)
    with processor_running(settings, options):
        rng = np.random.default_rng(23)
        now = datetime.now(UTC)
        window_start = now - timedelta(hours=1)  # the job's default window: the last hour
        _produce(bootstrap, topic, _events(rng, REFERENCE_EVENTS, now - timedelta(days=6),
                                           window_start - timedelta(minutes=5), 100.0))
        _wait(lambda: _history_rows(history) == REFERENCE_EVENTS, 30, "the reference history")

        with TestClient(create_app(settings)) as api:
            def last_run() -> str | None:
                run: str | None = api.get("/monitoring/summary").json()["job"]["last_run_id"]
                return run

            _wait(lambda: last_run() is not None, 15, "a run over the reference alone")
            assert _alerts_on(receiver, SHIFTED) == []  # nothing to detect yet

            _produce(bootstrap, topic, _events(rng, DETECTION_EVENTS,
                                               window_start + timedelta(minutes=5),
                                               now - timedelta(minutes=1), 110.0))  # +1 sd
            _wait(lambda: _history_rows(history) == REFERENCE_EVENTS + DETECTION_EVENTS, 30,
                  "the detection events in the history")
            landed = time.monotonic()
            _wait(lambda: bool(_alerts_on(receiver, SHIFTED)), 10, "the alert on the shift")
            alerted_after = time.monotonic() - landed
            job = api.get("/monitoring/summary").json()["job"]
            run_s = job["last_finished"] - job["last_started"]
            fired_in = last_run()
            _wait(lambda: last_run() != fired_in, 10, "one more run (the breach persists)")
            time.sleep(0.3)  # that run's notifications are sent
            metrics = api.get("/metrics").text

    print(f"alert {alerted_after:.2f}s after the events landed "
          f"(interval {INTERVAL_S}s, run {run_s:.2f}s)")
    assert alerted_after <= INTERVAL_S + run_s + 0.5  # the first run after they landed fired
    shifted = _alerts_on(receiver, SHIFTED)
    keys = [body["key"] for body in shifted]
    assert len(keys) == len(set(keys)), keys  # each breach once, however many runs see it
    (alert,) = [body for body in shifted if body["metric"] == "psi"]
    assert alert["status"] == "firing"
    assert alert["value"] > alert["threshold"]
    assert {body["kind"] for body in shifted} == {"drift"}  # (Jensen-Shannon may fire too)
    assert {body["run_id"] for body in shifted} == {alert["run_id"]}
    for feature in STEADY:
        assert _alerts_on(receiver, feature) == []
    gauges = _psi_gauges(metrics)
    assert gauges[SHIFTED] > alert["threshold"]
    for feature in STEADY:
        assert gauges[feature] < alert["threshold"] / 4, gauges
