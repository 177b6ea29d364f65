"""`featurebank materialize` on a stream view with windowed aggregations.

The view's batch source holds the raw events the processor appends, not the aggregated
features; materialize used to select the feature names as columns of those files and failed
(so `featurebank up` could not start on such a repo). It now evaluates each aggregation at the
entity's newest event, as the processor does online.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
import redis

from featurebank.definitions import load_definitions
from featurebank.feast_repo import apply_repo, open_store
from featurebank.materialize import materialize
from featurebank.settings import Settings
from tests.support.repos import write_repo

pytestmark = [pytest.mark.integration, pytest.mark.filterwarnings(
    "ignore:Stream feature views are experimental:RuntimeWarning")]

DEFINITIONS = '''
import os
from datetime import timedelta
from feast import Entity, Field, FileSource, KafkaSource, ValueType
from feast.aggregation import Aggregation
from feast.data_format import JsonFormat
from feast.stream_feature_view import StreamFeatureView
from feast.types import Float64, Int64, String

DATA = os.environ["FEATUREBANK_DATA_DIR"]
shelf = Entity(name="shelf", join_keys=["shelf_code"], value_type=ValueType.STRING)
scans = KafkaSource(
    name="scans", topic="scans", kafka_bootstrap_servers="127.0.0.1:1", timestamp_field="at",
    message_format=JsonFormat(schema_json="shelf STRING, secs DOUBLE, at TIMESTAMP"),
    batch_source=FileSource(name="scan_history", path=f"{DATA}/scans/*.parquet",
                            timestamp_field="at", field_mapping={"shelf": "shelf_code"}),
)
shelf_scans = StreamFeatureView(
    name="shelf_scans", entities=[shelf], ttl=timedelta(days=3650), source=scans, online=True,
    timestamp_field="at",
    aggregations=[Aggregation(column="secs", function="sum", time_window=timedelta(hours=1)),
                  Aggregation(column="secs", function="count", time_window=timedelta(hours=3))],
    schema=[Field(name="shelf_code", dtype=String), Field(name="secs", dtype=Float64),
            Field(name="sum_secs_3600s", dtype=Float64),
            Field(name="count_secs_10800s", dtype=Int64)],
)
'''

NEWEST = datetime(2026, 3, 1, 12, tzinfo=UTC)


def write_events(settings: Settings) -> None:
    """A: events 0.5 h, 2 h and 5 h before its newest; B: one event, a day earlier."""
    history = settings.data_path / "scans"
    history.mkdir(parents=True)
    pd.DataFrame({
        "shelf": ["A", "A", "A", "A", "B"],
        "secs": [1.0, 2.0, 4.0, 8.0, 16.0],
        "at": [NEWEST, NEWEST - timedelta(minutes=30), NEWEST - timedelta(hours=2),
               NEWEST - timedelta(hours=5), NEWEST - timedelta(days=1)],
    }).to_parquet(history / "events.parquet")


def test_aggregations_are_computed_at_each_entitys_newest_event(
    settings_factory: Callable[..., Settings], tmp_path: Path, unique_name: str,
    redis_client: redis.Redis,
) -> None:
    settings = settings_factory(write_repo(tmp_path, unique_name, DEFINITIONS))
    write_events(settings)
    apply_repo(settings)
    store = open_store(settings)

    reports = materialize(load_definitions(store), redis_client)

    assert [(r.view, r.written) for r in reports] == [("shelf_scans", 2)]
    online = store.get_online_features(
        features=["shelf_scans:sum_secs_3600s", "shelf_scans:count_secs_10800s",
                  "shelf_scans:secs"],
        entity_rows=[{"shelf_code": "A"}, {"shelf_code": "B"}],
    ).to_dict()
    assert online["sum_secs_3600s"] == [3.0, 16.0]
    assert online["count_secs_10800s"] == [3, 1]
    # The raw column is not an online feature of an aggregating view (the processor skips it).
    assert online["secs"] == [None, None]
