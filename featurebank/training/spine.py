"""Entity spines: the rows a training set has, one output row per spine row, in order.

A spine comes from the caller (a DataFrame, an Arrow table, JSON columns, a Parquet or CSV file)
or is built from the data itself (Feast #1611): every entity active in [start, end] on a time
grid, or the event times of a label view. Whatever the origin, it is normalised to one Arrow
table whose timestamp column is `timestamp[us, UTC]`; naive times are taken as UTC, and a value
that cannot be parsed is an error naming it and its row, never a silent null.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from feast.value_type import ValueType

from featurebank.aggregations import aggregations_of
from featurebank.definitions import ViewSpec
from featurebank.errors import InvalidInput, LimitExceeded
from featurebank.offline.latest import quote
from featurebank.offline.sources import offline_source
from featurebank.training.entity_columns import json_columns
from featurebank.training.features import Selection

DEFAULT_TIMESTAMP = "event_timestamp"
TS_TYPE = pa.timestamp("us", tz="UTC")
RESERVED_PREFIX = "__fb_"
MIN_EPOCH_S = -62_135_596_800.0  # 0001-01-01T00:00:00Z
MAX_EPOCH_S = 253_402_300_799.0  # 9999-12-31T23:59:59Z


def _parse_strings(column: pa.Array, name: str) -> pa.Array:
    values = column.to_pylist()
    parsed = pd.to_datetime(pd.Series(values, dtype="object"), utc=True, errors="coerce",
                            format="ISO8601")
    bad = [i for i, (raw, ok) in enumerate(zip(values, parsed.isna(), strict=True))
           if ok and raw is not None]
    if bad:
        shown = [values[i] for i in bad[:3]]
        raise InvalidInput(f"column {name!r} has unparsable timestamp(s) {shown} "
                           f"(row {bad[0]}); use ISO-8601 such as 2024-05-01T12:00:00Z",
                           detail={"column": name, "rows": bad[:10], "values": shown})
    return pa.array(parsed.dt.as_unit("us"), type=TS_TYPE)


def _check_epoch_range(seconds: pa.Array, name: str) -> None:
    """Epoch seconds must fall in years 1..9999 (and not be NaN), or the cast would overflow."""
    inside = pc.and_(pc.greater_equal(seconds, MIN_EPOCH_S), pc.less_equal(seconds, MAX_EPOCH_S))
    bad = pc.and_(pc.is_valid(seconds), pc.invert(pc.fill_null(inside, False)))
    if pc.any(bad).as_py():
        first = pc.index(bad, True).as_py()
        value = seconds[first].as_py()
        raise InvalidInput(f"column {name!r} has epoch seconds {value!r} at row {first}, outside "
                           f"years 1..9999", detail={"column": name, "row": first})


def normalise_timestamps(column: pa.Array | pa.ChunkedArray, name: str) -> pa.Array:
    """Any timestamp-ish column as `timestamp[us, UTC]`; numbers are epoch seconds."""
    array = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    kind = array.type
    if pa.types.is_timestamp(kind):
        if kind.tz is None:
            array = pc.assume_timezone(array, "UTC")
        out = pc.cast(array, TS_TYPE)
    elif pa.types.is_date(kind):
        out = pc.cast(pc.cast(array, pa.timestamp("us")), TS_TYPE)
    elif pa.types.is_string(kind) or pa.types.is_large_string(kind):
        out = _parse_strings(array, name)
    elif pa.types.is_integer(kind) or pa.types.is_floating(kind):
        seconds = pc.cast(array, pa.float64(), safe=False)  # exact for any in-range epoch
        _check_epoch_range(seconds, name)
        micros = pc.cast(pc.round(pc.multiply(seconds, 1e6)), pa.int64())
        out = pc.cast(micros, pa.timestamp("us")).cast(TS_TYPE)
    elif pa.types.is_null(kind):
        out = pa.nulls(len(array), TS_TYPE)
    else:
        raise InvalidInput(f"column {name!r} has type {kind}, expected timestamps",
                           detail={"column": name})
    nulls = out.null_count
    if nulls:
        first = pc.index(pc.is_null(out), True).as_py()
        raise InvalidInput(f"column {name!r} has {nulls} missing timestamp(s) (first at row "
                           f"{first})", detail={"column": name, "row": first})
    return out


def _csv_options(text_columns: Collection[str]) -> pacsv.ConvertOptions:
    """Timestamps stay text (parsed by `normalise_timestamps`, naive = UTC); `text_columns`
    (join keys) are read as text, never type-guessed, so `0001` keeps its leading zeros and
    `prepare_spine` converts them to the declared key type."""
    return pacsv.ConvertOptions(timestamp_parsers=[],
                                column_types={name: pa.string() for name in text_columns})


def read_spine_file(path: Path, text_columns: Collection[str] = ()) -> pa.Table:
    """A Parquet or CSV file of entity rows (CSV columns other than `text_columns` keep their
    inferred types)."""
    suffix = path.suffix.lower()
    try:
        if suffix == ".parquet":
            return pq.read_table(path)
        if suffix == ".csv":
            return pacsv.read_csv(path, convert_options=_csv_options(text_columns))
    except (pa.ArrowInvalid, OSError) as exc:
        raise InvalidInput(f"cannot read entity file {path.name!r}: {exc}") from None
    raise InvalidInput(f"entity file {path.name!r} must be .parquet or .csv")


def read_spine_bytes(data: bytes, filename: str, text_columns: Collection[str] = ()) -> pa.Table:
    """An uploaded Parquet or CSV body; the kind comes from the name or the Parquet magic."""
    reader = pa.BufferReader(data)
    try:
        if data[:4] == b"PAR1" or filename.lower().endswith(".parquet"):
            return pq.read_table(reader)
        return pacsv.read_csv(reader, convert_options=_csv_options(text_columns))
    except pa.ArrowInvalid as exc:
        raise InvalidInput(f"cannot read uploaded entity file {filename!r}: {exc}") from None


def as_table(entities: Any, key_types: Mapping[str, ValueType] | None = None) -> pa.Table:
    """Entity rows from a DataFrame, Arrow table, file path or `{column: [values]}`.

    `key_types` (join key column -> declared type) lets a JSON key column that mixes kinds of
    values (`[1, "2"]`) be read as its declared type, as a lookup would read it."""
    if isinstance(entities, pa.Table):
        return entities
    if isinstance(entities, pd.DataFrame):
        return pa.Table.from_pandas(entities, preserve_index=False)
    if isinstance(entities, (str, Path)):
        return read_spine_file(Path(entities))
    if isinstance(entities, Mapping):
        lists = [v for v in entities.values()
                 if isinstance(v, Sequence) and not isinstance(v, str | bytes)]
        if len(lists) != len(entities) or len({len(v) for v in lists}) != 1:
            raise InvalidInput("'entities' must map column names to lists of equal length")
        types = {name: value_type.name for name, value_type in (key_types or {}).items()}
        return pa.table(json_columns(entities, types))
    raise InvalidInput(f"cannot use {type(entities).__name__} as entity rows")


def prepare_spine(table: pa.Table, selection: Selection, *, max_rows: int,
                  timestamp_column: str = DEFAULT_TIMESTAMP) -> pa.Table:
    """Check and normalise entity rows; the result is what the input hash is taken over."""
    if table.num_rows > max_rows:
        raise LimitExceeded(f"{table.num_rows:,} entity rows exceed the limit of {max_rows:,}",
                            detail={"rows": table.num_rows, "limit": max_rows})
    names = table.column_names
    if timestamp_column not in names:
        raise InvalidInput(f"entity rows have no {timestamp_column!r} column (columns: "
                           f"{names})", detail={"missing": [timestamp_column]})
    reserved = [n for n in names if n.startswith(RESERVED_PREFIX)]
    missing = sorted((selection.entity_columns | selection.request_fields) - set(names))
    if reserved or missing:
        raise InvalidInput(
            f"entity rows lack join key(s) or request field(s) {missing}; they have {names}"
            if missing else f"column names {reserved} are reserved",
            detail={"missing": missing, "reserved": reserved})
    clashes = sorted(set(names) & set(selection.outputs))
    if clashes:
        raise InvalidInput(f"entity columns {clashes} have the same names as requested features",
                           detail={"columns": clashes})
    _check_columns(table, selection, timestamp_column)
    table = coerce_keys(table, selection.key_types())
    index = names.index(timestamp_column)
    stamps = normalise_timestamps(table.column(timestamp_column), timestamp_column)
    return table.set_column(index, timestamp_column, stamps).combine_chunks()


def _has_empty_struct(kind: pa.DataType) -> bool:
    if pa.types.is_struct(kind):
        return kind.num_fields == 0 or any(_has_empty_struct(f.type) for f in kind)
    return any(_has_empty_struct(kind.field(i).type) for i in range(kind.num_fields))


def _check_columns(table: pa.Table, selection: Selection, timestamp_column: str) -> None:
    """Rows, key types and column shapes the join and the Parquet files can take."""
    if table.num_rows == 0:
        raise InvalidInput("there are no entity rows (an empty table, or a spine window "
                           "without events)", detail={"rows": 0})
    keys = selection.entity_columns | selection.request_fields
    if timestamp_column in keys:
        raise InvalidInput(f"timestamp column {timestamp_column!r} is also a join key or "
                           f"request field; name the entity rows' event time column",
                           detail={"column": timestamp_column})
    for field in table.schema:
        if field.name in keys and pa.types.is_nested(field.type):
            raise InvalidInput(f"column {field.name!r} has type {field.type}; join keys and "
                               f"request fields must be plain values",
                               detail={"column": field.name})
        if _has_empty_struct(field.type):
            raise InvalidInput(f"column {field.name!r} holds empty objects ({{}}), which cannot "
                               f"be stored", detail={"column": field.name})


_INTEGER_TEXT = r"^-?[0-9]+$"
_EXPECTED = {ValueType.STRING: "a string", ValueType.INT64: "an integer",
             ValueType.INT32: "an integer", ValueType.BYTES: "bytes or a string"}


def _bad_key(column: pa.Array, bad: pa.Array, name: str, value_type: ValueType) -> InvalidInput:
    """The 422 for a key column: the column, its first bad value and row, the declared type."""
    row = pc.index(bad, True).as_py()
    value = column[row].as_py()
    return InvalidInput(
        f"join key column {name!r}: {value!r} (row {row}) is not {_EXPECTED[value_type]}; "
        f"the join key is declared {value_type.name}",
        detail={"column": name, "row": row, "value": repr(value)[:100],
                "expected": value_type.name})


def _as_integers(column: pa.Array, name: str, value_type: ValueType) -> pa.Array:
    kind = column.type
    if pa.types.is_integer(kind):
        return column
    if pa.types.is_null(kind):
        return pc.cast(column, pa.int64())
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        bad = pc.invert(pc.fill_null(pc.match_substring_regex(column, _INTEGER_TEXT), True))
        if pc.any(bad).as_py():
            raise _bad_key(column, bad, name, value_type)
        try:
            return pc.cast(column, pa.int64())
        except pa.ArrowInvalid:  # digits, but outside the 64-bit range
            raise InvalidInput(f"join key column {name!r} holds an integer outside the "
                               f"64-bit range", detail={"column": name}) from None
    if pa.types.is_floating(kind):
        bad = pc.fill_null(pc.not_equal(column, pc.floor(column)), False)
        if not pc.any(bad).as_py():
            try:
                return pc.cast(column, pa.int64())
            except pa.ArrowInvalid:
                bad = pc.is_valid(column)
        raise _bad_key(column, bad, name, value_type)
    raise _bad_key(column, pc.is_valid(column), name, value_type)


def _as_key_type(column: pa.Array, name: str, value_type: ValueType) -> pa.Array:
    kind = column.type
    if pa.types.is_dictionary(kind):
        column = pc.cast(column, kind.value_type)
        kind = column.type
    text = pa.types.is_string(kind) or pa.types.is_large_string(kind)
    if value_type in (ValueType.INT64, ValueType.INT32):
        return _as_integers(column, name, value_type)
    if value_type == ValueType.STRING:
        if text:
            return column
        if pa.types.is_null(kind):
            return pc.cast(column, pa.string())
        raise _bad_key(column, pc.is_valid(column), name, value_type)
    if value_type == ValueType.BYTES:
        if pa.types.is_binary(kind) or pa.types.is_large_binary(kind):
            return column
        if text or pa.types.is_null(kind):
            return pc.cast(column, pa.binary())
        raise _bad_key(column, pc.is_valid(column), name, value_type)
    return column  # other key types have no online codec; the join decides


def coerce_keys(table: pa.Table, key_types: Mapping[str, ValueType]) -> pa.Table:
    """Key columns checked against (and, for text digits or whole floats, converted to) their
    declared join key types, so a mismatch is a 422 at request time like a lookup's."""
    for name, value_type in key_types.items():
        if name not in table.column_names:
            continue
        index = table.column_names.index(name)
        column = table.column(index).combine_chunks()
        converted = _as_key_type(column, name, value_type)
        if converted is not column:
            table = table.set_column(index, name, converted)
    return table


