"""A small generic Feast repo (not the demo catalog) with Parquet data, for online tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from tests.support.repos import write_repo

DEFINITIONS = '''
import os
from datetime import timedelta
from feast import Entity, FeatureService, FeatureView, Field, FileSource, ValueType
from feast.types import Bool, Float32, Float64, Int32, Int64, String

DATA = os.environ["FEATUREBANK_DATA_DIR"]

account = Entity(name="account", join_keys=["account_id"], value_type=ValueType.INT64,
                 description="A customer account", owner="risk@example.com")
region = Entity(name="region", join_keys=["region_code"], value_type=ValueType.STRING,
                description="A sales region", owner="geo@example.com")

account_source = FileSource(name="account_src", path=f"{DATA}/account.parquet",
                            timestamp_field="ts", created_timestamp_column="created")
region_source = FileSource(name="region_src", path=f"{DATA}/region/*.parquet",
                           timestamp_field="ts")
pair_source = FileSource(name="pair_src", path=f"{DATA}/pair.parquet", timestamp_field="ts")

account_stats = FeatureView(
    name="account_stats", entities=[account], ttl=timedelta(days=3650), online=True,
    source=account_source, description="Account aggregates", owner="risk@example.com",
    schema=[Field(name="account_id", dtype=Int64),
            Field(name="balance", dtype=Float64, description="balance"),
            Field(name="score", dtype=Float32, description="score"),
            Field(name="visits", dtype=Int64, description="visits"),
            Field(name="age_days", dtype=Int32, description="age"),
            Field(name="tier", dtype=String, description="tier"),
            Field(name="is_vip", dtype=Bool, description="vip flag")],
)
account_recent = FeatureView(
    name="account_recent", entities=[account], ttl=timedelta(hours=1), online=True,
    source=account_source, description="Short-lived view over the same data",
    schema=[Field(name="account_id", dtype=Int64),
            Field(name="visits", dtype=Int64, description="visits")],
)
region_stats = FeatureView(
    name="region_stats", entities=[region], ttl=timedelta(days=3650), online=True,
    source=region_source, description="Region aggregates",
    schema=[Field(name="region_code", dtype=String),
            Field(name="demand", dtype=Float64, description="demand")],
)
pair_stats = FeatureView(
    name="pair_stats", entities=[account, region], ttl=timedelta(days=3650), online=True,
    source=pair_source, description="Account x region",
    schema=[Field(name="account_id", dtype=Int64), Field(name="region_code", dtype=String),
            Field(name="spend", dtype=Float64, description="spend")],
)
scoring = FeatureService(name="scoring_v1", features=[account_stats[["balance", "tier"]],
                                                      region_stats], description="scoring")
'''

TS = pa.timestamp("us", tz="UTC")


def write_sample_data(data_dir: Path, accounts: int = 50, seed: int = 3) -> dict[str, object]:
    """Several rows per account (out of order, with created-time ties and nulls)."""
    rng = np.random.default_rng(seed)
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / "region").mkdir(exist_ok=True)
    anchor = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=2)
    rows = accounts * 4
    ids = np.repeat(np.arange(1, accounts + 1), 4)
    offsets = rng.integers(0, 72, rows)
    ts = [anchor - timedelta(hours=int(h)) for h in offsets]
    delays = rng.integers(0, 90, rows)
    created = [t + timedelta(minutes=int(m)) for t, m in zip(ts, delays, strict=True)]
    balance = rng.normal(100, 30, rows)
    balance_list: list[float | None] = [float(b) for b in balance]
    balance_list[0] = None
    table = pa.table({
        "account_id": pa.array(ids, pa.int64()),
        "balance": pa.array(balance_list, pa.float64()),
        "score": pa.array(rng.random(rows), pa.float32()),
        "visits": pa.array(rng.integers(0, 1000, rows), pa.int64()),
        "age_days": pa.array(rng.integers(-5, 5000, rows), pa.int32()),
        "tier": pa.array([["gold", "silver", "bronze", None][i % 4] for i in range(rows)]),
        "is_vip": pa.array(rng.random(rows) > 0.7),
        "ts": pa.array(ts, TS),
        "created": pa.array(created, TS),
    })
    pq.write_table(table, data_dir / "account.parquet")
    regions = ["north", "south", "east", "wést"]
    region_table = pa.table({
        "region_code": regions,
        "demand": pa.array([1.5, 2.5, 3.5, 4.5]),
        "ts": pa.array([anchor] * 4, TS),
    })
    pq.write_table(region_table, data_dir / "region" / "part-0.parquet")
    pair = pa.table({
        "account_id": pa.array([1, 1, 2], pa.int64()),
        "region_code": ["north", "south", "north"],
        "spend": [10.0, 20.0, 30.0],
        "ts": pa.array([anchor] * 3, TS),
    })
    pq.write_table(pair, data_dir / "pair.parquet")
    return {"accounts": list(range(1, accounts + 1)), "regions": regions, "anchor": anchor}


def make_sample_repo(root: Path, project: str) -> Path:
    return write_repo(root, project, DEFINITIONS)
