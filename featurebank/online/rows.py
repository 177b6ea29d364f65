"""Turning an Arrow table of one view's rows into encoded `ViewRows`."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from featurebank.codec.timestamps import encode_timestamp
from featurebank.codec.values import encode_column
from featurebank.definitions import ViewSpec
from featurebank.errors import InvalidInput
from featurebank.online.writer import ViewRows


def event_time_micros(column: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """Microseconds since the epoch per row of a timestamp column (int64, no nulls)."""
    if not pa.types.is_timestamp(column.type):
        raise InvalidInput(f"event time column has type {column.type}, expected a timestamp")
    micros = pc.cast(pc.cast(column, pa.timestamp("us", tz="UTC")), pa.int64())
    if micros.null_count:
        raise InvalidInput("event time column contains nulls")
    if isinstance(micros, pa.ChunkedArray):
        micros = micros.combine_chunks()
    values: np.ndarray = micros.to_numpy(zero_copy_only=False).astype(np.int64, copy=False)
    return values


def event_time_parts(column: pa.Array | pa.ChunkedArray) -> list[tuple[int, int]]:
    """(seconds, nanos) per row of a timestamp column, exact to the microsecond."""
    seconds, nanos = _split(event_time_micros(column))
    return list(zip(seconds, nanos, strict=True))


def _split(micros: np.ndarray) -> tuple[list[int], list[int]]:
    # floor division, as divmod does, so times before 1970 keep non-negative nanos
    seconds, rest = np.divmod(micros, 1_000_000)
    return seconds.tolist(), (rest * 1_000).tolist()


def encode_timestamps(seconds: Sequence[int], nanos: Sequence[int]) -> list[bytes]:
    """`encode_timestamp` for a whole column: each distinct second and nanos part once.

    Event times of a batch share few distinct seconds, so the two halves of the protobuf
    (field 1 = seconds, field 2 = nanos, zero fields omitted) are memoized separately.
    """
    high = {s: encode_timestamp(s) for s in set(seconds)}
    low = {n: encode_timestamp(0, n) for n in set(nanos)}
    return [high[s] + low[n] for s, n in zip(seconds, nanos, strict=True)]


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
    seconds, nanos = _split(event_time_micros(table.column(timestamp_column)))
    encoded = {
        name: encode_column(table.column(name), spec.value_type)
        for name, spec in view.features.items()
        if name in table.column_names
    }
    return ViewRows(view=view, keys=keys, event_times=list(zip(seconds, nanos, strict=True)),
                    columns=encoded, timestamps=encode_timestamps(seconds, nanos))
