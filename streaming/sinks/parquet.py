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

Refusals: a run whose data cannot be written (a value that does not fit the type the
directory's existing files give its column, see `featurebank.offline.writer`) is checked row
by row; the rows that fail come back as `write_failed` rejects with their message, for the
dead-letter topic, and the rest are written, as the online sink does. An `OSError` (disk
full, a directory that is a file, no permission) is the environment's: it is raised, and the
processor retries it with backoff and reports it in `/health`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa

from featurebank.errors import InvalidInput
from featurebank.offline.sources import ParquetSource, offline_source
from featurebank.offline.writer import (
    OffsetPart,
    conform_columns,
    encodable,
    existing_schema,
    offset_parts,
    part_name,
    write_parquet_atomic,
)
from streaming.core import BatchResult, Message, Reject
from streaming.plan import TopicPlan

log = logging.getLogger("featurebank.stream")

PartKey = tuple[str, str, int]  # directory, topic, partition
DATA_ERRORS = (pa.ArrowException, ValueError, TypeError, NotImplementedError)
"""What writing a table raises for its data (an `OSError` is the environment's, raised)."""


@dataclass(frozen=True)
class HistoryPiece:
    """One finished batch's history: its offsets (inclusive) and a table per offline target."""

    first: int
    last: int
    tables: tuple[pa.Table, ...]
    log_id: str = ""
    """The topic's id on the broker when the batch was read ("" if the broker has none)."""
    messages: tuple[Message, ...] = ()
    """The message behind each row of the tables (every table has the source's rows)."""

    @property
    def rows(self) -> int:
        return max((table.num_rows for table in self.tables), default=0)


@dataclass
class HistoryWritten:
    """Files written, and the rows refused for good (to be dead-lettered before a commit)."""

    files: int = 0
    refused: list[Reject] = field(default_factory=list)


class ParquetHistorySink:
    def __init__(self) -> None:
        self._index: dict[PartKey, list[OffsetPart]] = {}
        self._types: dict[str, dict[str, pa.DataType]] = {}

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
        return HistoryPiece(batch.first_offset, batch.last_offset, tables, log_id,
                            batch.source_messages)

    def write(self, plan: TopicPlan, batch: BatchResult, log_id: str = "") -> HistoryWritten:
        """Write one batch's history."""
        return self.write_range(plan, batch.partition, [self.history(plan, batch, log_id)])

    def write_range(self, plan: TopicPlan, partition: int,
                    pieces: Sequence[HistoryPiece]) -> HistoryWritten:
        """Write the history of consecutive batches of a partition.

        The pieces (in offset order) become one file per target covering [first offset of the
        first piece, last offset of the last], unless batches disagree on columns (a
        transformation dropped rows in one of them, so its computed features were left out):
        then each run of equal columns gets its own file, named by the offsets it covers.
        """
        written = HistoryWritten()
        if not pieces:
            return written
        first, log_id = pieces[0].first, pieces[0].log_id
        if any(piece.log_id != log_id for piece in pieces):
            raise ValueError(f"history of {plan.topic}[{partition}] mixes topic incarnations")
        refused: dict[int, Reject] = {}  # by offset: a row refused by two targets is one letter
        for index, target in enumerate(plan.offline):
            directory = target.directory
            parts = self._parts(directory, plan.topic, partition)
            stale = [p for p in parts if p.log_id == log_id and p.last >= first]
            for part in stale:
                part.path.unlink(missing_ok=True)
                log.info("replacing uncommitted history %s", part.path.name)
            parts[:] = [p for p in parts if p not in stale]
            for run_first, run_last, table, messages in _runs(pieces, index):
                name = part_name(plan.topic, partition, run_first, run_last, log_id)
                kept = self._write_run(directory, name, table, messages, refused)
                if kept is not None:
                    parts.append(OffsetPart(kept, partition, run_first, run_last, log_id))
                    written.files += 1
        written.refused = [refused[offset] for offset in sorted(refused)]
        return written

    def _write_run(self, directory: Path, name: str, table: pa.Table,
                   messages: Sequence[Message], refused: dict[int, Reject]) -> Path | None:
        """Write one file, conformed to the directory's column types; rows whose data cannot
        be written join `refused` and the rest are written. None if no row was left."""
        types = self._column_types(directory)
        try:
            conformed = conform_columns(table, types)
            path = write_parquet_atomic(directory, name, conformed)
        except OSError:
            raise
        except DATA_ERRORS as exc:
            if len(messages) != table.num_rows:
                raise  # no messages to dead-letter: the caller decides
            log.warning("history write to %s refused %d rows (%s: %s); checking them one by "
                        "one", directory, table.num_rows, type(exc).__name__, str(exc)[:200])
            keep = _writable_rows(table, types)
            if len(keep) == table.num_rows:  # only together do they fail: refuse them all
                keep = []
            for index in sorted(set(range(table.num_rows)) - set(keep)):
                message = messages[index]
                text = _refusal(directory, table.slice(index, 1), types)
                refused.setdefault(message.offset, Reject(message, "write_failed", text))
            if not keep:
                return None
            conformed = conform_columns(table.take(keep), types)
            path = write_parquet_atomic(directory, name, conformed)
        for item in conformed.schema:  # later files follow this one too
            types.setdefault(item.name, item.type)
        return path

    def _column_types(self, directory: Path) -> dict[str, pa.DataType]:
        key = str(directory)
        if key not in self._types:
            self._types[key] = existing_schema(directory)
        return self._types[key]

    def _parts(self, directory: Path, topic: str, partition: int) -> list[OffsetPart]:
        key = (str(directory), topic, partition)
        if key not in self._index:
            self._index[key] = [p for p in offset_parts(directory, topic)
                                if p.partition == partition]
        return self._index[key]


def _writable_rows(table: pa.Table, types: dict[str, pa.DataType]) -> list[int]:
    """Indices of the rows that can be written alone (checked in memory, not on disk)."""
    keep = []
    for index in range(table.num_rows):
        try:
            encodable(conform_columns(table.slice(index, 1), types))
        except DATA_ERRORS:
            continue
        keep.append(index)
    return keep


def _refusal(directory: Path, row: pa.Table, types: dict[str, pa.DataType]) -> str:
    """Why one row cannot be written, for the dead letter's message header."""
    try:
        encodable(conform_columns(row, types))
    except DATA_ERRORS as exc:
        text = f"history write to {directory.name}/ failed: {type(exc).__name__}: {exc}"
        return text[:500]
    return f"history write to {directory.name}/ failed for the rows of this batch together"


@dataclass
class _Run:
    first: int
    last: int
    tables: list[pa.Table]
    messages: list[Message] = field(default_factory=list)


def _runs(pieces: Sequence[HistoryPiece],
          index: int) -> list[tuple[int, int, pa.Table, list[Message]]]:
    """Target `index`'s tables of consecutive pieces with equal columns, concatenated, with
    the offsets each run covers (a run ends where the next begins; empty pieces join any) and
    the messages behind its rows (none if a piece lacks them)."""
    runs: list[_Run] = []
    for piece in pieces:
        table = piece.tables[index]
        run = runs[-1] if runs else None
        if run is None or not (table.num_rows == 0 or not run.tables
                               or run.tables[0].schema.equals(table.schema)):
            run = _Run(piece.first, piece.last, [])
            runs.append(run)
        run.last = piece.last
        if table.num_rows:
            run.tables.append(table)
            run.messages.extend(piece.messages)
    return [(run.first, run.last, pa.concat_tables(run.tables), run.messages)
            for run in runs if run.tables]


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
