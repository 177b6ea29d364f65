"""An older event never overwrites a newer one: in sequence, replayed, or from two writers."""

from __future__ import annotations

import random
import threading
from datetime import UTC, datetime, timedelta

import pyarrow as pa
import redis

from featurebank.codec.timestamps import decode_timestamp
from featurebank.codec.values import decode_value
from featurebank.online.rows import rows_from_table
from featurebank.online.writer import RedisOnlineWriter
from tests.integration.online.conftest import SampleRepo

BASE = datetime(2025, 1, 1, tzinfo=UTC)


def table_for(ids: list[int], minutes: list[int]) -> pa.Table:
    return pa.table({
        "account_id": pa.array(ids, pa.int64()),
        "visits": pa.array(minutes, pa.int64()),
        "ts": pa.array([BASE + timedelta(minutes=m, microseconds=7) for m in minutes],
                       pa.timestamp("us", tz="UTC")),
    })


def stored(client: redis.Redis, sample: SampleRepo, account: int) -> tuple[int, int]:
    view = sample.definitions.views["account_stats"]
    key = view.codec.key([account])
    value, ts = client.hmget(key, [view.features["visits"].field, view.ts_field])
    seconds, _ = decode_timestamp(ts)
    return decode_value(value), seconds


def test_older_event_is_skipped_and_equal_is_rewritten(sample_repo: SampleRepo,
                                                       redis_client: redis.Redis) -> None:
    view = sample_repo.definitions.views["account_stats"]
    writer = RedisOnlineWriter(redis_client)
    assert writer.write(rows_from_table(view, table_for([5001], [30]), "ts")) == 1
    assert writer.write(rows_from_table(view, table_for([5001], [10]), "ts")) == 0
    assert writer.write(rows_from_table(view, table_for([5001], [30]), "ts")) == 1
    assert stored(redis_client, sample_repo, 5001)[0] == 30
    redis_client.script_flush()  # the writer must survive a lost script cache
    assert writer.write(rows_from_table(view, table_for([5001], [31]), "ts")) == 1
    assert stored(redis_client, sample_repo, 5001)[0] == 31


def test_two_concurrent_writers_converge_on_the_newest(sample_repo: SampleRepo,
                                                       redis_url: str) -> None:
    view = sample_repo.definitions.views["account_stats"]
    accounts = list(range(6000, 6200))
    events = [(a, m) for a in accounts for m in range(40)]
    random.Random(11).shuffle(events)
    halves = [events[0::2], events[1::2]]

    def run(part: list[tuple[int, int]]) -> None:
        client = redis.Redis.from_url(redis_url)
        writer = RedisOnlineWriter(client, batch_size=7, calls_per_flush=3)
        for start in range(0, len(part), 50):
            chunk = part[start:start + 50]
            table = table_for([a for a, _ in chunk], [m for _, m in chunk])
            writer.write(rows_from_table(view, table, "ts"))
        client.close()

    threads = [threading.Thread(target=run, args=(h,)) for h in halves]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    client = redis.Redis.from_url(redis_url)
    newest = int((BASE + timedelta(minutes=39)).timestamp())
    wrong = [a for a in accounts if stored(client, sample_repo, a) != (39, newest)]
    assert wrong == []
