"""Out-of-order and duplicated events converge online to latest-by-event-time; history exact."""

from __future__ import annotations

import collections
import time
from typing import Any

import pytest
import redis
from conftest import produce
from stream_support import (
    history_rows,
    make_workload,
    mismatches,
    online_state,
    wait_until,
)

from featurebank.definitions import load_definitions
from featurebank.feast_repo import open_store

pytestmark = pytest.mark.slow

EVENTS = 50_000
DEVICES = 2_000


def test_out_of_order_and_duplicates_converge(stream_repo_factory: Any, redis_url: str) -> None:
    repo = stream_repo_factory(partitions=2)
    workload = make_workload(EVENTS, DEVICES)
    started = time.monotonic()
    produce(repo.settings.kafka_bootstrap_servers, repo.topic, workload.encoded())
    produced_s = time.monotonic() - started
    processor = repo.start_processor()
    expected_rows = len(workload.messages)
    wait_until(lambda: len(history_rows(repo.history_dir())) >= expected_rows, 60,
               "the history to hold every message")
    processed_s = time.monotonic() - started - produced_s
    print(f"produced {expected_rows} in {produced_s:.1f}s, processed in {processed_s:.1f}s")

    store = open_store(repo.settings)
    view = load_definitions(store).views["device_readings"]
    client = redis.Redis.from_url(redis_url)
    latest = workload.latest()
    actual = online_state(client, view, sorted(latest))
    assert mismatches(latest, actual) == []

    # Stock Feast reads the same values back.
    sample = sorted(latest)[:200]
    feast_values = store.get_online_features(
        features=[f"device_readings:{name}" for name in ("temp", "level", "label")],
        entity_rows=[{"device_id": device} for device in sample],
    ).to_dict()
    for index, device in enumerate(sample):
        assert feast_values["level"][index] == latest[device]["level"]
        assert feast_values["label"][index] == latest[device]["label"]
        assert feast_values["temp"][index] == pytest.approx(latest[device]["temp"])

    # History: every produced message exactly once (a duplicated message is two records).
    produced = collections.Counter((m["device_id"], m["event_ts"]) for m in workload.messages)
    assert collections.Counter(history_rows(repo.history_dir())) == produced
    assert processor.metrics.totals["in", repo.topic] >= expected_rows
