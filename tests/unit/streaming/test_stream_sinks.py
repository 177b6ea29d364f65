"""History files are idempotent per offset range; only each key's newest row is written."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from featurebank.offline.sources import ParquetSource
from featurebank.offline.writer import offset_parts, part_name, write_parquet_atomic
from featurebank.online.writer import ViewRows
from streaming.core import BatchResult
from streaming.sinks.parquet import HistoryPiece, ParquetHistorySink
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


def _ids(directory: Path) -> list[int]:
    tables = [pq.read_table(p.path) for p in offset_parts(directory, "orders.v1")]
    return sorted(pa.concat_tables(tables).column("id").to_pylist()) if tables else []


def test_buffered_range_is_one_file_and_a_replay_with_other_flushes_rewrites_it(
    tmp_path: Path,
) -> None:
    plan = _plan(tmp_path)
    crashed = ParquetHistorySink()
    crashed.write_range(plan, 0, [crashed.history(plan, _batch(a, a + 4)) for a in (0, 5)])
    # Flushed but not committed when the process died: commits end where a flush ended (10).
    crashed.write_range(plan, 0, [crashed.history(plan, _batch(a, a + 4)) for a in (10, 15, 20)])
    assert [(p.first, p.last) for p in sorted(offset_parts(tmp_path, "orders.v1"),
                                              key=lambda p: p.first)] == [(0, 9), (10, 24)]
    restarted = ParquetHistorySink()
    restarted.write_range(plan, 0, [restarted.history(plan, _batch(10, 12))])
    assert _ids(tmp_path) == list(range(13))  # the rest is pending again, not duplicated
    restarted.write_range(plan, 0, [restarted.history(plan, _batch(13, 30))])
    assert _ids(tmp_path) == list(range(31))


def test_batches_with_other_columns_get_their_own_file(tmp_path: Path) -> None:
    """A transformation that dropped rows leaves its computed columns out of one batch; the
    buffered range is then split where the columns change, an empty batch joins any file."""
    plan = _plan(tmp_path)
    sink = ParquetHistorySink()
    nothing_valid = BatchResult("orders.v1", 0, 4, 5, _batch(0, 0).source_rows.slice(0, 0))
    wider = sink.history(plan, _batch(6, 7))
    wider = HistoryPiece(6, 7, tuple(t.append_column("extra", pa.array([1.0] * t.num_rows))
                                     for t in wider.tables))
    pieces = [sink.history(plan, _batch(0, 3)), sink.history(plan, nothing_valid), wider,
              sink.history(plan, _batch(8, 9))]
    assert sink.write_range(plan, 0, pieces).files == 3
    parts = sorted(offset_parts(tmp_path, "orders.v1"), key=lambda p: p.first)
    assert [(p.first, p.last) for p in parts] == [(0, 5), (6, 7), (8, 9)]
    assert [pq.read_table(p.path).column("id").to_pylist() for p in parts] == [
        [0, 1, 2, 3], [6, 7], [8, 9]]


EARLIER, LATER = "0" * 31 + "a", "0" * 31 + "b"  # topic ids of two incarnations


def test_a_recreated_topic_never_replaces_the_history_of_the_earlier_one(tmp_path: Path) -> None:
    """An in-memory broker restarts offsets at 0: files of its earlier run are kept."""
    plan = _plan(tmp_path)
    before = ParquetHistorySink()
    before.write(plan, _batch(0, 9), EARLIER)
    before.write(plan, _batch(10, 19), EARLIER)
    after = ParquetHistorySink()  # a new process, after the broker (and topic) came back
    after.write(plan, _batch(0, 4), LATER)
    assert len(_ids(tmp_path)) == 25
    # A replay within the new incarnation still rewrites its own uncommitted files only.
    after.write(plan, _batch(0, 6), LATER)
    parts = offset_parts(tmp_path, "orders.v1")
    assert sorted((p.log_id, p.first, p.last) for p in parts) == [
        (EARLIER, 0, 9), (EARLIER, 10, 19), (LATER, 0, 6)]
    assert len(_ids(tmp_path)) == 27


def test_part_names_carry_the_topic_id_and_old_names_still_parse(tmp_path: Path) -> None:
    table = pa.table({"a": [1]})
    write_parquet_atomic(tmp_path, part_name("t-1", 2, 5, 9, LATER), table)
    write_parquet_atomic(tmp_path, part_name("t-1", 2, 10, 11), table)  # before topic ids
    write_parquet_atomic(tmp_path, part_name("t", 2, 5, 9, LATER), table)  # another topic
    found = sorted((p.log_id, p.partition, p.first, p.last) for p in offset_parts(tmp_path, "t-1"))
    assert found == [("", 2, 10, 11), (LATER, 2, 5, 9)]
    with pytest.raises(ValueError, match="hex"):
        part_name("t", 0, 0, 1, "../x")


def test_only_outages_are_retried_by_the_online_sink() -> None:
    import redis

    from streaming.sinks.redis import retryable

    wrongtype = redis.ResponseError("Command # 1 (EVALSHA ...) of pipeline caused error: "
                                    "WRONGTYPE Operation against a key holding the wrong kind")
    assert not retryable(wrongtype)
    assert not retryable(ValueError("could not convert string to float: 'high'"))
    assert retryable(redis.ConnectionError("refused"))
    assert retryable(redis.ResponseError("OOM command not allowed when used memory > 'maxmemory'"))
    assert retryable(redis.ReadOnlyError("READONLY You can't write against a read only replica"))
    assert retryable(TimeoutError())


def test_rows_that_do_not_fit_the_existing_files_are_refused_with_their_message(
    tmp_path: Path,
) -> None:
    pq.write_table(pa.table({"id": pa.array([1], pa.int8())}), tmp_path / "backfill.parquet")
    plan = _plan(tmp_path)
    batch = _batch(0, 3)
    batch.source_rows = batch.source_rows.set_column(0, "id", pa.array([5, 300, 6, -200]))
    batch.source_messages = tuple(SimpleNamespace(topic="orders.v1", partition=0, offset=o)
                                  for o in range(4))  # type: ignore[misc]
    written = ParquetHistorySink().write(plan, batch)
    assert written.files == 1
    assert [r.message.offset for r in written.refused] == [1, 3]
    assert all(r.reason == "write_failed" and "'id'" in r.text for r in written.refused)
    (part,) = offset_parts(tmp_path, "orders.v1")
    table = pq.read_table(part.path)
    assert table.schema.field("id").type == pa.int8()
    assert table.column("id").to_pylist() == [5, 6]


def test_a_refusal_without_messages_is_raised_not_dropped(tmp_path: Path) -> None:
    pq.write_table(pa.table({"id": pa.array([1], pa.int8())}), tmp_path / "backfill.parquet")
    batch = _batch(0, 1)
    batch.source_rows = batch.source_rows.set_column(0, "id", pa.array([5, 300]))
    with pytest.raises(pa.ArrowInvalid, match="'id'"):
        ParquetHistorySink().write(_plan(tmp_path), batch)
