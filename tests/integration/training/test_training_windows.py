"""Windowed aggregations of a stream feature view in a training set, against a plain loop.

At each entity row's time T a feature is its function over the entity's raw events with event
time in (T - window, T] — the same meaning the stream processor gives it online.
"""

from __future__ import annotations

import random
import statistics
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from featurebank.definitions import load_definitions
from featurebank.errors import InvalidInput
from featurebank.feast_repo import apply_repo, open_store
from featurebank.training.engine import retrieve
from featurebank.training.features import select_features
from featurebank.training.spine import as_table, prepare_spine
from tests.support.repos import write_repo

DEFINITIONS = '''
import os
from datetime import timedelta
from feast import Entity, Field, FileSource, KafkaSource
from feast.aggregation import Aggregation
from feast.data_format import JsonFormat
from feast.stream_feature_view import StreamFeatureView
from feast.types import Float64, Int64

DATA = os.environ["FEATUREBANK_DATA_DIR"]
card = Entity(name="card", join_keys=["card_id"])
payments = KafkaSource(
    name="payments", topic="payments", kafka_bootstrap_servers="127.0.0.1:1",
    timestamp_field="ts",
    message_format=JsonFormat(schema_json="card_id BIGINT, amount DOUBLE, ts TIMESTAMP"),
    batch_source=FileSource(name="payments_history", path=f"{DATA}/payments/*.parquet",
                            timestamp_field="ts", field_mapping={"amt": "amount"}),
)
card_windows = StreamFeatureView(
    name="card_windows", entities=[card], ttl=timedelta(days=1), source=payments,
    timestamp_field="ts", online=True,
    aggregations=[
        Aggregation(column="amount", function="sum", time_window=timedelta(minutes=30)),
        Aggregation(column="amount", function="count", time_window=timedelta(hours=2)),
        Aggregation(column="amount", function="max", time_window=timedelta(hours=2)),
        Aggregation(column="amount", function="std", time_window=timedelta(hours=2),
                    name="amount_std_2h"),
    ],
    schema=[Field(name="card_id", dtype=Int64), Field(name="sum_amount_1800s", dtype=Float64),
            Field(name="count_amount_7200s", dtype=Int64),
            Field(name="max_amount_7200s", dtype=Float64),
            Field(name="amount_std_2h", dtype=Float64)],
)
'''
FEATURES = ["card_windows:sum_amount_1800s", "card_windows:count_amount_7200s",
            "card_windows:max_amount_7200s", "card_windows:amount_std_2h"]
WINDOWS = {"sum_amount_1800s": ("sum", 1800), "count_amount_7200s": ("count", 7200),
           "max_amount_7200s": ("max", 7200), "amount_std_2h": ("std", 7200)}
START = datetime(2025, 3, 1, tzinfo=UTC)


def reference(events: list[tuple[int, datetime, float | None]], card: int,
              at: datetime) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, (function, seconds) in WINDOWS.items():
        inside = [a for c, t, a in events
                  if c == card and at - timedelta(seconds=seconds) < t <= at and a is not None]
        if function == "count":
            out[name] = len(inside)
        elif function == "std":
            out[name] = statistics.stdev(inside) if len(inside) > 1 else None
        elif not inside:
            out[name] = None
        else:
            out[name] = sum(inside) if function == "sum" else max(inside)
    return out


@pytest.fixture
def repo(tmp_path: Path, settings_factory: Any, unique_name: str) -> Any:
    settings = settings_factory(write_repo(tmp_path, unique_name, DEFINITIONS))
    apply_repo(settings)
    return settings


def test_windows_in_a_training_set_equal_a_loop(repo: Any, tmp_path: Path) -> None:
    rng = random.Random(3)
    events: list[tuple[int, datetime, float | None]] = []
    for _ in range(2_000):
        amount = None if rng.random() < 0.05 else round(rng.uniform(1, 500), 2)
        events.append((rng.randrange(30), START + timedelta(seconds=rng.randrange(6 * 3600)),
                       amount))
    events.append((7, START + timedelta(hours=1), 10.0))  # exactly at a spine time below
    events.append((7, START + timedelta(minutes=30), 99.0))  # exactly one window before it
    history = repo.data_path / "payments"
    history.mkdir(parents=True)
    for part in range(2):  # two files, as the processor writes them
        chunk = events[part::2]
        pq.write_table(pa.table({
            "card_id": [c for c, _, _ in chunk],
            "amt": pa.array([a for _, _, a in chunk], pa.float64()),
            "ts": pa.array([t for _, t, _ in chunk], pa.timestamp("us", tz="UTC")),
        }), history / f"part-{part}.parquet")

    rows = [(7, START + timedelta(hours=1))] + [
        (rng.randrange(32), START + timedelta(seconds=rng.randrange(-600, 7 * 3600)))
        for _ in range(400)]
    entity_df = {"card_id": [c for c, _ in rows], "event_timestamp": [t for _, t in rows]}
    definitions = load_definitions(open_store(repo))
    selection = select_features(definitions, features=FEATURES)
    spine = prepare_spine(as_table(entity_df), selection, max_rows=10_000)
    result = retrieve(selection, spine, tmp_path / "out.parquet")
    assert result.plan == "window"
    table = pq.read_table(result.path)
    assert table.num_rows == len(rows)
    assert table.schema.field("count_amount_7200s").type == pa.int64()
    got = table.to_pylist()
    mismatched = []
    for (card, at), row in zip(rows, got, strict=True):
        assert row["card_id"] == card
        for name, want in reference(events, card, at).items():
            have = row[name]
            same = (have is None and want is None) or (
                have is not None and want is not None
                and abs(have - want) <= 1e-6 * max(1, abs(want)))
            if not same:
                mismatched.append((card, at, name, have, want))
    assert mismatched == []
    # The boundary row: 10.0 at T is in, 99.0 at T - 30 min is out of the 30-minute window.
    assert got[0]["sum_amount_1800s"] == pytest.approx(
        sum(a for c, t, a in events if c == 7 and a is not None
            and START + timedelta(minutes=30) < t <= START + timedelta(hours=1)))


def test_a_view_whose_aggregation_is_not_declared_is_a_clear_error(
    tmp_path: Path, settings_factory: Any, unique_name: str,
) -> None:
    broken = DEFINITIONS.replace('Field(name="amount_std_2h", dtype=Float64)', "")
    settings = settings_factory(write_repo(tmp_path, unique_name, broken))
    apply_repo(settings)
    definitions = load_definitions(open_store(settings))
    with pytest.raises(InvalidInput, match="amount_std_2h"):
        select_features(definitions, features=FEATURES[:1])


def test_the_catalog_says_what_each_window_computes(repo: Any) -> None:
    from featurebank.catalog.records import build_records

    view = build_records(load_definitions(open_store(repo))).views["card_windows"]
    computed = {f.name: f.computed for f in view.features}
    assert computed["sum_amount_1800s"] == "sum of amount over the trailing 30m"
    assert computed["amount_std_2h"] == "std of amount over the trailing 2h"
    assert "card_id" not in computed  # the join key is not a feature (since 42251c2)
