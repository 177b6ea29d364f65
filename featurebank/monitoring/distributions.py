"""Counting feature distributions in DuckDB: one scan per side for every feature at once.

A `Sample` is a SQL relation (served logs, a history window, a training set) plus, per feature,
the SQL of its value and of "this row counts for this feature" (a served-log row only counts
for features its request asked for). The reference side takes two scans (quantiles and row
counts, then bin counts against the edges those quantiles fix), the detection side one; top-N
categories take one grouped query per categorical feature. Nothing row-sized enters Python.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from math import isfinite
from typing import Any

import duckdb
import numpy as np
from feast.value_type import ValueType

from featurebank.monitoring import drift

NUMERIC_TYPES = frozenset((ValueType.INT32, ValueType.INT64, ValueType.FLOAT, ValueType.DOUBLE))
CATEGORICAL_TYPES = frozenset((ValueType.STRING, ValueType.BOOL))

EDGE_SAMPLE_ROWS = 200_000
FeatureKey = tuple[str, str]
"""(view, feature)."""


def is_monitored(value_type: ValueType) -> bool:
    """Scalars only: lists, bytes and timestamps have no meaningful bins here."""
    return value_type in NUMERIC_TYPES or value_type in CATEGORICAL_TYPES


@dataclass(frozen=True)
class Column:
    """How one feature reads from a sample's relation."""

    value: str
    """SQL of the raw value; NULL is a null."""
    counted: str = "TRUE"
    """SQL boolean: whether the row counts for this feature at all."""


@dataclass
class Sample:
    relation: str
    columns: dict[FeatureKey, Column]
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Bins:
    """The bins a reference fixed for one feature, and its counts in them."""

    numeric: bool
    edges: np.ndarray[Any, np.dtype[np.float64]] | None
    categories: list[str] | None
    counts: list[int]
    rows: int
    nulls: int
    low: float | None = None
    high: float | None = None
    """The reference's min and max: where the open outer bins are drawn."""

    def shown_edges(self) -> list[float] | None:
        """Edges for a report (JSON has no infinity): the outer ones at the reference's range."""
        if self.edges is None:
            return None
        inner = [float(e) for e in self.edges[1:-1]]
        low = self.low if self.low is not None else (inner[0] if inner else 0.0)
        high = self.high if self.high is not None else (inner[-1] if inner else 0.0)
        return [min(low, *inner) if inner else low, *inner, max(high, *inner) if inner else high]


@dataclass(frozen=True)
class Counts:
    counts: list[int]
    rows: int
    nulls: int


def _value(column: Column, numeric: bool) -> str:
    if numeric:
        return f"NULLIF(TRY_CAST({column.value} AS DOUBLE), 'NaN'::DOUBLE)"
    return f"CAST({column.value} AS VARCHAR)"


def _projected(sample: Sample, keys: list[FeatureKey], numeric: dict[FeatureKey, bool]) -> str:
    """The sample as `__v<j>` (the value, NULL when the row does not count) and `__c<j>`.

    Computing each value once here, instead of inside every bin's CASE, is what keeps a scan
    at DuckDB speed: the served-log value is itself a CASE over the status column.
    """
    parts = []
    for j, key in enumerate(keys):
        column = sample.columns[key]
        value = _value(column, numeric[key])
        parts += [f"CASE WHEN {column.counted} THEN {value} END AS __v{j}",
                  f"({column.counted}) AS __c{j}"]
    return f"(SELECT {', '.join(parts)} FROM {sample.relation}) __p"  # noqa: S608


def _row_stats(keys: list[FeatureKey]) -> list[str]:
    parts = []
    for j in range(len(keys)):
        parts += [f"count_if(__c{j}) AS r{j}", f"count_if(__c{j} AND __v{j} IS NULL) AS n{j}"]
    return parts


def _scan(connection: duckdb.DuckDBPyConnection, relation: str, params: dict[str, Any],
          selects: list[str]) -> dict[str, Any]:
    if not selects:
        return {}
    cursor = connection.execute(f"SELECT {', '.join(selects)} FROM {relation}",  # noqa: S608
                                params)
    rows = cursor.fetchall()  # all of it: an unfinished result blocks the connection
    row = rows[0] if rows else None
    names = [d[0] for d in cursor.description or []]
    return dict(zip(names, row or (), strict=True))


def _categories(connection: duckdb.DuckDBPyConnection, relation: str, params: dict[str, Any],
                j: int, top_n: int) -> list[str]:
    sql = (f"SELECT __v{j} AS v, count(*) AS c FROM {relation} "  # noqa: S608
           f"WHERE __v{j} IS NOT NULL GROUP BY v ORDER BY c DESC, v LIMIT {int(top_n)}")
    return [str(v) for v, _ in connection.execute(sql, params).fetchall()]


