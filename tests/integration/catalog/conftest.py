"""The shop catalog applied to a real registry, with Parquet history, served by the real app."""

from __future__ import annotations

import uuid
import warnings
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
from featurebank.settings import Settings
from server.app import create_app
from tests.support.repos import write_repo
from tests.unit.catalog.shop_repo import SOURCE

CUSTOMERS = 200


@dataclass
class ShopApp:
    settings: Settings
    client: TestClient
    newest_event: datetime


def write_shop_data(data: Path, now: datetime) -> datetime:
    """Parquet history for most views (prices get none, to exercise the 'no data' path)."""
    rng = np.random.default_rng(7)
    data.mkdir(parents=True, exist_ok=True)
    ids = np.arange(1, CUSTOMERS + 1, dtype=np.int64)
    times = [now - timedelta(minutes=int(m)) for m in rng.integers(5, 600, CUSTOMERS)]
    newest = max(times)
    orders = rng.poisson(3, CUSTOMERS).astype(np.int64)
    value = rng.gamma(4.0, 20.0, CUSTOMERS)
    refund = [None if i % 10 == 0 else float(x) for i, x in enumerate(rng.beta(1, 12, CUSTOMERS))]
    pq.write_table(pa.table({
        "customer_id": ids, "event_timestamp": pa.array(times, pa.timestamp("us", "UTC")),
        "orders_count_7d": orders, "avg_order_value_30d": value,
        "refund_rate_90d": pa.array(refund, pa.float32()),
        "days_since_last_order": rng.integers(0, 60, CUSTOMERS).astype(np.int32),
    }), data / "customer_order_stats.parquet")
    tiers = rng.choice(["bronze", "silver", "gold", "platinum"], CUSTOMERS, p=[.5, .3, .15, .05])
    pq.write_table(pa.table({
        "customer_id": ids, "event_timestamp": pa.array(times, pa.timestamp("us", "UTC")),
        "signup_channel": rng.choice(["organic", "paid_search", "referral"], CUSTOMERS),
        "loyalty_tier": tiers, "is_email_verified": rng.random(CUSTOMERS) > 0.2,
        "account_age_days": rng.integers(1, 2000, CUSTOMERS).astype(np.int32),
    }), data / "customer_profile.parquet")
    merchants = [f"m-{i:04d}" for i in range(40)]
    pq.write_table(pa.table({
        "merchant_id": merchants,
        "event_timestamp": pa.array(times[:40], pa.timestamp("us", "UTC")),
        "chargeback_rate_30d": pa.array(rng.beta(1, 50, 40), pa.float32()),
        "dispute_count_30d": rng.integers(0, 9, 40).astype(np.int32),
        "fraud_score": pa.array(rng.random(40), pa.float32()),
    }), data / "merchant_risk.parquet")
    old = [now - timedelta(days=3)] * 50
    pq.write_table(pa.table({
        "product_id": np.arange(50, dtype=np.int64),
        "event_timestamp": pa.array(old, pa.timestamp("us", "UTC")),
        "stock_level": rng.integers(0, 500, 50).astype(np.int32),
        "restock_eta_days": pa.array(rng.random(50) * 10, pa.float32()),
        "warehouse_id": rng.choice(["wh-east", "wh-west"], 50),
    }), data / "inventory.parquet")
    for name in ("web_sessions", "app_sessions"):
        pq.write_table(pa.table({
            "customer_id": ids, "event_timestamp": pa.array(times, pa.timestamp("us", "UTC")),
            "session_count_7d": rng.integers(0, 30, CUSTOMERS).astype(np.int32),
        }), data / f"{name}.parquet")
    (data / "checkout").mkdir(exist_ok=True)
    pq.write_table(pa.table({
        "customer_id": ids[:20], "event_timestamp": pa.array(times[:20], pa.timestamp("us", "UTC")),
        "carts_open_5m": np.ones(20, np.int32), "checkout_attempts_5m": np.ones(20, np.int32),
        "payment_failures_5m": np.zeros(20, np.int32),
    }), data / "checkout" / "part-0.parquet")
    return newest


@pytest.fixture(scope="module")
def shop_app(tmp_path_factory: pytest.TempPathFactory, redis_url: str) -> Iterator[ShopApp]:
    root = tmp_path_factory.mktemp("shop")
    repo = write_repo(root, "shop_" + uuid.uuid4().hex[:8], SOURCE)
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, FEATUREBANK_REPO=str(repo), FEATUREBANK_DATA_DIR=str(root / "data"),
        REDIS_URL=redis_url, FEATUREBANK_REGISTRY_REFRESH_S=0,
    )
    newest = write_shop_data(settings.data_path, datetime.now(UTC))
    with warnings.catch_warnings():  # Feast warns that stream/on-demand views are alpha
        warnings.simplefilter("ignore", RuntimeWarning)
        apply_repo(settings)
    with TestClient(create_app(settings)) as client:
        yield ShopApp(settings, client, newest)
