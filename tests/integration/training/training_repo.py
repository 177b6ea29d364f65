"""A small Feast repo for training-set tests: written, applied and filled at test time."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from feast import FeatureStore

from featurebank.definitions import Definitions, load_definitions
from featurebank.feast_repo import apply_repo, open_store
from featurebank.settings import Settings
from tests.support.repos import write_repo

DEFINITIONS = '''
import os
from datetime import timedelta

import pandas as pd
from feast import Entity, FeatureService, FeatureView, Field, FileSource, RequestSource
from feast.on_demand_feature_view import on_demand_feature_view
from feast.types import Float64, Int64, String

DATA = os.environ["FEATUREBANK_DATA_DIR"]
driver = Entity(name="driver", join_keys=["driver_id"])

stats_source = FileSource(name="stats_src", path=f"{DATA}/stats/*.parquet",
                          timestamp_field="ts", created_timestamp_column="created",
                          field_mapping={"raw_rate": "rate"})
stats = FeatureView(name="stats", entities=[driver], ttl=timedelta(hours=2),
                    schema=[Field(name="driver_id", dtype=Int64), Field(name="rate", dtype=Float64),
                            Field(name="trips", dtype=Int64)],
                    source=stats_source)

profile_source = FileSource(name="profile_src", path=f"{DATA}/profile/*.parquet",
                            timestamp_field="ts")
profile = FeatureView(name="profile", entities=[driver], ttl=timedelta(0),
                      schema=[Field(name="driver_id", dtype=Int64),
                              Field(name="tier", dtype=String)],
                      source=profile_source)

empty_source = FileSource(name="empty_src", path=f"{DATA}/empty/*.parquet", timestamp_field="ts")
empty = FeatureView(name="empty", entities=[driver], ttl=timedelta(days=1),
                    schema=[Field(name="driver_id", dtype=Int64),
                            Field(name="score", dtype=Float64)],
                    source=empty_source)

bonus_request = RequestSource(name="bonus_request", schema=[Field(name="bonus", dtype=Float64)])


@on_demand_feature_view(sources=[stats, bonus_request],
                        schema=[Field(name="rate_plus_bonus", dtype=Float64)], mode="pandas")
def adjusted(inputs: pd.DataFrame) -> pd.DataFrame:
    out = pd.DataFrame()
    out["rate_plus_bonus"] = inputs["rate"] + inputs["bonus"]
    return out


training = FeatureService(name="training", features=[stats[["rate", "trips"]], profile])
'''


@dataclass
class TrainingRepo:
    settings: Settings
    store: FeatureStore
    definitions: Definitions
    data: Path

    def write(self, view_dir: str, table: pa.Table, name: str = "part-0.parquet") -> Path:
        directory = self.data / view_dir
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / name
        pq.write_table(table, path)
        return path


@pytest.fixture
def training_repo(tmp_path: Path, settings_factory: Callable[..., Settings],
                  unique_name: str) -> TrainingRepo:
    repo = write_repo(tmp_path, unique_name, DEFINITIONS)
    settings = settings_factory(repo)
    settings.data_path.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():  # Feast warns that ODFVs are experimental
        warnings.simplefilter("ignore", RuntimeWarning)
        apply_repo(settings)
    store = open_store(settings)
    return TrainingRepo(settings=settings, store=store, definitions=load_definitions(store),
                        data=settings.data_path)
