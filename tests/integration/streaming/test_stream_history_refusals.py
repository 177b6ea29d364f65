"""History the offline write refuses: bad rows are dead-lettered, a bad disk is retried.

A row whose value does not fit the type the history directory's files give its column used
to be written anyway (readers then saw the column change type); an error raised for the data
would have stopped the processor, and every restart would replay the batch into it again. An
environment failure (a directory that is a file, a full disk) was retried without end, seen
only in logs: now `/health` shows it while it lasts.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import redis
from conftest import committed_offsets, produce, read_topic
from fastapi.testclient import TestClient
from stream_support import online_state, wait_until

from featurebank.definitions import load_definitions
from featurebank.feast_repo import open_store
from server.app import create_app

NOW_MS = int(time.time() * 1000)


def _event(device: int, level: int) -> bytes:
    return orjson.dumps({"device_id": device, "temp": 1.5, "level": level, "ok": True,
                         "label": "x", "ratio": 0.5, "event_ts": NOW_MS - 60_000 + device})


def _history_levels(directory: Any) -> tuple[set[pa.DataType], dict[int, int]]:
    types, levels = set(), {}
    for path in sorted(directory.glob("*.parquet")):
        table = pq.read_table(path)
        types.add(table.schema.field("level").type)
        for device, level in zip(table.column("device_id").to_pylist(),
                                 table.column("level").to_pylist(), strict=True):
            levels[device] = level
    return types, levels


def test_a_value_that_does_not_fit_the_existing_history_is_dead_lettered(
    stream_repo_factory: Any, redis_url: str,
) -> None:
    repo = stream_repo_factory()
    directory = repo.history_dir()
    directory.mkdir(parents=True)
    backfill = pa.table({"device_id": pa.array([100], pa.int64()),
                         "level": pa.array([7], pa.int16()),  # a backfill with narrower levels
                         "event_ts": pa.array([datetime.now(UTC)], pa.timestamp("us", tz="UTC"))})
    pq.write_table(backfill, directory / "backfill.parquet")
    levels = {1: 10, 2: 20, 3: 100_000, 4: 40}  # 100,000 does not fit an int16
    produce(repo.settings.kafka_bootstrap_servers, repo.topic,
            [(b"k", _event(device, level), []) for device, level in levels.items()])
    processor = repo.start_processor(offline_flush_s=0.2)
    ((_, thread),) = repo.threads

    dead = read_topic(repo.settings.kafka_bootstrap_servers, f"{repo.topic}.dlq", 1)
    assert [int(dict(r.headers)["fb-origin-offset"]) for r in dead] == [2]  # type: ignore[attr-defined]
    headers = dict(dead[0].headers)  # type: ignore[attr-defined]
    assert headers["fb-error-code"] == b"write_failed"
    assert b"'level'" in headers["fb-error-message"]
    assert b"100000" in headers["fb-error-message"]
    assert orjson.loads(dead[0].value)["level"] == 100_000  # type: ignore[attr-defined]
    wait_until(lambda: committed_offsets(repo.settings, repo.topic, 1) == [4], 30,
               "every offset committed")
    types, stored = _history_levels(directory)
    assert types == {pa.int16()}  # readers see one type for the column
    assert stored == {100: 7, 1: 10, 2: 20, 4: 40}
    view = load_definitions(open_store(repo.settings)).views["device_readings"]
    client = redis.Redis.from_url(redis_url)
    assert online_state(client, view, [3])[3]["level"] == 100_000  # online had room for it
    client.close()
    assert thread.is_alive()
    assert processor.metrics.totals["dead", repo.topic, "write_failed"] == 1


def test_a_history_directory_that_is_a_file_is_retried_and_shown_in_health(
    stream_repo_factory: Any,
) -> None:
    repo = stream_repo_factory()
    directory = repo.history_dir()
    directory.parent.mkdir(parents=True, exist_ok=True)
    directory.write_bytes(b"in the way")
    produce(repo.settings.kafka_bootstrap_servers, repo.topic,
            [(b"k", _event(device, device), []) for device in (1, 2, 3)])
    repo.start_processor(offline_flush_s=0.2)
    ((_, thread),) = repo.threads
    where = f"{repo.topic}[0]"

    with TestClient(create_app(repo.settings)) as api:
        def failing() -> bool:
            stream = api.get("/health").json()["dependencies"]["stream"]
            return where in stream.get("history_failing", {})

        wait_until(failing, 30, "/health to show the failing history write")
        body = api.get("/health").json()
        assert body["status"] == "degraded"
        reason = body["dependencies"]["stream"]["history_failing"][where]["reason"]
        assert "FileExistsError" in reason
        assert str(directory) in reason
        assert committed_offsets(repo.settings, repo.topic, 1) == [None]  # nothing lost
        assert thread.is_alive()

        directory.unlink()  # the operator fixes it: the retry writes and commits
        wait_until(lambda: committed_offsets(repo.settings, repo.topic, 1) == [3], 30,
                   "every offset committed once the directory is usable")
        assert _history_levels(directory)[1] == {1: 1, 2: 2, 3: 3}
        wait_until(lambda: api.get("/health").json()["dependencies"]["stream"]
                   == {"status": "ok"}, 10, "/health to clear")
    assert thread.is_alive()
