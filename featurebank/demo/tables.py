"""Generated numpy columns to Arrow tables with the exact schema a FileSource declares."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from featurebank.demo.noise import Columns

TIMESTAMP = pa.timestamp("us", tz="UTC")


def to_table(
    schema: pa.Schema,
    columns: Columns,
    rng: np.random.Generator,
    null_share: dict[str, float] | None = None,
) -> pa.Table:
    """Build a table in `schema`'s column order, blanking a share of some columns' values.

    Masks are drawn in schema order from `rng`, so the result is a pure function of the inputs.
    """
    null_share = null_share or {}
    unknown = set(null_share) - set(schema.names)
    if unknown or set(columns) != set(schema.names):
        raise ValueError(f"columns do not match schema {schema.names}: {sorted(columns)}")
    arrays = []
    for field in schema:
        values = columns[field.name]
        share = null_share.get(field.name, 0.0)
        mask = rng.random(len(values)) < share if share > 0 else None
        arrays.append(_array(values, field.type, mask))
    return pa.Table.from_arrays(arrays, schema=schema)


def _array(values: np.ndarray, type_: pa.DataType, mask: np.ndarray | None) -> pa.Array:
    if pa.types.is_timestamp(type_):
        return pa.array(values.astype(np.int64), type=pa.int64(), mask=mask).cast(type_)
    if pa.types.is_string(type_):
        return pa.array(values.astype(str), type=type_, mask=mask)
    return pa.array(values.astype(type_.to_pandas_dtype()), type=type_, mask=mask)