@dataclass(frozen=True)
class SpineSpec:
    """A spine built from the data: `mode` is "active" (a grid) or "label" (label events)."""

    mode: str
    view: str
    start: datetime
    end: datetime
    every: timedelta | None = None

    def describe(self) -> dict[str, Any]:
        return {"mode": self.mode, "view": self.view, "start": self.start.isoformat(),
                "end": self.end.isoformat(),
                "every_seconds": self.every.total_seconds() if self.every else None}


def _stored_features(view: ViewSpec) -> list[str]:
    """The features a label spine copies from the history. A windowed aggregation is not
    stored there (the history holds its raw events); request it to have it joined."""
    try:
        windows = {window.name for window in aggregations_of(view)}
    except ValueError:
        windows = set()
    return [name for name in view.features if name not in windows]


def build_spine(view: ViewSpec, spec: SpineSpec, *, max_rows: int,
                timestamp_column: str = DEFAULT_TIMESTAMP) -> pa.Table:
    """Entity rows computed from a view's offline data, sorted by (time, keys).

    "active": for each grid point t = start + k·every (≤ end), every entity with an event in
    (t - every, t]; "label": every row of the view in [start, end] with its features, so the
    label view's values sit beside the point-in-time features requested against them.
    """
    if spec.end < spec.start:
        raise InvalidInput(f"spine end {spec.end.isoformat()} is before start")
    source = offline_source(view)
    keys = [] if view.entityless else list(view.join_key_names)
    key_sql = [f"{quote(source.column_for(k))} AS {quote(k)}" for k in keys]
    ts = f"{quote(source.timestamp_field)}::TIMESTAMPTZ"
    out = quote(timestamp_column)
    connection = duckdb.connect()
    try:
        connection.execute("SET TimeZone = 'UTC'")
        where = f"{ts} >= $start AND {ts} <= $end"
        params: dict[str, object] = {"path": source.path, "start": spec.start, "end": spec.end}
        if spec.mode == "label":
            feats = [f"{quote(source.column_for(f))} AS {quote(f)}"
                     for f in _stored_features(view)]
            select = ", ".join([*key_sql, f"{ts} AS {out}", *feats])
            order = ", ".join([out, *map(quote, keys)])
        elif spec.mode == "active":
            if spec.every is None or spec.every.total_seconds() <= 0:
                raise InvalidInput("an 'active' spine needs a positive 'every' interval")
            params["every"] = int(spec.every.total_seconds() * 1_000_000)
            grid = ("make_timestamptz(epoch_us($start) + $every * "
                    f"ceil((epoch_us({ts}) - epoch_us($start)) / $every)::BIGINT)")
            select = "DISTINCT " + ", ".join([*key_sql, f"{grid} AS {out}"])
            where += f" AND {grid} <= $end"
            order = ", ".join([out, *map(quote, keys)])
        else:
            raise InvalidInput(f"spine mode {spec.mode!r} must be 'active' or 'label'")
        if not source.has_files():
            raise InvalidInput(f"view {view.name!r} has no offline data to build a spine from")
        query = (f"SELECT {select} FROM read_parquet($path, union_by_name = true) WHERE {where} "  # noqa: S608
                 f"ORDER BY {order} LIMIT {int(max_rows) + 1}")
        try:
            table: pa.Table = connection.execute(query, params).to_arrow_table()
        except duckdb.BinderException as exc:
            raise InvalidInput(
                f"view {view.name!r}: its offline data at {source.path} lacks a column the "
                f"spine reads ({str(exc).splitlines()[0]})",
                detail={"feature_view": view.name}) from None
    finally:
        connection.close()
    if table.num_rows > max_rows:
        raise LimitExceeded(f"the spine has more than {max_rows:,} rows; narrow [start, end]",
                            detail={"limit": max_rows})
    index = table.column_names.index(timestamp_column)
    return table.set_column(index, timestamp_column, pc.cast(table.column(index), TS_TYPE))
