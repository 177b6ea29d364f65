"""History files are idempotent per offset range; only each key's newest row is written."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from featurebank.offline.sources import ParquetSource
from featurebank.offline.writer import offset_parts, part_name, write_parquet_atomic
from featurebank.online.writer import ViewRows
from streaming.core import BatchResult
from streaming.sinks.parquet import ParquetHistorySink
from streaming.sinks.redis import newest_per_key


def _plan(directory: Path) -> Any:
    target = ParquetSource(name="orders_history", path=str(directory / "*.parquet"),
                           timestamp_field="ts", created_timestamp_column=None)
    schema = SimpleNamespace(timestamp_field="ts")
    return SimpleNamespace(topic="orders.v1", offline=(target,), schema=schema, field_mapping={})


def _batch(first: int, last: int) -> BatchResult:
    rows = pa.table({"id": list(range(first, last + 1)),
                     "ts": pa.array([0] * (last - first + 1), pa.timestamp("us", tz="UTC"))})
    return BatchResult("orders.v1", 0, first, last, rows)


def test_replay_with_other_boundaries_rewrites_history(tmp_path: Path) -> None:
    plan = _plan(tmp_path)
    crashed = ParquetHistorySink()
    crashed.write(plan, _batch(0, 9))
    crashed.write(plan, _batch(10, 19))   # never committed: the process died here
    restarted = ParquetHistorySink()
    restarted.write(plan, _batch(10, 14))  # the replay polls a different batch size
    restarted.write(plan, _batch(15, 19))
    ids = pa.concat_tables([pq.read_table(p.path) for p in offset_parts(tmp_path, "orders.v1")])
    assert sorted(ids.column("id").to_pylist()) == list(range(20))


def test_atomic_write_leaves_no_temporary_files(tmp_path: Path) -> None:
    table = pa.table({"a": [1]})
    name = part_name("t", 3, 5, 9)
    write_parquet_atomic(tmp_path, name, table)
    write_parquet_atomic(tmp_path, name, table)
    assert [p.name for p in tmp_path.iterdir()] == [name]
    assert offset_parts(tmp_path, "t")[0].first == 5


def test_newest_per_key_keeps_the_latest_and_the_later_tie() -> None:
    rows = ViewRows(view=None, keys=[b"a", b"b", b"a", b"a"],  # type: ignore[arg-type]
                    event_times=[(5, 0), (1, 0), (3, 0), (5, 0)],
                    columns={"v": [b"1", b"2", b"3", b"4"]})
    kept = newest_per_key(rows)
    assert list(kept.keys) == [b"b", b"a"]
    assert list(kept.columns["v"]) == [b"2", b"4"]
