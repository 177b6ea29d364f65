"""The acceptance tester's Feast repo (Bytes, lists, ODFVs, Kafka and push sources), at test time.

Written, applied and filled with Parquet history per test so regression tests for the bugs it
found never depend on the demo catalog. `write_shopfin_data` is a trimmed copy of its `gen.py`.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from featurebank.feast_repo import apply_repo
from featurebank.settings import Settings
from tests.support.repos import write_repo

DEFINITIONS = '''
import os
from datetime import timedelta

import pandas as pd
from feast import (Entity, FeatureService, FeatureView, Field, FileSource, KafkaSource,
                   PushSource, RequestSource, ValueType)
from feast.data_format import JsonFormat, ParquetFormat
from feast.on_demand_feature_view import on_demand_feature_view
from feast.stream_feature_view import StreamFeatureView
from feast.types import Array, Bool, Bytes, Float32, Float64, Int32, Int64, String, UnixTimestamp

DATA = os.environ["FEATUREBANK_DATA_DIR"]

customer = Entity(name="customer", join_keys=["customer_id"], value_type=ValueType.STRING,
                  description="Shop customer, string id like 'C-0001'", owner="risk@shop.io",
                  tags={"team": "risk"})
merchant = Entity(name="merchant", join_keys=["merchant_id"], value_type=ValueType.INT64,
                  description="Merchant account", owner="payments@shop.io")

profile_src = FileSource(name="customer_profile_src",
                         path=f"{DATA}/offline/customer_profile.parquet",
                         file_format=ParquetFormat(), timestamp_field="ts",
                         created_timestamp_column="created",
                         field_mapping={"cust_segment": "segment"}, description="CRM snapshot")
customer_profile = FeatureView(
    name="customer_profile", entities=[customer], ttl=None,
    schema=[Field(name="customer_id", dtype=String), Field(name="age", dtype=Int32),
            Field(name="credit_score", dtype=Float32), Field(name="is_verified", dtype=Bool),
            Field(name="segment", dtype=String), Field(name="avatar_hash", dtype=Bytes),
            Field(name="signup_time", dtype=UnixTimestamp),
            Field(name="recent_categories", dtype=Array(String)),
            Field(name="recent_amounts", dtype=Array(Float64)),
            Field(name="recent_item_ids", dtype=Array(Int64))],
    source=profile_src, online=True, description="Customer KYC and CRM profile",
    owner="crm@shop.io", tags={"team": "crm", "pii": "true"})

cm_src = FileSource(name="cust_merchant_src", path=f"{DATA}/offline/cust_merchant/*.parquet",
                    file_format=ParquetFormat(), timestamp_field="event_timestamp",
                    created_timestamp_column="created")
cust_merchant_stats = FeatureView(
    name="cust_merchant_stats", entities=[customer, merchant], ttl=timedelta(days=7),
    schema=[Field(name="customer_id", dtype=String), Field(name="merchant_id", dtype=Int64),
            Field(name="txn_count_30d", dtype=Int64), Field(name="spend_30d", dtype=Float64)],
    source=cm_src, online=True, owner="payments@shop.io", tags={"team": "payments"})

txn_stream = KafkaSource(
    name="card_txn_stream", topic="card-txns", kafka_bootstrap_servers="localhost:9092",
    timestamp_field="txn_time",
    message_format=JsonFormat(schema_json="customer_id STRING, amt DOUBLE, mcc INT, "
                                          "declined BOOLEAN, country STRING, txn_time TIMESTAMP"),
    field_mapping={"amt": "last_amount"},
    batch_source=FileSource(name="card_txn_history", path=f"{DATA}/streams/card_txns/*.parquet",
                            timestamp_field="txn_time", field_mapping={"amt": "last_amount"}),
    description="Card authorisations from the payment gateway", owner="payments@shop.io")
card_txn_live = StreamFeatureView(
    name="card_txn_live", entities=[customer], ttl=timedelta(hours=6), source=txn_stream,
    online=True,
    schema=[Field(name="customer_id", dtype=String), Field(name="last_amount", dtype=Float64),
            Field(name="mcc", dtype=Int32), Field(name="country", dtype=String)],
    description="Latest card transaction per customer", owner="payments@shop.io")

session_push = PushSource(name="session_push", batch_source=FileSource(
    name="session_history", path=f"{DATA}/push/session/*.parquet",
    timestamp_field="event_timestamp"))
customer_session = FeatureView(
    name="customer_session", entities=[customer], ttl=timedelta(hours=1), source=session_push,
    online=True, schema=[Field(name="customer_id", dtype=String),
                         Field(name="page_views_1h", dtype=Int64)])

checkout_req = RequestSource(name="checkout_request",
                             schema=[Field(name="basket_amount", dtype=Float64)])


@on_demand_feature_view(sources=[cust_merchant_stats, checkout_req],
                        schema=[Field(name="basket_vs_avg", dtype=Float64)], mode="pandas")
def basket_ratio(inputs: pd.DataFrame) -> pd.DataFrame:
    out = pd.DataFrame()
    avg = inputs["spend_30d"] / inputs["txn_count_30d"].clip(lower=1)
    out["basket_vs_avg"] = inputs["basket_amount"] / avg
    return out


@on_demand_feature_view(sources=[customer_profile, checkout_req],
                        schema=[Field(name="score_x2", dtype=Float64)], mode="python")
def risk_flags(inputs: dict) -> dict:
    return {"score_x2": [s * 2.0 if s is not None else None for s in inputs["credit_score"]]}


marketing_v1 = FeatureService(name="marketing_v1", features=[customer_profile],
                              description="Marketing propensity", owner="crm@shop.io")
'''

NOW = datetime(2026, 11, 1, 12, tzinfo=UTC)
TS = pa.timestamp("us", tz="UTC")
PROFILE_SCHEMA = pa.schema([
    ("customer_id", pa.string()), ("ts", TS), ("created", TS), ("age", pa.int32()),
    ("credit_score", pa.float32()), ("is_verified", pa.bool_()), ("cust_segment", pa.string()),
    ("avatar_hash", pa.binary()), ("signup_time", TS),
    ("recent_categories", pa.list_(pa.string())), ("recent_amounts", pa.list_(pa.float64())),
    ("recent_item_ids", pa.list_(pa.int64()))])


def profile_rows() -> list[dict[str, Any]]:
    """Customers C-0001..C-0006, one snapshot each a day before `NOW`."""
    rows: list[dict[str, Any]] = []
    for i in range(1, 7):
        rows.append({
            "customer_id": f"C-{i:04d}", "ts": NOW - timedelta(days=1),
            "created": NOW - timedelta(days=1), "age": 20 + i,
            "credit_score": 450.0 + i if i % 5 else None, "is_verified": i % 2 == 0,
            "cust_segment": ["gold", "silver", "bronze"][i % 3],
            "avatar_hash": bytes([i, 0, 255]) if i % 3 else None,
            "signup_time": NOW - timedelta(days=100 + i),
            "recent_categories": ["books", "toys"][: i % 3] if i % 4 else None,
            "recent_amounts": [1.5 * i, 2.25] if i % 4 else [],
            "recent_item_ids": [i * 1000 + 1, 2**40] if i % 6 else None,
        })
    return rows


def write_shopfin_data(data: Path) -> None:
    offline = data / "offline"
    (offline / "cust_merchant").mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(profile_rows(), schema=PROFILE_SCHEMA),
                   offline / "customer_profile.parquet")
    cm = [{"customer_id": f"C-{i:04d}", "merchant_id": m,
           "event_timestamp": NOW - timedelta(hours=5), "created": NOW - timedelta(hours=5),
           "txn_count_30d": i * m, "spend_30d": i * m * 10.5}
          for i in range(1, 4) for m in (1, 2)]
    pq.write_table(pa.Table.from_pylist(cm, schema=pa.schema([
        ("customer_id", pa.string()), ("merchant_id", pa.int64()), ("event_timestamp", TS),
        ("created", TS), ("txn_count_30d", pa.int64()), ("spend_30d", pa.float64())])),
        offline / "cust_merchant" / "a.parquet")
    streams = data / "streams" / "card_txns"
    streams.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table({"customer_id": ["C-0001"], "amt": [12.5],
                             "mcc": pa.array([5411], pa.int32()), "country": ["DE"],
                             "txn_time": pa.array([NOW - timedelta(hours=2)], TS)}),
                   streams / "seed.parquet")


@dataclass
class ShopfinRepo:
    settings: Settings
    repo: Path


def make_shopfin(tmp_path: Path, settings_factory: Callable[..., Settings], project: str,
                 **overrides: object) -> ShopfinRepo:
    repo = write_repo(tmp_path, project, DEFINITIONS)
    settings = settings_factory(repo, **overrides)
    settings.data_path.mkdir(parents=True, exist_ok=True)
    write_shopfin_data(settings.data_path)
    with warnings.catch_warnings():  # Feast warns that stream/on-demand views are alpha
        warnings.simplefilter("ignore", RuntimeWarning)
        apply_repo(settings)
    return ShopfinRepo(settings, repo)


@pytest.fixture
def shopfin(tmp_path: Path, settings_factory: Callable[..., Settings],
            unique_name: str) -> ShopfinRepo:
    return make_shopfin(tmp_path, settings_factory, unique_name)
