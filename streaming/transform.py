"""A stream feature view's own transformation, applied to a batch of source rows.

Feast stores it as a `PandasTransformation` (a DataFrame → DataFrame udf) or a
`PythonTransformation` (dict of columns → dict of columns); both are run here on whole batches,
and the result is cast to the view's declared types so the online encoder sees exact types.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from featurebank.definitions import ViewSpec
from streaming.schema import ARROW_TYPES, kind_of


def transformation_of(view: ViewSpec) -> Any | None:
    feast_view = view.feast_view
    transformation = getattr(feast_view, "feature_transformation", None)
    if transformation is not None:
        return transformation
    return None


def apply_transformation(view: ViewSpec, table: pa.Table) -> pa.Table:
    """The view's output for `table`; raises whatever the udf raises."""
    transformation = transformation_of(view)
    if transformation is None:
        return table
    udf = getattr(transformation, "udf", None)
    if udf is None:
        raise TypeError(f"transformation of {view.name!r} has no udf")
    if type(transformation).__name__ == "PythonTransformation":
        inputs = table.to_pydict()
        output = {**inputs, **udf(inputs)}
        result = pa.Table.from_pydict(output)
    else:
        frame = udf(table.to_pandas())
        result = pa.Table.from_pandas(frame, preserve_index=False)
    if result.num_rows != table.num_rows:
        raise ValueError(f"transformation of {view.name!r} returned {result.num_rows} rows "
                         f"for {table.num_rows}")
    return result


def conform(view: ViewSpec, table: pa.Table, ts_column: str, event_times: pa.Array) -> pa.Table:
    """Keep the view's join keys, features and event time, cast exactly to their types."""
    columns: dict[str, pa.Array | pa.ChunkedArray] = {}
    wanted = [*view.join_keys, *((f.name, f.value_type) for f in view.features.values())]
    for name, value_type in wanted:
        if name not in table.column_names:
            continue
        kind = kind_of(value_type)
        column = table.column(name)
        if kind is not None and column.type != ARROW_TYPES[kind]:
            column = pc.cast(column, ARROW_TYPES[kind], safe=True)
        columns[name] = column
    columns[ts_column] = event_times
    return pa.table(columns)
