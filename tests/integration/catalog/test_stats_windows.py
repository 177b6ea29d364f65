"""Catalog statistics of a stream view whose features are windowed aggregations.

Its history holds raw events, so an aggregation has no column of its own; the page used to say
"column 'sum_secs_3600s' is not in the source files", which reads as a broken repo.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from featurebank.catalog.stats import compute_view_stats, source_files
from featurebank.definitions import load_definitions
from featurebank.feast_repo import apply_repo, open_store
from featurebank.offline.sources import offline_source
from featurebank.settings import Settings
from tests.integration.online.test_materialize_windows import DEFINITIONS, write_events
from tests.support.repos import write_repo

pytestmark = [pytest.mark.integration, pytest.mark.filterwarnings(
    "ignore:Stream feature views are experimental:RuntimeWarning")]


def test_aggregations_are_described_and_raw_columns_get_statistics(
    settings_factory: Callable[..., Settings], tmp_path: Path, unique_name: str,
) -> None:
    settings = settings_factory(write_repo(tmp_path, unique_name, DEFINITIONS))
    write_events(settings)
    apply_repo(settings)
    view = load_definitions(open_store(settings)).views["shelf_scans"]
    source = offline_source(view)

    stats = compute_view_stats(view, source, source_files(source))["features"]

    assert stats["sum_secs_3600s"] == {"missing": (
        "sum of 'secs' over the trailing 1h, computed when served or joined; the history "
        "holds the raw events")}
    assert stats["count_secs_10800s"]["missing"].startswith("count of 'secs' over the trailing 3h")
    assert stats["secs"]["count"] == 5
