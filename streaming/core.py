"""The pure core: a partition's messages → typed source rows, per-view rows, and rejects.

No I/O here, so every contract rule and transformation path is unit-tested without a broker.
The shell (`processor`) hands in messages and writes what comes out.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import pyarrow as pa

from featurebank.aggregations import WindowedAggregation
from featurebank.definitions import ViewSpec
from streaming.batch_contract import check_columns, decode_all
from streaming.contract import columns_of
from streaming.decode import decode_message
from streaming.errors import Rejected
from streaming.plan import TopicPlan
from streaming.transform import apply_transformation, conform, transformation_of

log = logging.getLogger("featurebank.stream")


class Message(Protocol):
    """What the core reads of a Kafka record (kafka-python's `ConsumerRecord` fits)."""

    @property
    def topic(self) -> str: ...
    @property
    def partition(self) -> int: ...
    @property
    def offset(self) -> int: ...
    @property
    def key(self) -> bytes | None: ...
    @property
    def value(self) -> bytes | None: ...
    @property
    def headers(self) -> Sequence[tuple[str, bytes]]: ...


@dataclass(frozen=True)
class Reject:
    message: Message
    reason: str
    text: str


@dataclass(frozen=True)
class ViewBatch:
    """Rows for one view: its join keys, features and the event time column."""

    view: ViewSpec
    table: pa.Table
    ts_column: str
    windows: tuple[WindowedAggregation, ...] = ()
    """Set for a view with windowed aggregations: `table` then holds the events (join keys,
    aggregated columns, event time) and the online sink computes the features."""
    event_ids: tuple[str, ...] = ()
    """topic/partition/offset of each row of `table`, when `windows` is set."""
    messages: tuple[Message, ...] = ()
    """The message behind each row of `table`: a row the online write refuses is
    dead-lettered with it (`streaming.sinks.redis`)."""


@dataclass
class BatchResult:
    topic: str
    partition: int
    first_offset: int
    last_offset: int
    source_rows: pa.Table
    views: list[ViewBatch] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)
    source_messages: tuple[Message, ...] = ()
    """The message behind each row of `source_rows`: a row the history write refuses is
    dead-lettered with it (`streaming.sinks.parquet`)."""

    @property
    def received(self) -> int:
        return self.last_offset - self.first_offset + 1


def check_messages(plan: TopicPlan, messages: Sequence[Message], now_micros: int,
                   max_bytes: int) -> tuple[pa.Table, list[Message], list[Reject]]:
    """Decode and validate; returns the source table, the messages behind its rows, rejects.

    A batch of clean messages is checked column by column (`streaming.batch_contract`);
    any other batch row by row, which names every bad message's reason.
    """
    schema = plan.schema.arrow_schema()
    records = decode_all([message.value for message in messages], max_bytes)
    if records is not None:
        arrays = check_columns(plan.contract, records, now_micros)
        if arrays is not None:
            return pa.Table.from_arrays(arrays, schema=schema), list(messages), []
    contract = plan.contract
    rows: list[list[Any]] = []
    kept: list[Message] = []
    rejects: list[Reject] = []
    for message in messages:
        try:
            rows.append(contract.check(decode_message(message.value, max_bytes), now_micros))
        except Rejected as exc:
            rejects.append(Reject(message, exc.reason, exc.message))
            continue
        kept.append(message)
    columns = columns_of(rows, len(schema))
    arrays = [pa.array(values, type=f.type) for values, f in zip(columns, schema, strict=True)]
    return pa.Table.from_arrays(arrays, schema=schema), kept, rejects


def _mapped(plan: TopicPlan, table: pa.Table) -> pa.Table:
    if not plan.field_mapping:
        return table
    names = [plan.field_mapping.get(name, name) for name in table.column_names]
    return table.rename_columns(names)


def view_rows(plan: TopicPlan, view: ViewSpec, source: pa.Table,
              messages: Sequence[Message]) -> tuple[ViewBatch | None, list[Reject]]:
    """Apply field_mapping and the view's transformation; a failing row becomes a reject."""
    ts_column = plan.field_mapping.get(plan.schema.timestamp_field, plan.schema.timestamp_field)
    table = _mapped(plan, source)
    if table.num_rows == 0:
        return None, []
    windows = plan.windows.get(view.name, ())

    def shape(rows: pa.Table, transformed: pa.Table) -> pa.Table:
        if windows:
            return _window_inputs(view, windows, transformed, ts_column, rows.column(ts_column))
        return conform(view, transformed, ts_column, rows.column(ts_column))

    def batch(out: pa.Table, kept: Sequence[Message]) -> ViewBatch:
        ids = tuple(f"{m.topic}/{m.partition}/{m.offset}" for m in kept) if windows else ()
        return ViewBatch(view, out, ts_column, windows, ids, tuple(kept))

    if transformation_of(view) is None and not windows:
        return batch(shape(table, table), messages), []
    try:
        return batch(shape(table, apply_transformation(view, table)), messages), []
    except Exception:  # the udf is user code: isolate the rows that break it, one by one
        log.debug("transformation of %s failed on a batch; retrying row by row", view.name)
    parts: list[pa.Table] = []
    survivors: list[Message] = []
    rejects: list[Reject] = []
    for index, message in enumerate(messages):
        row = table.slice(index, 1)
        try:
            parts.append(shape(row, apply_transformation(view, row)))
            survivors.append(message)
        except Exception as exc:  # user code may raise anything; the row goes to the DLQ
            text = f"transformation of view {view.name!r} failed: {type(exc).__name__}: {exc}"
            rejects.append(Reject(message, "transform_failed", text[:500]))
    if not parts:
        return None, rejects
    return batch(pa.concat_tables(parts), survivors), rejects


def _window_inputs(view: ViewSpec, windows: Sequence[WindowedAggregation], table: pa.Table,
                   ts_column: str, event_times: pa.ChunkedArray) -> pa.Table:
    """Join keys, the columns the aggregations read and the event time; a missing column is a
    ValueError (the rows go to the DLQ through the transformation path's isolation)."""
    names = [*view.join_key_names, *dict.fromkeys(w.column for w in windows)]
    missing = [name for name in names if name not in table.column_names]
    if missing:
        raise ValueError(f"view {view.name!r} aggregates columns the events lack: {missing}")
    columns = {name: table.column(name) for name in names}
    columns[ts_column] = event_times
    return pa.table(columns)


def process_batch(plan: TopicPlan, messages: Sequence[Message], now_micros: int,
                  max_bytes: int) -> BatchResult:
    """Everything the sinks need for one partition's batch (messages in offset order)."""
    source, kept, rejects = check_messages(plan, messages, now_micros, max_bytes)
    result = BatchResult(
        topic=plan.topic, partition=messages[0].partition, first_offset=messages[0].offset,
        last_offset=messages[-1].offset, source_rows=source, rejects=rejects,
        source_messages=tuple(kept),
    )
    for view in plan.views:
        batch, failed = view_rows(plan, view, source, kept)
        result.rejects.extend(failed)
        if batch is not None and batch.view.online:
            result.views.append(batch)
    return result
