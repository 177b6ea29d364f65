"""A finished training set rendered as CSV or JSON, row group by row group.

Downloads stream, so the response status is sent before the first byte of data: every column
type is checked against the format *before* streaming (`check_exportable`), and a type the
format cannot carry is a 422 naming the column, never a 200 cut short. Bytes become base64
text in both formats; lists, structs and maps become JSON arrays/objects in JSON and JSON text
inside a CSV cell (so a CSV reader gets one cell per feature, whatever its shape).

Times read the same in both formats, over HTTP and from the CLI (`write_file`): a timestamp is
ISO-8601 in UTC with a `T` and a `Z`, its fraction as precise as its unit
(`2024-05-01T12:00:00.000000Z` for microseconds; naive times are taken as UTC, as everywhere);
dates are `2024-05-01` and times of day `12:00:00.000000`. (Arrow's CSV writer and orjson each
had their own form: `2024-05-01 12:00:00.000000Z` against `2024-05-01T12:00:00+00:00`.)
"""

from __future__ import annotations

import base64
import datetime as dt
import os
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from featurebank.errors import InvalidInput

FORMATS = ("csv", "json")
JSON_BATCH_ROWS = 8192


def _is_binary(kind: pa.DataType) -> bool:
    return bool(pa.types.is_binary(kind) or pa.types.is_large_binary(kind)
                or pa.types.is_fixed_size_binary(kind))


def _is_list(kind: pa.DataType) -> bool:
    return bool(pa.types.is_list(kind) or pa.types.is_large_list(kind)
                or pa.types.is_fixed_size_list(kind))


def _carried(kind: pa.DataType) -> bool:
    """Whether both text formats can render `kind` (an allowlist: unknown types are refused)."""
    if pa.types.is_dictionary(kind):
        return _carried(kind.value_type)
    if _is_list(kind):
        return _carried(kind.value_type)
    if pa.types.is_struct(kind):
        return all(_carried(kind.field(i).type) for i in range(kind.num_fields))
    if pa.types.is_map(kind):
        return _carried(kind.key_type) and _carried(kind.item_type)
    checks: tuple[Callable[[pa.DataType], bool], ...] = (
        pa.types.is_null, pa.types.is_boolean, pa.types.is_integer, pa.types.is_floating,
        pa.types.is_decimal, pa.types.is_string, pa.types.is_large_string, _is_binary,
        pa.types.is_date, pa.types.is_time, pa.types.is_timestamp)
    return any(check(kind) for check in checks)


def check_exportable(schema: pa.Schema, fmt: str) -> None:
    """Raise `InvalidInput` (422) naming every column `fmt` cannot carry."""
    bad = {f.name: str(f.type) for f in schema if not _carried(f.type)}
    if bad:
        shown = ", ".join(f"{name!r} ({kind})" for name, kind in bad.items())
        raise InvalidInput(f"column(s) {shown} cannot be rendered as {fmt}; download "
                           f"format=parquet instead", detail={"columns": bad, "format": fmt})


TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
"""Arrow's `%S` carries the unit's fraction (6 digits for microseconds)."""


def _timestamp_text(column: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """A timestamp column as ISO-8601 UTC text (naive = UTC; other zones converted)."""
    kind = column.type
    if kind.tz is None:
        column = pc.assume_timezone(column, "UTC")
    elif kind.tz not in ("UTC", "+00:00", "Z"):
        column = column.cast(pa.timestamp(kind.unit, tz="UTC"))
    return pc.strftime(column, format=TIMESTAMP_FORMAT)


def _time_text(value: dt.datetime | dt.date | dt.time) -> str:
    """A nested time value (inside a list or struct) in the form of a top-level column's."""
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        return value.isoformat(timespec="microseconds") + "Z"
    if isinstance(value, dt.time):
        return value.isoformat(timespec="microseconds")
    return value.isoformat()


def with_text_times(table: pa.Table) -> pa.Table:
    """`table` with its top-level timestamp columns as text (vectorised, one form for both
    formats); nested ones go through `_time_text`."""
    for index, field in enumerate(table.schema):
        if pa.types.is_timestamp(field.type):
            table = table.set_column(index, field.name, _timestamp_text(table.column(index)))
    return table


def _default(value: Any) -> Any:
    """orjson fallback for values Arrow hands back that JSON has no type for."""
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return _time_text(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _dumps(value: Any) -> bytes:
    return orjson.dumps(value, default=_default, option=orjson.OPT_PASSTHROUGH_DATETIME)


def json_chunks(path: Path) -> Iterator[bytes]:
    """A JSON array of row objects, one chunk per batch (timestamps as ISO-8601)."""
    parquet = pq.ParquetFile(path)
    yield b"["
    separator = b""
    for batch in parquet.iter_batches(batch_size=JSON_BATCH_ROWS):
        rows = [_dumps(row) for row in with_text_times(pa.Table.from_batches([batch])).to_pylist()]
        if rows:
            yield separator + b",".join(rows)
            separator = b","
    yield b"]"


def _csv_column(column: pa.ChunkedArray) -> pa.ChunkedArray | pa.Array:
    """A column the Arrow CSV writer can take: base64 for bytes, JSON text for nested values."""
    kind = column.type
    if pa.types.is_dictionary(kind):
        return _csv_column(column.cast(kind.value_type))
    if pa.types.is_time(kind):
        return pa.array([None if v is None else _time_text(v) for v in column.to_pylist()],
                        pa.string())
    if _is_binary(kind):
        return pa.array([None if v is None else base64.b64encode(v).decode("ascii")
                         for v in column.to_pylist()], pa.string())
    if pa.types.is_nested(kind):
        return pa.array([None if v is None else _dumps(v).decode("utf-8")
                         for v in column.to_pylist()], pa.string())
    return column


def csv_chunks(path: Path) -> Iterator[bytes]:
    """CSV with one header line, one chunk per Parquet row group."""
    parquet = pq.ParquetFile(path)
    for index in range(parquet.num_row_groups):
        group = with_text_times(parquet.read_row_group(index))
        table = pa.table([_csv_column(c) for c in group.columns], names=group.column_names)
        sink = pa.BufferOutputStream()
        options = pacsv.WriteOptions(include_header=index == 0)
        pacsv.write_csv(table, sink, write_options=options)
        yield sink.getvalue().to_pybytes()
    if parquet.num_row_groups == 0:
        yield (",".join(parquet.schema_arrow.names) + "\n").encode()


def chunks(path: Path, fmt: str) -> Iterator[bytes]:
    """Check the file's types for `fmt` now (raising before any byte is sent), then stream."""
    if fmt not in FORMATS:
        raise InvalidInput(f"format {fmt!r} must be one of {FORMATS}")
    check_exportable(pq.read_schema(path), fmt)
    return csv_chunks(path) if fmt == "csv" else json_chunks(path)


def write_file(path: Path, out: Path, fmt: str) -> None:
    """Render the Parquet training set at `path` as `fmt` into `out` (the CLI's `--out`),
    atomically: a refused type leaves no file behind, and a reader never sees half of one."""
    parts = chunks(path, fmt)
    temp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    try:
        with open(temp, "wb") as handle:
            for part in parts:
                handle.write(part)
        os.replace(temp, out)
    finally:
        temp.unlink(missing_ok=True)
