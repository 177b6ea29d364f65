"""Which column and feature types a windowed aggregation accepts, checked when the plan is built.

A type that cannot work (a `sum` over a STRING column, a `mean` declared Int64, a `max` of a
DOUBLE declared Int32) used to fail only when the first batch was written, on every replay of
it: the processor crash-looped. Checked up front, such a view is skipped with the reason
(logged and shown in `/health`) and the rest of its source keeps flowing.

The rules follow what Feast's engines accept (Spark and Flink SQL: `sum`/`avg`/`stddev_samp`/
`var_samp` need numbers, `min`/`max` any ordered type, `count` anything) narrowed to what the
online computation can store and cast without loss (`streaming.aggregation`):

    function                 column kinds                     feature kinds
    sum                      integers, floats                 floats; integers if the column's are
    mean avg std var         integers, floats                 floats
    min max                  integers, floats, string, bool   the column's kind, or a wider number
    count count_distinct     any but bytes                    integers, floats

Bytes are never aggregated (events are kept as JSON in Redis); timestamps only counted.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from featurebank.aggregations import WindowedAggregation
from featurebank.definitions import ViewSpec
from streaming.schema import kind_of

INTEGERS = frozenset({"int32", "int64"})
FLOATS = frozenset({"float32", "float64"})
NUMBERS = INTEGERS | FLOATS
_INPUTS: dict[str, frozenset[str]] = {
    "sum": NUMBERS, "mean": NUMBERS, "avg": NUMBERS, "std": NUMBERS, "var": NUMBERS,
    "min": NUMBERS | {"string", "bool"}, "max": NUMBERS | {"string", "bool"},
    "count": NUMBERS | {"string", "bool", "timestamp"},
    "count_distinct": NUMBERS | {"string", "bool", "timestamp"},
}
_WIDER = {"int32": {"int64"} | FLOATS, "int64": FLOATS, "float32": {"float64"},
          "float64": {"float32"}}


def _outputs(function: str, column_kind: str | None) -> frozenset[str]:
    """Feature kinds `function` of a column of `column_kind` (None: unknown) can be cast to."""
    if function in ("count", "count_distinct"):
        return NUMBERS
    if function in ("mean", "avg", "std", "var"):
        return FLOATS
    if function == "sum":
        return NUMBERS if column_kind is None or column_kind in INTEGERS else FLOATS
    if column_kind is None:  # min/max of a column a transformation makes
        return NUMBERS | {"string", "bool"}
    return frozenset({column_kind, *_WIDER.get(column_kind, ())})


def check_types(view: ViewSpec, aggregations: Sequence[WindowedAggregation],
                column_kinds: Mapping[str, str]) -> None:
    """Raise ValueError naming the first aggregation of `view` whose types cannot work.

    `column_kinds` maps the view's column names (after `field_mapping`) to their kinds where
    they are known; a column a transformation computes is judged by its output only.
    """
    for aggregation in aggregations:
        function, column = aggregation.function, aggregation.column
        described = f"aggregation {function}({column}) of view {view.name!r}"
        column_kind = column_kinds.get(column)
        if column_kind is not None and column_kind not in _INPUTS[function]:
            raise ValueError(f"{described}: {function} cannot take a {column_kind} column "
                             f"(it takes {', '.join(sorted(_INPUTS[function]))})")
        feature_kind = kind_of(view.features[aggregation.name].value_type)
        allowed = _outputs(function, column_kind)
        if feature_kind not in allowed:
            raise ValueError(f"{described}: feature {aggregation.name!r} is declared "
                             f"{feature_kind or 'a type streams do not support'}, but "
                             f"{function} gives {', '.join(sorted(allowed))}; declare one of "
                             "those")


def column_kinds(view: ViewSpec, source_kinds: Mapping[str, str], field_mapping: Mapping[str, str],
                 transformed: bool) -> dict[str, str]:
    """The kinds of the view's columns, as the aggregations read them.

    Without a transformation a column is the source's (renamed by `field_mapping`); with one,
    only the view's declared features are known (the transformation should produce them).
    """
    if not transformed:
        return {field_mapping.get(name, name): kind for name, kind in source_kinds.items()}
    kinds = {name: kind_of(spec.value_type) for name, spec in view.features.items()}
    return {name: kind for name, kind in kinds.items() if kind is not None}
