"""Push (Feast's `POST /push`): columns of rows → the same contract, rows and writers as streams.

Pure: `PushTarget` is compiled once per registry snapshot and push source; `prepare_push` checks
every row first and raises `InvalidInput` naming the bad rows, columns and values before
anything is written, so a bad request writes nothing.

As in Feast, the df is in the naming of the push source's `batch_source`: its `field_mapping`
(source column → key or feature) maps the columns to the views' names for the online rows,
while the offline file keeps the source's names (which that mapping reads back).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
from feast.data_source import PushSource

from featurebank.definitions import Definitions, ViewSpec
from featurebank.errors import InvalidInput, LimitExceeded, UnknownName
from featurebank.offline.sources import ParquetSource, offline_source
from featurebank.online.writer import ViewRows
from streaming.contract import Contract, columns_of
from streaming.errors import Rejected
from streaming.scalar_push import MAX_SCALAR_ROWS, ScalarView, scalar_rows, scalar_views
from streaming.schema import SourceSchema, derive_schema
from streaming.transform import apply_transformation, conform, transformation_of

TARGETS = ("online", "offline", "online_and_offline")
MAX_REPORTED = 10


@dataclass(frozen=True)
class PushTarget:
    name: str
    schema: SourceSchema
    contract: Contract
    views: tuple[ViewSpec, ...]
    offline: ParquetSource | None
    scalar: tuple[ScalarView, ...] | None = None  # the Arrow-free path for small pushes
    field_mapping: dict[str, str] = field(default_factory=dict)
    """The batch source's source column → key or feature name."""


@dataclass(frozen=True)
class PreparedPush:
    target: PushTarget
    source_rows: pa.Table
    view_rows: list[tuple[ViewSpec, pa.Table]]


def push_target(definitions: Definitions, name: str, max_skew_s: float) -> PushTarget:
    source = definitions.data_sources.get(name)
    if not isinstance(source, PushSource):
        known = sorted(n for n, s in definitions.data_sources.items() if isinstance(s, PushSource))
        raise UnknownName("push source", name, known=known)
    views = tuple(v for v in definitions.views.values()
                  if getattr(v.feast_view.stream_source, "name", None) == name)
    if not views:
        raise InvalidInput(f"no feature view reads push source {name!r}")
    batch = source.batch_source
    timestamp_field = getattr(batch, "timestamp_field", "") or "event_timestamp"
    mapping = dict(getattr(batch, "field_mapping", None) or {})
    schema = derive_schema(views, mapping, timestamp_field)
    to_source = {mapped: column for column, mapped in mapping.items()}
    keys = frozenset(to_source.get(k, k) for v in views if not v.entityless
                     for k in v.join_key_names)
    try:
        offline: ParquetSource | None = offline_source(views[0])
        assert offline is not None
        offline.directory  # noqa: B018 - single-file sources cannot take appends
    except InvalidInput:
        offline = None
    return PushTarget(name, schema, Contract(schema, keys, int(max_skew_s * 1_000_000)), views,
                      offline, scalar_views(views, schema, mapping), mapping)


def _rows(df: Any, max_rows: int) -> tuple[list[str], int]:
    if not isinstance(df, dict) or not df:
        raise InvalidInput("'df' must be an object of column name → list of values")
    lengths = {}
    for column, values in df.items():
        if not isinstance(values, list):
            raise InvalidInput(f"df column {column!r} must be a list of values",
                               detail={"column": column})
        lengths[column] = len(values)
    if len(set(lengths.values())) > 1:
        raise InvalidInput(f"df columns have different lengths: {lengths}", detail=lengths)
    count = next(iter(lengths.values()))
    if count == 0:
        raise InvalidInput("'df' has no rows")
    if count > max_rows:
        raise LimitExceeded(f"{count} rows exceed the push limit of {max_rows}")
    return list(df), count


