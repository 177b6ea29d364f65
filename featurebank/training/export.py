"""A finished training set rendered as CSV or JSON, row group by row group.

Downloads stream, so the response status is sent before the first byte of data: every column
type is checked against the format *before* streaming (`check_exportable`), and a type the
format cannot carry is a 422 naming the column, never a 200 cut short. Bytes become base64
text in both formats; lists, structs and maps become JSON arrays/objects in JSON and JSON text
inside a CSV cell (so a CSV reader gets one cell per feature, whatever its shape).
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
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


def _default(value: Any) -> Any:
    """orjson fallback for values Arrow hands back that JSON has no type for."""
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _dumps(value: Any) -> bytes:
    return orjson.dumps(value, default=_default, option=orjson.OPT_NAIVE_UTC)


def json_chunks(path: Path) -> Iterator[bytes]:
    """A JSON array of row objects, one chunk per batch (timestamps as ISO-8601)."""
    parquet = pq.ParquetFile(path)
    yield b"["
    separator = b""
    for batch in parquet.iter_batches(batch_size=JSON_BATCH_ROWS):
        rows = [_dumps(row) for row in batch.to_pylist()]
        if rows:
            yield separator + b",".join(rows)
            separator = b","
    yield b"]"


def _csv_column(column: pa.ChunkedArray) -> pa.ChunkedArray | pa.Array:
    """A column the Arrow CSV writer can take: base64 for bytes, JSON text for nested values."""
    kind = column.type
    if pa.types.is_dictionary(kind):
        return _csv_column(column.cast(kind.value_type))
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
        group = parquet.read_row_group(index)
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
