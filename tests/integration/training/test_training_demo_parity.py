"""Identical to Feast `get_historical_features` on the demo catalog, every feature service.

Generic over whatever the demo repo defines: entity rows are sampled from the generated data
(keys of every entity involved, times across the data's range, plus unknown keys and times
before any data), request fields get generated values of their declared types.
"""

from __future__ import annotations

import random
import warnings
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pyarrow.parquet as pq
import pytest

from featurebank.definitions import Definitions, load_definitions
from featurebank.feast_repo import apply_repo, open_store
from featurebank.offline.sources import offline_source
from featurebank.settings import Settings
from featurebank.training.engine import retrieve
from featurebank.training.features import Selection, select_features
from featurebank.training.spine import as_table, prepare_spine

pytestmark = [pytest.mark.integration, pytest.mark.slow,
              pytest.mark.filterwarnings("ignore::RuntimeWarning")]
REPO = Path(__file__).resolve().parents[3] / "feature_repo"
ROWS = 300


def _keys(definitions: Definitions, selection: Selection) -> dict[str, list[Any]]:
    """Distinct values of each join key, read from the views' own offline data."""
    values: dict[str, set[Any]] = {}
    connection = duckdb.connect()
    for read in selection.reads:
        source = offline_source(read.view)
        if not source.has_files():
            continue
        for key, column in read.key_columns:
            rows = connection.execute(
                f'SELECT DISTINCT "{source.column_for(key)}" FROM read_parquet(?)',
                [source.path]).fetchall()
            values.setdefault(column, set()).update(r[0] for r in rows)
    return {k: sorted(v) for k, v in values.items()}


def _time_range(selection: Selection) -> tuple[Any, Any]:
    connection = duckdb.connect()
    connection.execute("SET TimeZone = 'UTC'")
    lows, highs = [], []
    for read in selection.reads:
        source = offline_source(read.view)
        if source.has_files():
            low, high = connection.execute(
                f'SELECT min("{source.timestamp_field}")::TIMESTAMPTZ, '
                f'max("{source.timestamp_field}")::TIMESTAMPTZ FROM read_parquet(?)',
                [source.path]).fetchone() or (None, None)
            lows.append(low)
            highs.append(high)
    return min(lows), max(highs)


def _request_value(dtype: str, rng: random.Random) -> Any:
    if "Float" in dtype:
        return rng.uniform(0, 50)
    if "Int" in dtype:
        return rng.randint(0, 50)
    if "Bool" in dtype:
        return rng.random() < 0.5
    return rng.choice(["a", "b", "card", "cash"])


def _entity_df(definitions: Definitions, selection: Selection, seed: int) -> pd.DataFrame:
    rng = random.Random(seed)
    keys = _keys(definitions, selection)
    low, high = _time_range(selection)
    span = (high - low).total_seconds()
    frame: dict[str, list[Any]] = {}
    for column in sorted(selection.entity_columns):
        pool = keys.get(column) or [1]
        frame[column] = [rng.choice(pool) if rng.random() > 0.05 else pool[0] * 1000 + 7
                         if isinstance(pool[0], int) else "nobody" for _ in range(ROWS)]
    frame["event_timestamp"] = [low + timedelta(seconds=rng.uniform(-0.05, 1.05) * span)
                                for _ in range(ROWS)]
    for odfv in selection.odfvs:
        for request in odfv.source_request_sources.values():
            for field in request.schema:
                frame[field.name] = [_request_value(str(field.dtype), rng) for _ in range(ROWS)]
    frame["row_number"] = list(range(ROWS))
    return pd.DataFrame(frame)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, Any, Definitions]:
    generate = pytest.importorskip("featurebank.demo.generate")
    if not (REPO / "feature_store.yaml").is_file():
        pytest.skip("the demo repo is not there yet")
    data = tmp_path_factory.mktemp("demo")
    generate.generate_demo_data(data, scale=0.05)
    settings = Settings(_env_file=None, FEATUREBANK_REPO=str(REPO),  # type: ignore[call-arg]
                        FEATUREBANK_DATA_DIR=str(data), FEATUREBANK_REGISTRY_REFRESH_S=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        apply_repo(settings)
        store = open_store(settings)
    return settings, store, load_definitions(store)


def test_every_feature_service_matches_feast(demo: tuple[Settings, Any, Definitions],
                                             tmp_path: Path) -> None:
    _, store, definitions = demo
    assert definitions.services, "the demo repo defines no feature services"
    for seed, name in enumerate(sorted(definitions.services)):
        selection = select_features(definitions, service=name)
        entity_df = _entity_df(definitions, selection, seed)
        spine = prepare_spine(as_table(entity_df), selection, max_rows=10_000)
        for plan in ("asof", "range", "bucket"):
            out = tmp_path / f"{name}-{plan}.parquet"
            retrieve(selection, spine, out, plan=plan)
            ours = pq.read_table(out).to_pandas()
            assert ours["row_number"].tolist() == list(range(ROWS)), name
            theirs = (store.get_historical_features(
                entity_df=entity_df.copy(), features=definitions.services[name]).to_df()
                .sort_values("row_number").reset_index(drop=True))
            compare(ours, theirs, list(selection.outputs), f"{name}/{plan}")


def compare(ours: pd.DataFrame, theirs: pd.DataFrame, columns: list[str], label: str) -> None:
    mismatched = []
    for column in columns:
        for row, (a, b) in enumerate(zip(ours[column], theirs[column], strict=True)):
            if _same(a, b):
                continue
            mismatched.append((column, row, a, b))
    assert mismatched == [], f"{label}: {len(mismatched)} cells differ, first {mismatched[:5]}"


def _same(a: Any, b: Any) -> bool:
    if _null(a) and _null(b):
        return True
    if isinstance(a, float) and isinstance(b, float):
        return abs(a - b) <= 1e-9 * max(1.0, abs(a), abs(b))
    if hasattr(a, "tolist") and hasattr(b, "tolist"):
        return bool(a.tolist() == b.tolist())
    return bool(a == b)


def _null(value: Any) -> bool:
    if value is None:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


_: Callable[..., Any] = _same
