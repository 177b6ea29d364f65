"""When buffered history is due, and what the buffer refuses (pure bookkeeping)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pyarrow as pa
import pytest
from kafka.structs import TopicPartition

from streaming.offline_buffer import OfflineBuffer
from streaming.sinks.parquet import HistoryPiece

P0 = TopicPartition("t", 0)
P1 = TopicPartition("t", 1)


def _piece(first: int, last: int, rows: int) -> HistoryPiece:
    return HistoryPiece(first, last, (pa.table({"id": list(range(rows))}),))


def _plan() -> Any:
    return SimpleNamespace(topic="t")


def test_due_by_age_by_rows_or_when_there_is_nothing_to_write() -> None:
    plan = _plan()
    buffer = OfflineBuffer(flush_s=10.0, flush_rows=100)
    buffer.add(P0, plan, _piece(0, 4, 5), now=0.0)
    buffer.add(P0, plan, _piece(5, 9, 5), now=9.0)
    buffer.add(P1, plan, _piece(0, 2, 0), now=9.0)  # all dead-lettered: only offsets
    assert buffer.due(9.5) == [P1]
    assert buffer.due(10.0) == [P0, P1]  # age counts from the oldest batch
    buffer.remove(P1)
    buffer.add(P1, plan, _piece(3, 200, 100), now=9.9)
    assert buffer.due(9.9) == [P1]
    pending = buffer.get(P0)
    assert pending is not None
    assert (pending.first, pending.last, pending.rows) == (0, 9, 10)
    assert buffer.rows() == 110


def test_a_new_plan_needs_the_old_rows_written_first() -> None:
    old, new = _plan(), _plan()
    buffer = OfflineBuffer(flush_s=10.0, flush_rows=100)
    buffer.add(P0, old, _piece(0, 4, 5), now=0.0)
    assert buffer.must_flush_before(P0, new)
    assert not buffer.must_flush_before(P1, new)
    with pytest.raises(ValueError, match="older plan"):
        buffer.add(P0, new, _piece(5, 9, 5), now=1.0)


def test_offsets_must_move_forward() -> None:
    plan = _plan()
    buffer = OfflineBuffer(flush_s=10.0, flush_rows=100)
    buffer.add(P0, plan, _piece(0, 4, 5), now=0.0)
    with pytest.raises(ValueError, match="went backwards"):
        buffer.add(P0, plan, _piece(3, 8, 5), now=1.0)


def test_bad_limits_are_refused() -> None:
    with pytest.raises(ValueError, match="flush_rows >= 1"):
        OfflineBuffer(flush_s=1.0, flush_rows=0)


def test_rows_of_a_recreated_topic_wait_for_the_earlier_ones_to_be_written() -> None:
    plan = _plan()
    buffer = OfflineBuffer(flush_s=10.0, flush_rows=100)
    buffer.add(P0, plan, HistoryPiece(500, 509, (pa.table({"id": [1]}),), "a" * 32), now=0.0)
    assert not buffer.must_flush_before(P0, plan, "a" * 32)
    assert buffer.must_flush_before(P0, plan, "b" * 32)
    with pytest.raises(ValueError, match="incarnation"):
        buffer.add(P0, plan, HistoryPiece(0, 9, (pa.table({"id": [1]}),), "b" * 32), now=1.0)
