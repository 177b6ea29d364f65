"""Feast `Aggregation`s of stream feature views, as the processor and training sets use them.

Feast registers `aggregations=[Aggregation(column, function, time_window)]` on a stream feature
view and leaves computing them to the engine. Feature Bank gives them one meaning everywhere: a
feature's value at time t is `function` over the entity's events with event time in
(t - time_window, t]. Online (`streaming.aggregation`) t is the entity's newest event; in a
training set (`featurebank.training.plan`) t is the entity row's timestamp, computed from the
raw events of the view's batch source. The output feature is named as Feast names it
(`Aggregation.resolved_name`: its `name`, else `{function}_{column}_{seconds}s`) and must be
declared in the view's schema.
"""

from __future__ import annotations

from dataclasses import dataclass

from feast import StreamFeatureView
from feast.value_type import ValueType

from featurebank.definitions import ViewSpec

FUNCTIONS = ("sum", "count", "mean", "avg", "min", "max", "std", "var", "count_distinct")

# Offline (training sets, materialize) each function is this DuckDB aggregate, `{}` its input,
# and the value is cast to the declared feature type so the written schema matches the registry.
SQL_AGGREGATES = {
    "sum": "sum({})", "count": "count({})", "mean": "avg({})", "avg": "avg({})",
    "min": "min({})", "max": "max({})", "std": "stddev_samp({})", "var": "var_samp({})",
    "count_distinct": "count(DISTINCT {})",
}
SQL_TYPES = {ValueType.DOUBLE: "DOUBLE", ValueType.FLOAT: "FLOAT", ValueType.INT64: "BIGINT",
             ValueType.INT32: "INTEGER"}


@dataclass(frozen=True)
class WindowedAggregation:
    """One output feature: `function` of `column` over the trailing `window_us`."""

    name: str
    column: str
    function: str
    window_us: int


def aggregations_of(view: ViewSpec) -> tuple[WindowedAggregation, ...]:
    """The view's aggregations, or () for a view without; raises ValueError naming a bad one."""
    feast_view = view.feast_view
    if not isinstance(feast_view, StreamFeatureView) or not feast_view.aggregations:
        return ()
    out: list[WindowedAggregation] = []
    for aggregation in feast_view.aggregations:
        function = aggregation.function.lower()
        if function not in FUNCTIONS:
            raise ValueError(f"aggregation {aggregation.function!r} of view {view.name!r} is not "
                             f"supported; use one of {list(FUNCTIONS)}")
        window = aggregation.time_window
        if window is None or window.total_seconds() <= 0:
            raise ValueError(f"aggregation {function}({aggregation.column}) of view "
                             f"{view.name!r} needs a positive time_window")
        name = aggregation.resolved_name(window)
        if name not in view.features:
            raise ValueError(f"view {view.name!r} computes {name!r} "
                             f"({function} of {aggregation.column!r}) but its schema lacks it; "
                             f"add Field(name={name!r}, ...)")
        out.append(WindowedAggregation(name, aggregation.column, function,
                                       int(window.total_seconds() * 1_000_000)))
    return tuple(out)
