"""A KafkaSource and stream view applied while the processor runs are consumed, no restart."""

from __future__ import annotations

import time
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import redis
from conftest import STREAM_DEFINITIONS, create_topic, produce
from stream_support import wait_until

from featurebank.codec.values import decode_value
from featurebank.definitions import load_definitions
from featurebank.feast_repo import apply_repo, open_store

LATER_VIEW = '''
import pandas as pd
from feast.stream_feature_view import stream_feature_view

sensor = Entity(name="sensor", join_keys=["sensor_id"], value_type=ValueType.STRING)
sensor_events = KafkaSource(
    name="sensor_events", topic="{topic}", kafka_bootstrap_servers=BOOTSTRAP,
    timestamp_field="ts", field_mapping={{"raw_value": "value"}},
    batch_source=FileSource(name="sensor_history", path=f"{{DATA}}/sensors/*.parquet",
                            timestamp_field="ts"),
    message_format=JsonFormat(schema_json="sensor_id STRING, raw_value DOUBLE, ts TIMESTAMP"),
)

@stream_feature_view(
    entities=[sensor], ttl=timedelta(days=1), mode="pandas", source=sensor_events, online=True,
    schema=[Field(name="sensor_id", dtype=String), Field(name="value", dtype=Float64),
            Field(name="doubled", dtype=Float64)],
)
def sensor_values(df: pd.DataFrame) -> pd.DataFrame:
    df["doubled"] = df["value"] * 2
    return df
'''


def test_view_applied_later_is_streamed(stream_repo_factory: Any, redis_url: str) -> None:
    repo = stream_repo_factory(refresh_s=0.5)
    processor = repo.start_processor()
    wait_until(lambda: repo.topic in processor.plan.topics, 10, "the first topic")

    later_topic = f"{repo.project}.sensors"
    create_topic(repo.settings.kafka_bootstrap_servers, later_topic)
    definitions = STREAM_DEFINITIONS.format(topic=repo.topic,
                                            extra=LATER_VIEW.format(topic=later_topic))
    (repo.root / "definitions.py").write_text(definitions)
    apply_repo(repo.settings)
    wait_until(lambda: later_topic in processor.plan.topics, 15, "the applied topic")

    now_ms = int(time.time() * 1000)
    produce(repo.settings.kafka_bootstrap_servers, later_topic, [
        (b"s1", orjson.dumps({"sensor_id": "s1", "raw_value": 2.5, "ts": now_ms - 10}), []),
        (b"s1", orjson.dumps({"sensor_id": "s1", "raw_value": 9.0, "ts": now_ms - 20}), []),
        (b"s2", orjson.dumps({"sensor_id": "s2", "raw_value": 4.0, "ts": now_ms}), []),
    ])
    view = load_definitions(open_store(repo.settings)).views["sensor_values"]
    client = redis.Redis.from_url(redis_url)

    def value(sensor: str, feature: str) -> object:
        return decode_value(client.hget(view.codec.key([sensor]), view.features[feature].field))

    wait_until(lambda: value("s2", "doubled") == 8.0, 20, "the transformed value online")
    assert value("s1", "value") == 2.5  # the newer event wins over the later-arriving older one
    assert value("s1", "doubled") == 5.0
    # The KafkaSource maps raw_value -> value; its batch source has no mapping, so the history
    # must also carry `value` for materialize and training sets to read it.
    wait_until(lambda: _history_rows(repo) == 3, 20, "the history")
    table = pa.concat_tables(pq.read_table(p) for p in
                             sorted((repo.settings.data_path / "sensors").glob("*.parquet")))
    assert sorted(zip(table.column("sensor_id").to_pylist(), table.column("value").to_pylist(),
                      strict=True)) == [("s1", 2.5), ("s1", 9.0), ("s2", 4.0)]
    # ... and what the view's transformation computed, so materialize reads the whole view.
    from featurebank.offline.latest import latest_rows
    from featurebank.offline.sources import offline_source

    latest = latest_rows(view, offline_source(view), start=None, end=None)
    try:
        newest = {r["sensor_id"]: (r["value"], r["doubled"]) for batch in latest.batches(100)
                  for r in batch.to_pylist()}
    finally:
        latest.close()
    assert newest == {"s1": (2.5, 5.0), "s2": (4.0, 8.0)}


def _history_rows(repo: Any) -> int:
    return sum(pq.read_metadata(p).num_rows
               for p in (repo.settings.data_path / "sensors").glob("*.parquet"))