def _bin_selects(j: int, shape: Bins, params: dict[str, Any]) -> list[str]:
    """Per bin boundary one count (values below it, or equal to a category), plus non-nulls."""
    value = f"__v{j}"
    if shape.numeric and shape.edges is not None:
        counts = drift.below_edges_sql(value, shape.edges)
    else:
        counts = []
        for k, category in enumerate(shape.categories or []):
            params[f"__cat{j}_{k}"] = category
            counts.append(f"count_if({value} = $__cat{j}_{k})")
    return [*(f"{sql} AS b{j}_{k}" for k, sql in enumerate(counts)), f"count({value}) AS t{j}"]


def _bin_counts(found: dict[str, Any], j: int, shape: Bins) -> list[int]:
    values = int(found[f"t{j}"] or 0)
    if shape.numeric and shape.edges is not None:
        below = [found[f"b{j}_{k}"] for k in range(len(shape.edges) - 2)]
        return drift.counts_from_below(below, values)
    counts = [int(found[f"b{j}_{k}"] or 0) for k in range(len(shape.categories or []))]
    return [*counts, values - sum(counts)]


def _count_bins(connection: duckdb.DuckDBPyConnection, relation: str, params: dict[str, Any],
                keys: list[FeatureKey], shapes: dict[FeatureKey, Bins],
                with_stats: bool) -> dict[str, Any]:
    bound = dict(params)
    selects = [sql for j, key in enumerate(keys) for sql in _bin_selects(j, shapes[key], bound)]
    if with_stats:
        selects += _row_stats(keys)
    return _scan(connection, relation, bound, selects)


def profile_reference(connection: duckdb.DuckDBPyConnection, sample: Sample,
                      numeric: dict[FeatureKey, bool], *, bins: int = drift.BINS,
                      top_n: int = drift.TOP_N) -> dict[FeatureKey, Bins]:
    """Fix each feature's bins from the reference and count the reference into them.

    Edges and top categories come from a reservoir sample of `EDGE_SAMPLE_ROWS` rows (a
    decile of 200k rows is within ~0.2 percentile points of the full data's, and sorting
    millions of rows per feature cost more than the rest of a run); the counts in those
    bins, the rows and the nulls are exact, over every reference row.
    """
    keys = [k for k in numeric if k in sample.columns]
    if not keys:
        return {}
    relation = _projected(sample, keys, numeric)
    connection.execute(
        f"CREATE OR REPLACE TEMP TABLE __fb_edges AS SELECT * FROM {relation} "  # noqa: S608
        f"USING SAMPLE reservoir({EDGE_SAMPLE_ROWS} ROWS) REPEATABLE (7)", sample.params)
    try:
        shapes = _shapes(connection, keys, numeric, bins, top_n)
    finally:
        connection.execute("DROP TABLE IF EXISTS __fb_edges")
    counted = _count_bins(connection, relation, sample.params, keys, shapes, with_stats=True)
    out: dict[FeatureKey, Bins] = {}
    for j, key in enumerate(keys):
        shape = shapes[key]
        out[key] = Bins(shape.numeric, shape.edges, shape.categories,
                        _bin_counts(counted, j, shape), int(counted[f"r{j}"] or 0),
                        int(counted[f"n{j}"] or 0), shape.low, shape.high)
    return out


def _shapes(connection: duckdb.DuckDBPyConnection, keys: list[FeatureKey],
            numeric: dict[FeatureKey, bool], bins: int, top_n: int) -> dict[FeatureKey, Bins]:
    """Each feature's bins, from the sampled reference in `__fb_edges`."""
    relation = "__fb_edges"
    params: dict[str, Any] = {}
    points = [0.0, *drift.decile_points(bins), 1.0]
    selects = [f"quantile_cont(__v{j}, {points!r}) AS q{j}"
               for j, key in enumerate(keys) if numeric[key]]
    stats = _scan(connection, relation, params, selects)
    shapes: dict[FeatureKey, Bins] = {}
    for j, key in enumerate(keys):
        if numeric[key]:
            quantiles = stats.get(f"q{j}") or [None] * len(points)
            found = [q for q in quantiles if q is not None and isfinite(q)]
            shapes[key] = Bins(True, drift.edges_from_quantiles(quantiles[1:-1]), None, [],
                               0, 0, low=min(found) if found else None,
                               high=max(found) if found else None)
        else:
            categories = _categories(connection, relation, params, j, top_n)
            shapes[key] = Bins(False, None, categories, [], 0, 0)
    return shapes


def count_current(connection: duckdb.DuckDBPyConnection, sample: Sample,
                  reference: dict[FeatureKey, Bins]) -> dict[FeatureKey, Counts]:
    """Count the detection window into the reference's bins, with rows and nulls."""
    keys = [k for k in reference if k in sample.columns]
    if not keys:
        return {}
    numeric = {k: reference[k].numeric for k in keys}
    relation = _projected(sample, keys, numeric)
    found = _count_bins(connection, relation, sample.params, keys, reference, with_stats=True)
    out: dict[FeatureKey, Counts] = {}
    for j, key in enumerate(keys):
        out[key] = Counts(_bin_counts(found, j, reference[key]), int(found[f"r{j}"] or 0),
                          int(found[f"n{j}"] or 0))
    return out
