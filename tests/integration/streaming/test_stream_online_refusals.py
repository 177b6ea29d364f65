"""Rows the online store refuses for good are dead-lettered; the processor never stops on them.

A refusal that writing again cannot fix (a Redis key of another type, values a view's
aggregation cannot compute) used to end the processor; restarted, it replayed the same batch
and ended again: a crash loop that held up every view of the source.
"""

from __future__ import annotations

import time
from typing import Any

import orjson
import redis
from conftest import committed_offsets, produce, read_topic
from stream_support import online_state, wait_until

from featurebank.definitions import load_definitions
from featurebank.feast_repo import open_store

NOW_MS = int(time.time() * 1000)

# Passes the plan's type checks (the transformation's output type is not known before it runs)
# but makes a STRING column that `sum` cannot add, for every row.
STRING_SUMS = '''
import pandas as pd
from feast.aggregation import Aggregation
from feast.stream_feature_view import stream_feature_view

@stream_feature_view(
    entities=[device], ttl=timedelta(days=3650), mode="pandas", source=readings, online=True,
    timestamp_field="event_ts",
    aggregations=[Aggregation(column="score", function="sum", time_window=timedelta(hours=1))],
    schema=[Field(name="device_id", dtype=Int64), Field(name="sum_score_3600s", dtype=Float64)],
)
def device_scores(df: pd.DataFrame) -> pd.DataFrame:
    df["score"] = "high"
    return df
'''


def _event(device: int, level: int) -> bytes:
    return orjson.dumps({"device_id": device, "temp": 1.5, "level": level, "ok": True,
                         "label": "x", "ratio": 0.5, "event_ts": NOW_MS - 60_000 + level})


def test_a_key_of_another_type_dead_letters_only_its_rows(stream_repo_factory: Any,
                                                          redis_url: str) -> None:
    repo = stream_repo_factory()
    view = load_definitions(open_store(repo.settings)).views["device_readings"]
    client = redis.Redis.from_url(redis_url)
    client.set(view.codec.key([2]), b"not a hash")  # WRONGTYPE for device 2's monotonic write
    messages = [(b"k", _event(device, level), []) for level in (1, 2) for device in (1, 2, 3)]
    produce(repo.settings.kafka_bootstrap_servers, repo.topic, messages)
    processor = repo.start_processor()
    ((_, thread),) = repo.threads

    dead = read_topic(repo.settings.kafka_bootstrap_servers, f"{repo.topic}.dlq", 2)
    assert sorted(int(dict(r.headers)["fb-origin-offset"]) for r in dead) == [1, 4]  # type: ignore[attr-defined]
    headers = dict(dead[0].headers)  # type: ignore[attr-defined]
    assert headers["fb-error-code"] == b"write_failed"
    assert b"WRONGTYPE" in headers["fb-error-message"]
    wait_until(lambda: committed_offsets(repo.settings, repo.topic, 1) == [len(messages)], 30,
               "every offset committed")
    state = online_state(client, view, [1, 3])
    assert state[1]["level"] == 2
    assert state[3]["level"] == 2
    assert client.get(view.codec.key([2])) == b"not a hash"  # nothing of it was overwritten
    assert thread.is_alive()
    assert processor.metrics.totals["dead", repo.topic, "write_failed"] == 2
    client.close()


def test_a_view_that_fails_at_write_time_does_not_hold_up_the_others(
    stream_repo_factory: Any, redis_url: str,
) -> None:
    repo = stream_repo_factory(extra=STRING_SUMS)
    messages = [(b"k", _event(device, 1), []) for device in (1, 2)]
    produce(repo.settings.kafka_bootstrap_servers, repo.topic, messages)
    repo.start_processor()
    ((_, thread),) = repo.threads

    dead = read_topic(repo.settings.kafka_bootstrap_servers, f"{repo.topic}.dlq", 2)
    assert len(dead) == 2
    for record in dead:
        headers = dict(record.headers)  # type: ignore[attr-defined]
        assert headers["fb-error-code"] == b"write_failed"
        assert b"device_scores" in headers["fb-error-message"]
    view = load_definitions(open_store(repo.settings)).views["device_readings"]
    client = redis.Redis.from_url(redis_url)
    wait_until(lambda: len(online_state(client, view, [1, 2])) == 2, 20, "the other view")
    wait_until(lambda: committed_offsets(repo.settings, repo.topic, 1) == [2], 30,
               "every offset committed")
    assert thread.is_alive()
    client.close()
