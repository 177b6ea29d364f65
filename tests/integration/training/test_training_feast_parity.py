"""Our engine against Feast's own `get_historical_features` (DuckDB offline store)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from featurebank.training.engine import retrieve
from featurebank.training.features import select_features
from featurebank.training.spine import as_table, prepare_spine
from tests.integration.training.training_repo import TrainingRepo

T0 = datetime(2024, 5, 1, tzinfo=UTC)
FEATURES = ["stats:rate", "stats:trips", "profile:tier", "adjusted:rate_plus_bonus"]


def _fill(repo: TrainingRepo) -> None:
    h = timedelta(hours=1)
    repo.write("stats", pa.table({
        "driver_id": [1, 1, 1, 2, 2, 3],
        "ts": [T0, T0 + h, T0 + h, T0, T0 + 3 * h, T0 + 5 * h],
        "created": [T0, T0 + h, T0 + 2 * h, T0, T0 + 3 * h, T0 + 5 * h],
        "raw_rate": [0.1, 0.2, 0.25, None, 0.5, 0.6],
        "trips": [1, 2, 3, 4, 5, 6],
    }))
    repo.write("stats", pa.table({  # a late-arriving file: old event time, new created time
        "driver_id": [2], "ts": [T0 + h], "created": [T0 + 9 * h],
        "raw_rate": [0.45], "trips": [50],
    }), name="part-1.parquet")
    repo.write("profile", pa.table({
        "driver_id": [1, 2], "ts": [T0 - 30 * h, T0 + 2 * h], "tier": ["gold", "silver"],
    }))


def _entities() -> pd.DataFrame:
    h = timedelta(hours=1)
    times = [T0 - h, T0, T0 + h, T0 + 2 * h, T0 + 3 * h, T0 + 3 * h, T0 + 4 * h, T0 + 10 * h,
             T0 + h + timedelta(minutes=30), T0 + 3 * h + timedelta(microseconds=1)]
    return pd.DataFrame({
        "driver_id": [1, 1, 1, 1, 1, 2, 2, 3, 9, 1],
        "event_timestamp": times,
        "bonus": [1.0] * len(times),
        "row": list(range(len(times))),
    })


def _ours(repo: TrainingRepo, out: Path, entity_df: pd.DataFrame, plan: str) -> pd.DataFrame:
    selection = select_features(repo.definitions, features=FEATURES)
    spine = prepare_spine(as_table(entity_df), selection, max_rows=1000)
    result = retrieve(selection, spine, out, plan=plan)
    assert result.rows == len(entity_df)
    return pq.read_table(out).to_pandas()


def _feast(repo: TrainingRepo, entity_df: pd.DataFrame) -> pd.DataFrame:
    job = repo.store.get_historical_features(entity_df=entity_df.copy(), features=FEATURES)
    return job.to_df().sort_values("row").reset_index(drop=True)


@pytest.mark.integration
@pytest.mark.parametrize("plan", ["asof", "range", "bucket", "auto"])
def test_matches_feast_get_historical_features(training_repo: TrainingRepo, tmp_path: Path,
                                               plan: str) -> None:
    _fill(training_repo)
    entity_df = _entities()
    ours = _ours(training_repo, tmp_path / "out.parquet", entity_df, plan)
    theirs = _feast(training_repo, entity_df)
    assert list(ours["row"]) == list(range(len(entity_df)))  # input order, no drops
    columns = ["rate", "trips", "tier", "rate_plus_bonus"]
    pd.testing.assert_frame_equal(ours[columns], theirs[columns], check_dtype=False)
    assert ours.loc[1, "rate"] == 0.1
    assert ours.loc[2, "rate"] == 0.25  # equal event times: the later created wins
    assert ours.loc[4, "rate"] == 0.25  # exactly at the TTL boundary (2 h): still valid
    assert pd.isna(ours.loc[9, "rate"])  # one microsecond past it: expired
    assert ours.loc[6, "trips"] == 5
    assert ours.loc[5, "trips"] == 5
    assert ours.loc[0, "tier"] == "gold"
    assert pd.isna(ours.loc[0, "rate"])  # before any stats
    assert ours.loc[8, "tier"] is None  # entity without rows
