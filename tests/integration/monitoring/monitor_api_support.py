"""For the monitoring API/job tests: a throwaway repo with one view whose feature `x` shifts in
the last hour (and `y` does not), settings for an app over it, and the module fixtures the
tests share (`repo`, `client`, `no_runs`: import their `*_fixture` functions into a test
module)."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient

from featurebank.feast_repo import apply_repo
from featurebank.monitoring.store import runs_dir
from featurebank.settings import Settings
from server.app import create_app
from tests.support.repos import write_repo

DEFINITIONS = '''
import os
from datetime import timedelta
from feast import Entity, FeatureView, Field, FileSource, ValueType
from feast.types import Float64, Int64, String

DATA = os.environ["FEATUREBANK_DATA_DIR"]

account = Entity(name="account", join_keys=["account_id"], value_type=ValueType.INT64)
orders_source = FileSource(name="orders_src", path=f"{DATA}/orders.parquet",
                           timestamp_field="ts")
orders = FeatureView(
    name="orders", entities=[account], ttl=timedelta(days=30), online=True,
    source=orders_source, description="Order aggregates", owner="shop@example.com",
    schema=[Field(name="account_id", dtype=Int64),
            Field(name="x", dtype=Float64, description="shifts in the last hour"),
            Field(name="y", dtype=String, description="steady")],
)
'''

VIEW = "orders"
API_KEYS = "ops:admin-secret-0123456789:admin,viewer:read-secret-0123456789:read"
ADMIN = {"x-api-key": "admin-secret-0123456789"}
READER = {"x-api-key": "read-secret-0123456789"}


@dataclass
class MonitorRepo:
    repo: Path
    data: Path
    project: str


def write_orders(data: Path, now: datetime, *, shift: float) -> None:
    """A week of reference history, then the last hour with `x` moved by `shift` std devs."""
    rng = np.random.default_rng(11)
    reference, current = 3000, 1500
    window_start = now - timedelta(hours=1)
    ref_times = [window_start - timedelta(seconds=float(s))
                 for s in rng.uniform(120, 6.5 * 86400, reference)]
    cur_times = [window_start + timedelta(seconds=float(s))
                 for s in rng.uniform(60, 3500, current)]
    x = np.concatenate([rng.normal(0, 1, reference), rng.normal(shift, 1, current)])
    y = rng.choice(["a", "b", "c"], reference + current, p=[0.5, 0.3, 0.2])
    data.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table({
        "account_id": np.arange(reference + current, dtype=np.int64),
        "ts": pa.array(ref_times + cur_times, pa.timestamp("us", "UTC")),
        "x": x, "y": y,
    }), data / "orders.parquet")


def make_monitor_repo(root: Path, redis_url: str) -> MonitorRepo:
    project = "m" + uuid.uuid4().hex[:10]
    repo = write_repo(root, project, DEFINITIONS)
    data = root / "data"
    write_orders(data, datetime.now(UTC), shift=1.5)
    apply_repo(monitor_settings(repo, data, redis_url))
    return MonitorRepo(repo, data, project)


def monitor_settings(repo: Path, data: Path, redis_url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "FEATUREBANK_REPO": str(repo), "FEATUREBANK_DATA_DIR": str(data), "REDIS_URL": redis_url,
        "FEATUREBANK_REGISTRY_REFRESH_S": 0, "FEATUREBANK_API_KEYS": API_KEYS,
        "FEATUREBANK_MONITOR_INTERVAL_S": 0,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture(scope="module", name="repo")
def repo_fixture(tmp_path_factory: pytest.TempPathFactory, redis_url: str) -> MonitorRepo:
    """The monitor repo of a test module (built once: its history takes a while)."""
    return make_monitor_repo(tmp_path_factory.mktemp("monitor-repo"), redis_url)


@pytest.fixture(scope="module", name="client")
def client_fixture(repo: MonitorRepo, redis_url: str) -> Iterator[TestClient]:
    with TestClient(create_app(monitor_settings(repo.repo, repo.data, redis_url))) as client:
        yield client


@pytest.fixture(name="no_runs")
def no_runs_fixture(repo: MonitorRepo) -> None:
    """No persisted monitoring runs (use with `pytest.mark.usefixtures`)."""
    shutil.rmtree(runs_dir(repo.data), ignore_errors=True)
