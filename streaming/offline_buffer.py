"""Offline rows held per partition until one history file covers many polls.

Writing a file per poll and partition made a quiet stream (a few events a second) leave
hundreds of thousands of one-row files a day, which DuckDB globs for every materialize and
training set. Finished batches' history therefore waits here, per partition, and is written as
one file when it is older than `flush_s`, holds `flush_rows` rows, or holds no rows at all
(nothing to write but the stale-file cleanup, so its offsets need not wait).

Pure bookkeeping, no I/O: the processor asks what is due, writes it with the sink and commits
the partition up to the end of what was written — never past it, so a crash loses only work
that the replay redoes (see docs/streaming.md, Delivery semantics).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from kafka.structs import TopicPartition

from streaming.plan import TopicPlan
from streaming.sinks.parquet import HistoryPiece


@dataclass
class Pending:
    """Consecutive finished batches of one partition whose history is not written yet."""

    plan: TopicPlan
    started: float
    pieces: list[HistoryPiece] = field(default_factory=list)
    rows: int = 0

    @property
    def first(self) -> int:
        return self.pieces[0].first

    @property
    def last(self) -> int:
        return self.pieces[-1].last


class OfflineBuffer:
    def __init__(self, flush_s: float, flush_rows: int) -> None:
        if flush_s < 0 or flush_rows < 1:
            raise ValueError(f"offline flush needs flush_s >= 0 and flush_rows >= 1, got "
                             f"{flush_s} and {flush_rows}")
        self.flush_s = flush_s
        self.flush_rows = flush_rows
        self._pending: dict[TopicPartition, Pending] = {}

    def __len__(self) -> int:
        return len(self._pending)

    def partitions(self) -> list[TopicPartition]:
        return list(self._pending)

    def get(self, partition: TopicPartition) -> Pending | None:
        return self._pending.get(partition)

    def must_flush_before(self, partition: TopicPartition, plan: TopicPlan,
                          log_id: str = "") -> bool:
        """True when rows built under another plan (the registry changed) or read from another
        incarnation of the topic (the broker lost it and starts offsets at 0 again) are
        pending: their columns, targets or offsets differ, so they are written first."""
        pending = self._pending.get(partition)
        return pending is not None and (pending.plan is not plan
                                        or pending.pieces[0].log_id != log_id)

    def add(self, partition: TopicPartition, plan: TopicPlan, piece: HistoryPiece,
            now: float) -> None:
        if self.must_flush_before(partition, plan, piece.log_id):
            raise ValueError(f"history of {partition} under an older plan or topic "
                             "incarnation is still pending")
        pending = self._pending.setdefault(partition, Pending(plan, now))
        if pending.pieces and piece.first <= pending.last:
            raise ValueError(f"offsets of {partition} went backwards: {piece.first} after "
                             f"{pending.last}")
        pending.pieces.append(piece)
        pending.rows += piece.rows

    def due(self, now: float) -> list[TopicPartition]:
        """Partitions whose history should be written now."""
        return [partition for partition, pending in self._pending.items()
                if pending.rows == 0 or pending.rows >= self.flush_rows
                or now - pending.started >= self.flush_s]

    def remove(self, partition: TopicPartition) -> Pending | None:
        return self._pending.pop(partition, None)

    def rows(self) -> int:
        return sum(pending.rows for pending in self._pending.values())
