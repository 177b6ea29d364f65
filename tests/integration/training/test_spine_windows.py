"""A label spine from a stream view whose features are windowed aggregations.

The spine copied every feature of the view from its history, but an aggregation is no column
there (the history holds the raw events): DuckDB's BinderException escaped as a traceback.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest

from featurebank.definitions import ViewSpec, load_definitions
from featurebank.errors import InvalidInput
from featurebank.feast_repo import apply_repo, open_store
from featurebank.settings import Settings
from featurebank.training.spine import SpineSpec, build_spine
from tests.integration.online.test_materialize_windows import DEFINITIONS, NEWEST, write_events
from tests.support.repos import write_repo

pytestmark = [pytest.mark.integration, pytest.mark.filterwarnings(
    "ignore:Stream feature views are experimental:RuntimeWarning")]

SPEC = SpineSpec(mode="label", view="shelf_scans", start=NEWEST - timedelta(days=2), end=NEWEST)


def applied_view(settings: Settings) -> ViewSpec:
    apply_repo(settings)
    return load_definitions(open_store(settings)).views["shelf_scans"]


def test_label_spine_carries_the_raw_columns_not_the_aggregations(
    settings_factory: Callable[..., Settings], tmp_path: Path, unique_name: str,
) -> None:
    settings = settings_factory(write_repo(tmp_path, unique_name, DEFINITIONS))
    write_events(settings)

    spine = build_spine(applied_view(settings), SPEC, max_rows=100)

    assert spine.column_names == ["shelf_code", "event_timestamp", "secs"]
    assert sorted(spine.column("secs").to_pylist()) == [1.0, 2.0, 4.0, 8.0, 16.0]


def test_a_history_without_a_feature_column_is_bad_input(
    settings_factory: Callable[..., Settings], tmp_path: Path, unique_name: str,
) -> None:
    settings = settings_factory(write_repo(tmp_path, unique_name, DEFINITIONS))
    history = settings.data_path / "scans"
    history.mkdir(parents=True)
    pd.DataFrame({"shelf": ["A"], "at": [NEWEST]}).to_parquet(history / "events.parquet")

    with pytest.raises(InvalidInput, match=r"'shelf_scans': its offline data at .* lacks a column"):
        build_spine(applied_view(settings), SPEC, max_rows=100)
