"""Turning an Arrow table of one view's rows into encoded `ViewRows`."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from featurebank.codec.values import encode_column
from featurebank.definitions import ViewSpec
from featurebank.errors import InvalidInput
from featurebank.online.writer import ViewRows


def event_time_parts(column: pa.Array | pa.ChunkedArray) -> list[tuple[int, int]]:
    """(seconds, nanos) per row of a timestamp column, exact to the microsecond."""
    if not pa.types.is_timestamp(column.type):
        raise InvalidInput(f"event time column has type {column.type}, expected a timestamp")
    micros = pc.cast(pc.cast(column, pa.timestamp("us", tz="UTC")), pa.int64()).to_pylist()
    out: list[tuple[int, int]] = []
    for value in micros:
        if value is None:
            raise InvalidInput("event time column contains nulls")
        seconds, rest = divmod(value, 1_000_000)
        out.append((seconds, rest * 1_000))
    return out


def rows_from_table(view: ViewSpec, table: pa.Table, timestamp_column: str) -> ViewRows:
    """Encode a table whose columns are the view's join keys, features and event time.

    Features missing from the table are not written (their stored values stay as they are).
    """
    if view.entityless:
        keys = [view.codec.key([""])] * table.num_rows
    else:
        missing = [name for name in view.join_key_names if name not in table.column_names]
        if missing:
            raise InvalidInput(f"rows for view {view.name!r} lack join key(s) {missing}")
        columns = [table.column(name).to_pylist() for name in view.join_key_names]
        keys = view.codec.keys(columns)
    event_times = event_time_parts(table.column(timestamp_column))
    encoded = {
        name: encode_column(table.column(name), spec.value_type)
        for name, spec in view.features.items()
        if name in table.column_names
    }
    return ViewRows(view=view, keys=keys, event_times=event_times, columns=encoded)
