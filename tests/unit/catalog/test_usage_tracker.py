"""UsageTracker against a real Redis: deltas, merged totals, forward-only times, outages.

The plan objects are plain stand-ins for `LookupPlan` (only their counters matter here); the
Redis side is the session redis-server, each test under its own project name.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from typing import Any

import pytest
import redis
import redis.asyncio as aioredis

from featurebank.catalog.usage import UsageTracker
from featurebank.catalog.usage_store import Tally, exchange, usage_key
from tests.support.services import free_port


@dataclass
class Plan:
    id: int
    feature_refs: tuple[str, ...]
    service: str | None = None
    lookups: int = 0
    consumers: dict[str, int] = field(default_factory=dict)

    def read(self, n: int, who: str = "anonymous") -> None:
        self.lookups += n
        self.consumers[who] = self.consumers.get(who, 0) + n


@dataclass
class Plans:
    items: list[Plan]
    retired: list[Any] = field(default_factory=list)

    def plans(self) -> list[Any]:
        return list(self.items)


@pytest.fixture
def project() -> str:
    return "u" + uuid.uuid4().hex[:10]


def run(redis_url: str, body: Any) -> Any:
    async def main() -> Any:
        client = aioredis.Redis.from_url(redis_url)
        try:
            return await body(client)
        finally:
            await client.aclose()
    return asyncio.run(main())


def test_two_trackers_add_up_and_keep_consumers(redis_url: str, project: str) -> None:
    one, two = UsageTracker(), UsageTracker()
    plan_a = Plan(1, ("orders:total", "orders:count"))
    plan_b = Plan(1, ("orders:total",), service="checkout")
    plan_a.read(3, "team-a")
    plan_b.read(2, "team-b")

    async def body(client: aioredis.Redis) -> None:
        one.collect(Plans([plan_a]), now=100.0)
        assert await one.sync(client, project, load=True)
        two.collect(Plans([plan_b]), now=200.0)
        assert await two.sync(client, project, load=True)
        assert await one.sync(client, project, load=True)

    run(redis_url, body)
    for tracker in (one, two):
        assert tracker.source == "redis"
        assert tracker.features["orders:total"].count == 5
        assert tracker.features["orders:total"].last == 200.0
        assert tracker.features["orders:count"].count == 3
        assert tracker.views["orders"].consumers == {"team-a": 3, "team-b via checkout": 2}
        assert tracker.services["checkout"].as_dict()["consumers"] == [
            {"name": "team-b via checkout", "reads": 2, "last_read": 200.0}]
    assert one.tracking_since == min(one.started, two.started)


def test_pending_deltas_show_before_the_next_flush(redis_url: str, project: str) -> None:
    tracker = UsageTracker()
    plan = Plan(7, ("orders:total",))
    plan.read(1)

    async def body(client: aioredis.Redis) -> None:
        tracker.collect(Plans([plan]))
        await tracker.sync(client, project, load=True)
        plan.read(4)
        tracker.collect(Plans([plan]))  # not sent yet: counted on top of the shared totals
        assert tracker.features["orders:total"].count == 5
        await tracker.sync(client, project, load=False)
        assert tracker.features["orders:total"].count == 5  # sent: now part of the totals

    run(redis_url, body)
    check = redis.Redis.from_url(redis_url, decode_responses=True)
    assert check.hget(usage_key(project, "reads"), "feature:orders:total") == "5"
    check.close()


def test_last_read_only_moves_forward(redis_url: str, project: str) -> None:
    async def body(client: aioredis.Redis) -> Tally | None:
        newer = Tally()
        newer.add("view:orders", 1, {"x": 1}, 500.0, per_consumer=True)
        await exchange(client, project, newer, load=False)
        older = Tally(since=50.0)
        older.add("view:orders", 2, {"x": 2}, 300.0, per_consumer=True)
        await exchange(client, project, older, load=False)
        return await exchange(client, project, Tally(since=80.0), load=True)

    totals = run(redis_url, body)
    assert totals is not None
    assert totals.reads == {"view:orders": 3}
    assert totals.last == {"view:orders": 500.0}
    assert totals.consumers == {"view:orders\x1fx": 3}
    assert totals.consumer_last == {"view:orders\x1fx": 500.0}
    assert totals.since == 50.0  # the earliest start wins


def test_outage_falls_back_to_memory_and_resends_later(redis_url: str, project: str) -> None:
    tracker = UsageTracker()
    plan = Plan(3, ("orders:total",))
    plan.read(2)
    dead_url = f"redis://127.0.0.1:{free_port()}"

    async def body(client: aioredis.Redis) -> None:
        tracker.collect(Plans([plan]))
        assert await tracker.sync(client, project, load=True)
        plan.read(3)
        tracker.collect(Plans([plan]))
        dead = aioredis.Redis.from_url(dead_url, socket_connect_timeout=0.5)
        try:
            assert not await tracker.sync(dead, project, load=True)
        finally:
            await dead.aclose()
        assert tracker.source == "memory"
        assert tracker.features["orders:total"].count == 5  # this process's own count
        assert not tracker.load_due()  # back off instead of timing out on every read
        assert await tracker.sync(client, project, load=True)

    run(redis_url, body)
    assert tracker.source == "redis"
    assert tracker.features["orders:total"].count == 5  # the 3 held back were sent once


def test_retired_plans_are_drained_once() -> None:
    tracker = UsageTracker()
    plan = Plan(9, ("orders:total",))
    plan.read(2)
    cache = Plans([], retired=[plan])
    assert tracker.collect(cache)
    assert cache.retired == []
    assert not tracker.collect(cache)
    assert tracker.features["orders:total"].count == 2
    assert tracker.pending.reads == {"feature:orders:total": 2, "view:orders": 2}