def check_push(target: PushTarget, df: Any, now_micros: int,
               max_rows: int) -> tuple[list[str], list[list[Any]]]:
    """The df's column names and its checked rows; any bad row raises `InvalidInput`."""
    columns, count = _rows(df, max_rows)
    missing = sorted((set(target.contract.required) | {target.schema.timestamp_field})
                     - set(columns))
    if missing:
        raise InvalidInput(f"df lacks required column(s) {missing} for push source "
                           f"{target.name!r}", detail={"missing_columns": missing})
    unsupported = sorted(set(columns) & {name for name, _ in target.schema.unsupported})
    if unsupported:
        types = dict(target.schema.unsupported)
        described = ", ".join(f"{name!r} ({types[name]})" for name in unsupported)
        raise InvalidInput(f"df column(s) {described} of push source {target.name!r} have a "
                           "type that cannot be pushed; leave them out",
                           detail={"unsupported_columns": unsupported})
    allowed = set(target.schema.names())
    if target.offline is not None and target.offline.created_timestamp_column:
        allowed.add(target.offline.created_timestamp_column)
    unknown = sorted(set(columns) - allowed)
    if unknown:
        raise InvalidInput(f"df has column(s) {unknown} that push source {target.name!r} does "
                           f"not have; its columns: {sorted(target.schema.names())}",
                           detail={"unknown_columns": unknown})
    known = [name for name in target.schema.names() if name in df]
    rows: list[list[Any]] = []
    problems: list[dict[str, Any]] = []
    for index in range(count):
        record = {name: df[name][index] for name in known}
        try:
            rows.append(target.contract.check(record, now_micros))
        except Rejected as exc:
            problems.append({"row": index, "column": exc.column, "reason": exc.reason,
                             "message": exc.message})
    if problems:
        first = problems[0]
        raise InvalidInput(f"{len(problems)} row(s) are invalid; row {first['row']}: "
                           f"{first['message']}", detail=problems[:MAX_REPORTED])
    return columns, rows


def prepare_small_push(target: PushTarget, df: Any,
                       now_micros: int) -> list[tuple[ViewRows, float]] | None:
    """Online rows of a small push without Arrow, or None when only the Arrow path fits."""
    if target.scalar is None or not isinstance(df, dict) or any(
            not isinstance(v, list) or len(v) > MAX_SCALAR_ROWS for v in df.values()):
        return None
    columns, rows = check_push(target, df, now_micros, MAX_SCALAR_ROWS)
    return scalar_rows(target.scalar, rows, set(columns))


def prepare_push(target: PushTarget, df: Any, now_micros: int, max_rows: int) -> PreparedPush:
    """Check every row and build the source table and each view's rows; writes nothing."""
    _, rows = check_push(target, df, now_micros, max_rows)
    schema = target.schema.arrow_schema()
    arrays = [pa.array(values, type=f.type)
              for values, f in zip(columns_of(rows, len(schema)), schema, strict=True)]
    # Offline the row is whole (absent features are typed nulls, so every file has the same
    # columns for any reader); online only the pushed features are written.
    full = pa.Table.from_arrays(arrays, schema=schema)
    ts = target.schema.timestamp_field
    present = [n for n in full.column_names if n in df or n == ts]
    table = _mapped(full.select(present), target.field_mapping, ts)
    out: list[tuple[ViewSpec, pa.Table]] = []
    for view in target.views:
        try:
            shaped = apply_transformation(view, table) if transformation_of(view) else table
            out.append((view, conform(view, shaped, ts, table.column(ts))))
        except Exception as exc:  # user transformation code: report it as the caller's input
            raise InvalidInput(f"transformation of view {view.name!r} failed: "
                               f"{type(exc).__name__}") from None
    return PreparedPush(target, full, out)


def _mapped(table: pa.Table, mapping: dict[str, str], ts: str) -> pa.Table:
    """Source columns renamed to the keys and features they feed; the event time keeps its
    name (the views' rows are keyed on it, and Feast maps it through `timestamp_field`)."""
    if not mapping:
        return table
    return table.rename_columns([name if name == ts else mapping.get(name, name)
                                 for name in table.column_names])
