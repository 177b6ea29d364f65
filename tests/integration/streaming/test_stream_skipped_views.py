"""A stream view whose aggregation cannot work is skipped at plan time and shown in `/health`.

It used to fail at its first write, on every replay: the processor crash-looped and no view of
the source was served.
"""

from __future__ import annotations

import time
from typing import Any

import orjson
import redis
from conftest import produce
from fastapi.testclient import TestClient
from stream_support import online_state, wait_until

from featurebank.definitions import load_definitions
from featurebank.feast_repo import open_store
from server.app import create_app
from streaming.status import skipped_key

BAD_VIEWS = '''
from feast.aggregation import Aggregation

label_sums = StreamFeatureView(
    name="label_sums", entities=[device], ttl=timedelta(days=3650), source=readings,
    online=True, timestamp_field="event_ts",
    aggregations=[Aggregation(column="label", function="sum", time_window=timedelta(hours=1))],
    schema=[Field(name="device_id", dtype=Int64), Field(name="sum_label_3600s", dtype=Float64)],
)
level_means = StreamFeatureView(
    name="level_means", entities=[device], ttl=timedelta(days=3650), source=readings,
    online=True, timestamp_field="event_ts",
    aggregations=[Aggregation(column="level", function="mean", time_window=timedelta(hours=1))],
    schema=[Field(name="device_id", dtype=Int64), Field(name="mean_level_3600s", dtype=Int64)],
)
'''


def test_wrongly_typed_aggregations_are_skipped_and_reported(
    stream_repo_factory: Any, redis_url: str,
) -> None:
    repo = stream_repo_factory(extra=BAD_VIEWS)
    now_ms = int(time.time() * 1000)
    events = [{"device_id": d, "temp": 1.5, "level": level, "ok": True, "label": "x",
               "ratio": 0.5, "event_ts": now_ms - 60_000 + level}
              for d in (1, 2) for level in (1, 2)]
    produce(repo.settings.kafka_bootstrap_servers, repo.topic,
            [(b"k", orjson.dumps(e), []) for e in events])
    processor = repo.start_processor()
    ((_, thread),) = repo.threads

    view = load_definitions(open_store(repo.settings)).views["device_readings"]
    client = redis.Redis.from_url(redis_url)
    wait_until(lambda: len(online_state(client, view, [1, 2])) == 2, 30,
               "the well-defined view of the same source served")
    assert online_state(client, view, [1, 2])[2]["level"] == 2
    assert thread.is_alive()
    assert sorted(processor.plan.skipped) == ["label_sums", "level_means"]
    assert "sum cannot take a string column" in processor.plan.skipped["label_sums"]
    assert "declared int64" in processor.plan.skipped["level_means"]
    assert client.ttl(skipped_key(repo.project)) > 0  # goes away when no processor reports

    with TestClient(create_app(repo.settings)) as api:
        response = api.get("/health")
    assert response.status_code == 200  # lookups are served: a load balancer keeps the API
    body = response.json()
    assert body["status"] == "degraded"
    stream = body["dependencies"]["stream"]
    assert stream["status"] == "degraded"
    assert "string column" in stream["skipped_views"]["label_sums"]["reason"]
    assert set(stream["skipped_views"]) == {"label_sums", "level_means"}
    client.close()
