"""Feast `Aggregation`s on a stream feature view: sliding windows per entity, exactly once."""

from __future__ import annotations

import random
from typing import Any

import orjson
import redis
from conftest import produce
from stream_support import wait_until

from featurebank.codec.values import decode_value
from featurebank.definitions import load_definitions
from featurebank.feast_repo import open_store

WINDOWED_VIEW = '''
from feast.aggregation import Aggregation

device_windows = StreamFeatureView(
    name="device_windows", entities=[device], ttl=timedelta(days=3650), source=readings,
    online=True, timestamp_field="event_ts",
    aggregations=[
        Aggregation(column="temp", function="sum", time_window=timedelta(minutes=10)),
        Aggregation(column="temp", function="max", time_window=timedelta(minutes=10)),
        Aggregation(column="level", function="count", time_window=timedelta(hours=1)),
        Aggregation(column="temp", function="mean", time_window=timedelta(hours=1),
                    name="temp_mean_1h"),
    ],
    schema=[Field(name="device_id", dtype=Int64), Field(name="sum_temp_600s", dtype=Float64),
            Field(name="max_temp_600s", dtype=Float64),
            Field(name="count_level_3600s", dtype=Int64),
            Field(name="temp_mean_1h", dtype=Float64)],
)
'''

BASE_MS = 1_763_900_000_000  # a fixed recent instant; events spread over the 2 hours before it


def reference(events: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    """Per device: each aggregation over the window ending at its newest event, by a loop."""
    out: dict[int, dict[str, Any]] = {}
    for device in {e["device_id"] for e in events}:
        mine = [e for e in events if e["device_id"] == device]
        newest = max(e["event_ts"] for e in mine)

        def within(ms: int, mine: list[dict[str, Any]] = mine,
                   newest: int = newest) -> list[dict[str, Any]]:
            return [e for e in mine if newest - ms < e["event_ts"] <= newest]

        ten, hour = within(600_000), within(3_600_000)
        temps_hour = [e["temp"] for e in hour if e["temp"] is not None]
        out[device] = {
            "sum_temp_600s": sum(e["temp"] for e in ten if e["temp"] is not None) if any(
                e["temp"] is not None for e in ten) else None,
            "max_temp_600s": max((e["temp"] for e in ten if e["temp"] is not None),
                                 default=None),
            "count_level_3600s": sum(1 for e in hour if e["level"] is not None),
            "temp_mean_1h": sum(temps_hour) / len(temps_hour) if temps_hour else None,
        }
    return out


def make_events(count: int, devices: int, seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    events = []
    for _ in range(count):
        events.append({
            "device_id": rng.randrange(devices),
            "temp": None if rng.random() < 0.05 else round(rng.uniform(-5, 40), 2),
            "level": None if rng.random() < 0.05 else rng.randrange(10),
            "ok": True, "label": "x", "ratio": 0.5,
            "event_ts": BASE_MS - rng.randrange(2 * 3_600_000),
        })
    return events  # random order: late events arrive after newer ones


def online(client: redis.Redis, view: Any, device: int) -> dict[str, Any]:
    raw = client.hgetall(view.codec.key([device]))
    return {name: decode_value(raw.get(spec.field)) for name, spec in view.features.items()
            if spec.field in raw}


def test_windowed_aggregations_equal_a_loop_and_survive_replay(
    stream_repo_factory: Any, redis_url: str,
) -> None:
    repo = stream_repo_factory(extra=WINDOWED_VIEW)
    events = make_events(3_000, 40, seed=7)
    produce(repo.settings.kafka_bootstrap_servers, repo.topic,
            [(str(e["device_id"]).encode(), orjson.dumps(e), []) for e in events])
    view = load_definitions(open_store(repo.settings)).views["device_windows"]
    expected = reference(events)
    client = redis.Redis.from_url(redis_url)

    def matches() -> bool:
        return all(_close(online(client, view, d), expected[d]) for d in expected)

    first = repo.start_processor(max_poll_records=300)
    wait_until(lambda: first.metrics.totals["in", repo.topic] == len(events), 60, "every event")
    wait_until(matches, 30, "every device's windows online")
    repo.stop_all()

    # A new group reads the same offsets again, as a replay after a crash would: the windows
    # must not count an event twice.
    repo.settings = repo.settings.model_copy(
        update={"consumer_group": repo.settings.consumer_group + "-replay"})
    second = repo.start_processor(max_poll_records=700)
    wait_until(lambda: second.metrics.totals["in", repo.topic] == len(events), 60,
               "the replay")
    repo.stop_all()  # finishes the batch in hand
    assert matches()
    client.close()


def _close(got: dict[str, Any], want: dict[str, Any]) -> bool:
    for name, value in want.items():
        have = got.get(name)
        if value is None or have is None:
            if value != have:
                return False
        elif abs(have - value) > 1e-6 * max(1.0, abs(value)):
            return False
    return True
