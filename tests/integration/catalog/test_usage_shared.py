"""Usage counts shared through Redis: summed across app instances, kept across restarts.

Each test applies a tiny throwaway repo under its own project name, so the usage hashes in the
session Redis (`featurebank:usage:<project>:*`) belong to that test alone. Two
`TestClient(create_app(settings))` on the same Redis stand in for two replicas.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
import redis.asyncio as aioredis
from fastapi.testclient import TestClient

from featurebank.catalog.usage import UsageTracker
from featurebank.catalog.usage_store import usage_key
from featurebank.feast_repo import apply_repo
from featurebank.settings import Settings
from server.app import create_app
from tests.support.repos import write_repo
from tests.support.services import free_port

pytestmark = pytest.mark.integration

SOURCE = '''
import os
from datetime import timedelta

from feast import Entity, FeatureService, FeatureView, Field, FileSource, ValueType
from feast.types import Float64, Int64

DATA = os.environ.get("FEATUREBANK_DATA_DIR", "/tmp/usage-data")
account = Entity(name="account", join_keys=["account_id"], value_type=ValueType.INT64)
ledger = FeatureView(
    name="ledger", entities=[account], ttl=timedelta(days=1),
    schema=[Field(name="account_id", dtype=Int64), Field(name="balance", dtype=Float64),
            Field(name="txn_count", dtype=Int64)],
    source=FileSource(name="ledger_src", path=f"{DATA}/ledger.parquet",
                      timestamp_field="event_timestamp"),
)
limits = FeatureView(
    name="limits", entities=[account], ttl=timedelta(days=1),
    schema=[Field(name="account_id", dtype=Int64), Field(name="credit_limit", dtype=Float64)],
    source=FileSource(name="limits_src", path=f"{DATA}/limits.parquet",
                      timestamp_field="event_timestamp"),
)
scoring = FeatureService(name="scoring", features=[ledger[["balance"]], limits])
'''


@pytest.fixture
def settings(tmp_path: Path, redis_url: str) -> Settings:
    repo = write_repo(tmp_path, "usage_" + uuid.uuid4().hex[:8], SOURCE)
    made = Settings(  # type: ignore[call-arg]
        _env_file=None, FEATUREBANK_REPO=str(repo), FEATUREBANK_DATA_DIR=str(tmp_path / "data"),
        REDIS_URL=redis_url, FEATUREBANK_REGISTRY_REFRESH_S=0,
    )
    apply_repo(made)
    return made


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    yield client
    client.close()


def state_of(client: TestClient) -> Any:
    return client.app.state.featurebank  # type: ignore[attr-defined]


def usage_of(client: TestClient) -> UsageTracker:
    usage = state_of(client).extras["catalog_usage"]
    assert isinstance(usage, UsageTracker)
    return usage


def lookup(client: TestClient, times: int, features: list[str] | None = None,
           service: str | None = None) -> None:
    body: dict[str, Any] = {"entities": {"account_id": [1, 2]}}
    body.update({"feature_service": service} if service else {"features": features})
    for _ in range(times):
        reply = client.post("/get-online-features", json=body)
        assert reply.status_code == 200, reply.text


def feature_reads(client: TestClient) -> dict[str, dict[str, Any]]:
    body = client.get("/catalog/feature-views/ledger", params={"stats": "false"}).json()
    return {f["ref"]: f for f in body["features"]}


def test_two_instances_see_summed_counts_and_a_restart_keeps_them(settings: Settings) -> None:
    before = time.time()
    with TestClient(create_app(settings)) as a, TestClient(create_app(settings)) as b:
        for client in (a, b):
            usage_of(client).interval = 0.0  # every catalog read syncs with Redis
        lookup(a, 3, ["ledger:balance"])
        assert a.get("/catalog/consumers").status_code == 200  # a's reads reach Redis
        lookup(b, 2, ["ledger:balance", "ledger:txn_count"])
        lookup(b, 1, service="scoring")
        for client in (b, a):
            reads = feature_reads(client)
            assert reads["ledger:balance"]["reads"] == 6
            assert reads["ledger:txn_count"]["reads"] == 2
            assert reads["ledger:balance"]["last_read"] >= before
        consumers = a.get("/catalog/consumers").json()
        assert consumers["usage_source"] == "redis"
        [anonymous] = consumers["consumers"]
        assert anonymous["consumer"] == "anonymous"
        assert anonymous["reads"] == 5 + 1 + 1  # ledger 5 + ledger and limits via scoring
        assert {(v["view"], v["via"], v["reads"]) for v in anonymous["views"]} == {
            ("ledger", None, 5), ("ledger", "scoring", 1), ("limits", "scoring", 1)}
        service = a.get("/catalog/feature-services/scoring").json()["usage"]
        assert service["reads"] == 1
        hit = a.get("/catalog/search", params={"q": "balance", "kind": "feature"}).json()["hits"][0]
        assert hit["name"] == "ledger:balance"
        assert hit["why"]["usage"]["reads"] == 6
        lookup(a, 1, ["limits:credit_limit"])  # never read through a's catalog: flushed on exit
    with TestClient(create_app(settings)) as c:
        reads = feature_reads(c)
        assert reads["ledger:balance"]["reads"] == 6
        limits = c.get("/catalog/feature-views/limits", params={"stats": "false"}).json()
        assert {f["ref"]: f["reads"] for f in limits["features"]} == {"limits:credit_limit": 2}
        unused = c.get("/catalog/unused", params={"days": 1}).json()
        assert unused["usage_source"] == "redis"
        assert before - 5 <= unused["tracking_since"] <= time.time()
        assert unused["features"] == []  # every feature was read by one replica or another


def test_background_task_flushes_without_catalog_reads(settings: Settings,
                                                       redis_client: redis.Redis) -> None:
    with TestClient(create_app(settings)) as client:
        project = state_of(client).definitions.project
        lookup(client, 4, ["ledger:txn_count"])
        deadline = time.monotonic() + 6
        reads = usage_key(project, "reads")
        while time.monotonic() < deadline and redis_client.hget(reads, "feature:ledger:txn_count") \
                != "4":
            time.sleep(0.1)
        # flushed by the periodic task while the app runs, not only on shutdown
        assert redis_client.hget(reads, "feature:ledger:txn_count") == "4"
        assert "catalog" not in state_of(client).extras  # the index was never built
    assert redis_client.hgetall(reads) == {"feature:ledger:txn_count": "4", "view:ledger": "4"}
    last = float(str(redis_client.hget(usage_key(project, "last"), "view:ledger") or 0))
    assert time.time() - 30 < last <= time.time()
    assert redis_client.hgetall(usage_key(project, "consumers")) == {
        "view:ledger\x1fanonymous": "4"}


def test_unused_respects_days_over_shared_last_read(settings: Settings,
                                                    redis_client: redis.Redis) -> None:
    with TestClient(create_app(settings)) as client:
        project = state_of(client).definitions.project
        ten_days_ago = time.time() - 10 * 86400
        # another replica read ledger:txn_count ten days ago
        redis_client.hset(usage_key(project, "reads"), "feature:ledger:txn_count", "7")
        redis_client.hset(usage_key(project, "last"), "feature:ledger:txn_count",
                          repr(ten_days_ago))
        lookup(client, 1, ["ledger:balance"])

        def unused(days: float) -> dict[str, Any]:
            usage_of(client).interval = 0.0
            body: dict[str, Any] = client.get("/catalog/unused", params={"days": days}).json()
            return {f["feature"]: f["last_read"] for f in body["features"]}

        week = unused(7)
        assert "ledger:balance" not in week
        assert week["ledger:txn_count"] == pytest.approx(ten_days_ago)
        assert week["limits:credit_limit"] is None
        month = unused(30)
        assert "ledger:txn_count" not in month
        assert set(month) == {"limits:credit_limit"}
        assert feature_reads(client)["ledger:txn_count"]["reads"] == 7
        page = client.get("/ui/usage", params={"days": 7})
        assert page.status_code == 200
        assert "ledger:txn_count" in page.text
        assert "summed over every API replica" in page.text


def test_catalog_answers_from_memory_when_redis_is_down(settings: Settings,
                                                        redis_client: redis.Redis) -> None:
    with TestClient(create_app(settings)) as client:
        state = state_of(client)
        project = state.definitions.project
        usage_of(client).interval = 0.0
        lookup(client, 2, ["ledger:balance"])
        assert feature_reads(client)["ledger:balance"]["reads"] == 2
        working = state.redis
        state.redis = aioredis.Redis.from_url(f"redis://127.0.0.1:{free_port()}",
                                              socket_connect_timeout=0.5, socket_timeout=0.5)
        try:
            lookup(client, 3, ["ledger:balance"])  # lookups use their own connection
            assert feature_reads(client)["ledger:balance"]["reads"] == 5  # this process's count
            for path, params in [("/catalog/search", {"q": "balance"}),
                                 ("/catalog/unused", {"days": 1}), ("/catalog/consumers", {}),
                                 ("/ui/usage", {}), ("/", {"q": "balance"})]:
                reply = client.get(path, params=params)
                assert reply.status_code == 200, (path, reply.text)
            assert client.get("/catalog/consumers").json()["usage_source"] == "memory"
        finally:
            state.redis = working
        usage_of(client).load_due = lambda: True  # type: ignore[method-assign]
        assert feature_reads(client)["ledger:balance"]["reads"] == 5  # resent after the outage
        assert redis_client.hget(usage_key(project, "reads"), "feature:ledger:balance") == "5"
