"""Fixtures shared by every test directory."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis

from featurebank.settings import Settings
from tests.support.services import redis_server


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A private redis-server for the whole session (tests isolate by project/key names)."""
    with redis_server(tmp_path_factory.mktemp("redis")) as (url, _port):
        yield url


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


@pytest.fixture
def unique_name() -> str:
    """A project/topic/key prefix no other test uses."""
    return "t" + uuid.uuid4().hex[:10]


@pytest.fixture
def settings_factory(redis_url: str, tmp_path: Path) -> Callable[..., Settings]:
    """Settings pointing at the session Redis and a per-test data dir."""

    def make(repo: Path, **overrides: object) -> Settings:
        values: dict[str, object] = {
            "FEATUREBANK_REPO": str(repo),
            "FEATUREBANK_DATA_DIR": str(tmp_path / "data"),
            "REDIS_URL": redis_url,
            "FEATUREBANK_REGISTRY_REFRESH_S": 0,
        }
        values.update(overrides)
        return Settings(_env_file=None, **values)  # type: ignore[call-arg]

    return make
