"""Events with a known latest-by-event-time answer, and checks against Redis and Parquet."""

from __future__ import annotations

import collections
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import orjson
import redis

from featurebank.codec.values import decode_value
from featurebank.definitions import ViewSpec, load_definitions
from featurebank.feast_repo import open_store

BASE_SECONDS = int(time.time()) - 3 * 86_400
FEATURES = ("temp", "level", "ok", "label", "ratio")


@dataclass
class Workload:
    events: list[dict[str, Any]]       # distinct events
    messages: list[dict[str, Any]]     # what is produced: shuffled, with duplicates

    def latest(self) -> dict[int, dict[str, Any]]:
        best: dict[int, dict[str, Any]] = {}
        for event in self.events:
            current = best.get(event["device_id"])
            if current is None or event["event_ts"] > current["event_ts"]:
                best[event["device_id"]] = event
        return best

    def encoded(self) -> list[tuple[bytes | None, bytes, list[tuple[str, bytes]]]]:
        return [(str(m["device_id"]).encode(), orjson.dumps(m), []) for m in self.messages]


def make_workload(count: int, devices: int, *, out_of_order: float = 0.05,
                  duplicated: float = 0.02, seed: int = 7) -> Workload:
    """`count` events in time order per device, then a share moved late and a share repeated.

    Timestamps are epoch milliseconds, unique per device, so "latest" is well defined.
    """
    rng = random.Random(seed)
    events = []
    for index in range(count):
        device = rng.randint(1, devices)
        events.append({
            "device_id": device,
            "temp": round(rng.uniform(-20, 40), 3),
            "level": rng.randint(0, 1000),
            "ok": rng.random() < 0.5,
            "label": rng.choice(["a", "b", "c", "ü"]),
            "ratio": rng.choice([0.5, 0.25, 1.0, 2.0]),
            "event_ts": (BASE_SECONDS * 1000) + index * 7,
        })
    messages = list(events)
    late = rng.sample(range(len(messages)), int(count * out_of_order))
    for index in late:  # delay these events: they arrive after newer ones
        target = min(len(messages) - 1, index + rng.randint(50, 5000))
        messages[index], messages[target] = messages[target], messages[index]
    for event in rng.sample(events, int(count * duplicated)):
        messages.insert(rng.randint(0, len(messages)), event)
    return Workload(events, messages)


def online_state(client: redis.Redis, view: ViewSpec,
                 devices: list[int]) -> dict[int, dict[str, Any]]:
    pipe = client.pipeline(transaction=False)
    for device in devices:
        pipe.hgetall(view.codec.key([device]))
    out: dict[int, dict[str, Any]] = {}
    for device, stored in zip(devices, pipe.execute(), strict=True):
        if not stored or view.ts_field not in stored:
            continue
        out[device] = {name: decode_value(stored.get(spec.field))
                       for name, spec in view.features.items()}
    return out


def mismatches(expected: dict[int, dict[str, Any]], actual: dict[int, dict[str, Any]]) -> list[str]:
    problems = []
    for device, event in expected.items():
        got = actual.get(device)
        if got is None:
            problems.append(f"{device}: missing")
            continue
        for name in FEATURES:
            want, have = event[name], got[name]
            if isinstance(want, float):
                ok = have is not None and abs(float(have) - want) <= 1e-3 * max(1.0, abs(want))
            else:
                ok = want == have
            if not ok:
                problems.append(f"{device}.{name}: want {want!r} got {have!r}")
    return problems


def history_rows(directory: Path) -> list[tuple[int, int]]:
    """(device_id, event time in ms) of every history row, read with DuckDB.

    A running processor replaces uncommitted files, so a file globbed a moment ago can be gone
    when it is opened: the read is then taken again.
    """
    for _ in range(20):
        if not any(directory.glob("*.parquet")):
            return []
        connection = duckdb.connect()
        try:
            rows = connection.execute(
                "SELECT device_id, epoch_ms(event_ts) FROM read_parquet(?)",
                [str(directory / "*.parquet")],
            ).fetchall()
        except duckdb.IOException:
            time.sleep(0.05)
            continue
        finally:
            connection.close()
        return [(int(a), int(b)) for a, b in rows]
    raise AssertionError(f"history files in {directory} kept vanishing while being read")


def wait_until(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def assert_exact(repo: Any, workload: Workload, redis_url: str) -> None:
    produced = collections.Counter((m["device_id"], m["event_ts"]) for m in workload.messages)
    wait_until(lambda: collections.Counter(history_rows(repo.history_dir())) == produced, 60,
               "the history to hold every message exactly once")
    view = load_definitions(open_store(repo.settings)).views["device_readings"]
    latest = workload.latest()
    client = redis.Redis.from_url(redis_url)
    try:
        assert mismatches(latest, online_state(client, view, sorted(latest))) == []
    finally:
        client.close()
