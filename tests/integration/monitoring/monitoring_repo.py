"""A small Feast repo for the drift and consistency tests (not the demo catalog), its history,
and a served-log writer in the layout of `featurebank.monitoring.log_layout`.

A test module takes the `monitoring_repo` fixture by importing `monitoring_repo_fixture`, or
wraps `build_monitoring_repo` in a fixture of its own to add history (the directory's conftest
belongs to the serving-side monitoring tests).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from featurebank.definitions import Definitions, load_definitions
from featurebank.feast_repo import apply_repo, open_store
from featurebank.monitoring import log_layout
from featurebank.settings import Settings
from tests.support.repos import write_repo

DEFINITIONS = '''
import os
from datetime import timedelta
from feast import Entity, FeatureView, Field, FileSource, KafkaSource
from feast.aggregation import Aggregation
from feast.data_format import JsonFormat
from feast.stream_feature_view import StreamFeatureView
from feast.types import Bool, Float64, Int64, String

DATA = os.environ["FEATUREBANK_DATA_DIR"]
user = Entity(name="user", join_keys=["user_id"])

activity_src = FileSource(name="activity_src", path=f"{DATA}/activity/*.parquet",
                          timestamp_field="ts", created_timestamp_column="created",
                          field_mapping={"raw_amount": "amount"})
activity = FeatureView(
    name="activity", entities=[user], ttl=timedelta(hours=12), source=activity_src, online=True,
    tags={"monitor.freshness_max": "30m"},
    schema=[Field(name="user_id", dtype=Int64), Field(name="amount", dtype=Float64),
            Field(name="clicks", dtype=Int64), Field(name="segment", dtype=String),
            Field(name="flag", dtype=Bool)],
)
payments = KafkaSource(
    name="payments", topic="payments", kafka_bootstrap_servers="127.0.0.1:1",
    timestamp_field="ts",
    message_format=JsonFormat(schema_json="user_id BIGINT, spend DOUBLE, ts TIMESTAMP"),
    batch_source=FileSource(name="payments_history", path=f"{DATA}/payments/*.parquet",
                            timestamp_field="ts"),
)
spend_windows = StreamFeatureView(
    name="spend_windows", entities=[user], ttl=timedelta(days=1), source=payments,
    timestamp_field="ts", online=True,
    aggregations=[Aggregation(column="spend", function="sum", time_window=timedelta(hours=1))],
    schema=[Field(name="user_id", dtype=Int64), Field(name="sum_spend_3600s", dtype=Float64)],
)
'''

TS = pa.timestamp("us", tz="UTC")
ACTIVITY_TYPES = {"amount": pa.float64(), "clicks": pa.int64(), "segment": pa.string(),
                  "flag": pa.bool_()}


@dataclass
class MonitoringRepo:
    settings: Settings
    definitions: Definitions
    data: Path

    def write_history(self, view_dir: str, table: pa.Table, name: str = "part-0.parquet") -> Path:
        directory = self.data / view_dir
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / name
        pq.write_table(table, path)
        return path

    def write_logs(self, requests: list[dict[str, Any]],
                   features: dict[tuple[str, str], pa.DataType],
                   log_name: str = log_layout.ADHOC_LOG) -> list[Path]:
        """One file per UTC day. Each request: `user_id`, `at`, and per (view, feature) a
        `(value, event_time, status)` triple (a feature absent from it was not requested)."""
        by_day: dict[Any, list[dict[str, Any]]] = {}
        for request in requests:
            by_day.setdefault(request["at"].date(), []).append(request)
        written = []
        for day, rows in by_day.items():
            columns: dict[str, pa.Array] = {}
            for (view, feature), kind in features.items():
                cells = [row.get((view, feature), (None, None, None)) for row in rows]
                columns[log_layout.value_column(view, feature)] = pa.array(
                    [c[0] for c in cells], kind)
                columns[log_layout.timestamp_column(view, feature)] = pa.array(
                    [c[1] for c in cells], TS)
                columns[log_layout.status_column(view, feature)] = pa.array(
                    [None if c[2] is None else int(c[2]) for c in cells], pa.int32())
            columns["user_id"] = pa.array([row["user_id"] for row in rows], pa.int64())
            columns[log_layout.LOG_TIMESTAMP] = pa.array([row["at"] for row in rows], TS)
            columns[log_layout.LOG_DATE] = pa.array([day] * len(rows), pa.date32())
            columns[log_layout.REQUEST_ID] = pa.array([uuid.uuid4().hex for _ in rows])
            columns[log_layout.CONSUMER] = pa.array(["tests"] * len(rows))
            columns[log_layout.FEATURE_SERVICE] = pa.array([""] * len(rows))
            directory = log_layout.partition_dir(self.data, log_name, day)
            directory.mkdir(parents=True, exist_ok=True)
            path = directory / f"part-{uuid.uuid4().hex}.parquet"
            pq.write_table(pa.table(columns), path)
            written.append(path)
        return written


def activity_table(rows: list[dict[str, Any]]) -> pa.Table:
    """History rows of `activity` as its source stores them (`raw_amount`, see field_mapping)."""
    return pa.table({
        "user_id": pa.array([r["user_id"] for r in rows], pa.int64()),
        "raw_amount": pa.array([r["amount"] for r in rows], pa.float64()),
        "clicks": pa.array([r["clicks"] for r in rows], pa.int64()),
        "segment": pa.array([r["segment"] for r in rows], pa.string()),
        "flag": pa.array([r["flag"] for r in rows], pa.bool_()),
        "ts": pa.array([r["ts"] for r in rows], TS),
        "created": pa.array([r.get("created", r["ts"]) for r in rows], TS),
    })


def payments_table(rows: list[tuple[int, datetime, float]]) -> pa.Table:
    return pa.table({
        "user_id": pa.array([r[0] for r in rows], pa.int64()),
        "ts": pa.array([r[1] for r in rows], TS),
        "spend": pa.array([r[2] for r in rows], pa.float64()),
    })


def build_monitoring_repo(tmp_path: Path, settings_factory: Callable[..., Settings],
                          unique_name: str) -> MonitoringRepo:
    """Write, apply and open the repo (a test module wraps this in its own fixture)."""
    settings = settings_factory(write_repo(tmp_path, unique_name, DEFINITIONS))
    settings.data_path.mkdir(parents=True, exist_ok=True)
    apply_repo(settings)
    return MonitoringRepo(settings=settings, definitions=load_definitions(open_store(settings)),
                          data=settings.data_path)


@pytest.fixture(name="monitoring_repo")
def monitoring_repo_fixture(tmp_path: Path, settings_factory: Callable[..., Settings],
                            unique_name: str) -> MonitoringRepo:
    """A fresh monitoring repo with no history per test."""
    return build_monitoring_repo(tmp_path, settings_factory, unique_name)
