"""The offline sink: valid source rows of an offset range → one Parquet file per history directory.

The processor hands in the rows of many polls of one partition at once (`streaming.offline_buffer`),
so a quiet stream writes a file per flush interval, not per poll.

Idempotence: before writing offsets [first, last] of a partition, every existing file of that
partition that ends at or after `first` is removed. Such files can only come from work that was
never committed (a crash, a Redis outage, a rebalance), because offsets are committed only up to
the end of a written file; so a replay rewrites history instead of adding to it, whatever
boundaries its flushes have. The index of files per partition is read from disk when a partition
is (re)assigned, since another processor may have written some.

Only files of the same topic incarnation (`HistoryPiece.log_id`, the broker's topic id) are
ever removed: after a restart of an in-memory broker, offsets begin at 0 again, and files of
the earlier incarnation with those offsets are committed history, not work to redo.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa

from featurebank.errors import InvalidInput
from featurebank.offline.sources import ParquetSource, offline_source
from featurebank.offline.writer import OffsetPart, offset_parts, part_name, write_parquet_atomic
from streaming.core import BatchResult
from streaming.plan import TopicPlan

log = logging.getLogger("featurebank.stream")

PartKey = tuple[str, str, int]  # directory, topic, partition


@dataclass(frozen=True)
class HistoryPiece:
    """One finished batch's history: its offsets (inclusive) and a table per offline target."""

    first: int
    last: int
    tables: tuple[pa.Table, ...]
    log_id: str = ""
    """The topic's id on the broker when the batch was read ("" if the broker has none)."""

    @property
    def rows(self) -> int:
        return max((table.num_rows for table in self.tables), default=0)


class ParquetHistorySink:
    def __init__(self) -> None:
        self._index: dict[PartKey, list[OffsetPart]] = {}

    def forget(self, topic: str, partition: int) -> None:
        """Drop the cached file index of a partition (it was assigned anew)."""
        for key in [k for k in self._index if k[1] == topic and k[2] == partition]:
            del self._index[key]

    def history(self, plan: TopicPlan, batch: BatchResult, log_id: str = "") -> HistoryPiece:
        """The batch's history rows, one table per offline target of the plan (in its order).

        Built when the batch is finished, so the rows can wait in memory for their flush
        without keeping the batch's view tables alive.
        """
        tables = tuple(_with_view_outputs(_history_table(batch.source_rows, plan, target),
                                          batch, target) for target in plan.offline)
        return HistoryPiece(batch.first_offset, batch.last_offset, tables, log_id)

    def write(self, plan: TopicPlan, batch: BatchResult, log_id: str = "") -> int:
        """Write one batch's history; returns the number of files written."""
        return self.write_range(plan, batch.partition, [self.history(plan, batch, log_id)])

    def write_range(self, plan: TopicPlan, partition: int, pieces: Sequence[HistoryPiece]) -> int:
        """Write the history of consecutive batches of a partition; returns files written.

        The pieces (in offset order) become one file per target covering [first offset of the
        first piece, last offset of the last], unless batches disagree on columns (a
        transformation dropped rows in one of them, so its computed features were left out):
        then each run of equal columns gets its own file, named by the offsets it covers.
        """
        if not pieces:
            return 0
        first, log_id = pieces[0].first, pieces[0].log_id
        if any(piece.log_id != log_id for piece in pieces):
            raise ValueError(f"history of {plan.topic}[{partition}] mixes topic incarnations")
        written = 0
        for index, target in enumerate(plan.offline):
            directory = target.directory
            parts = self._parts(directory, plan.topic, partition)
            stale = [p for p in parts if p.log_id == log_id and p.last >= first]
            for part in stale:
                part.path.unlink(missing_ok=True)
                log.info("replacing uncommitted history %s", part.path.name)
            parts[:] = [p for p in parts if p not in stale]
            for run_first, run_last, table in _runs(pieces, index):
                name = part_name(plan.topic, partition, run_first, run_last, log_id)
                path = write_parquet_atomic(directory, name, table)
                parts.append(OffsetPart(path, partition, run_first, run_last, log_id))
                written += 1
        return written

    def _parts(self, directory: Path, topic: str, partition: int) -> list[OffsetPart]:
        key = (str(directory), topic, partition)
        if key not in self._index:
            self._index[key] = [p for p in offset_parts(directory, topic)
                                if p.partition == partition]
        return self._index[key]


@dataclass
class _Run:
    first: int
    last: int
    tables: list[pa.Table]


def _runs(pieces: Sequence[HistoryPiece], index: int) -> list[tuple[int, int, pa.Table]]:
    """Target `index`'s tables of consecutive pieces with equal columns, concatenated, with
    the offsets each run covers (a run ends where the next begins; empty pieces join any)."""
    runs: list[_Run] = []
    for piece in pieces:
        table = piece.tables[index]
        run = runs[-1] if runs else None
        if run is not None and (table.num_rows == 0 or not run.tables
                                or run.tables[0].schema.equals(table.schema)):
            run.last = piece.last
            if table.num_rows:
                run.tables.append(table)
        else:
            runs.append(_Run(piece.first, piece.last, [table] if table.num_rows else []))
    return [(run.first, run.last, pa.concat_tables(run.tables)) for run in runs if run.tables]


def _history_table(rows: pa.Table, plan: TopicPlan, target: ParquetSource) -> pa.Table:
    """Source columns as the schema names them, plus what the batch source expects.

    The KafkaSource's `field_mapping` names the features its columns feed; the batch source
    reads each feature from its own column (its own `field_mapping`, else the feature's name).
    Where the two differ the column is written under both names, so training sets,
    materialize and the catalog read the history whatever mapping each source declares.
    """
    timestamp_field, created_column = target.timestamp_field, target.created_timestamp_column
    table = rows
    for name in rows.column_names:
        wanted = target.column_for(plan.field_mapping.get(name, name))
        if wanted not in table.column_names:
            table = table.append_column(wanted, rows.column(name))
    source_ts = plan.schema.timestamp_field
    if timestamp_field and timestamp_field not in table.column_names:
        table = table.append_column(timestamp_field, table.column(source_ts))
    if created_column and created_column not in table.column_names:
        now = pa.scalar(datetime.now(UTC), type=pa.timestamp("us", tz="UTC"))
        table = table.append_column(created_column, pa.array([now.as_py()] * table.num_rows,
                                                             type=now.type))
    return table


def _with_view_outputs(table: pa.Table, batch: BatchResult, target: ParquetSource) -> pa.Table:
    """Features a view's transformation computes, beside the source columns they came from.

    Without them the history would hold only what the events carried, and materialize or a
    training set reading a computed feature from the batch source would find no column. Rows
    line up with the source rows unless the transformation dropped some (then nothing is
    added: those features stay online-only for this batch, and readers see nulls).
    """
    for view_batch in batch.views:
        if view_batch.windows or view_batch.table.num_rows != table.num_rows:
            continue  # windows are recomputed from the raw events by readers
        try:
            if offline_source(view_batch.view).path != target.path:
                continue
        except InvalidInput:  # a view without a Parquet history
            continue
        for feature in view_batch.view.features:
            wanted = target.column_for(feature)
            if wanted not in table.column_names and feature in view_batch.table.column_names:
                table = table.append_column(wanted, view_batch.table.column(feature))
    return table
