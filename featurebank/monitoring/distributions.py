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


def _row_stats(keys: list[FeatureKey], sample: Sample, numeric: dict[FeatureKey, bool]
               ) -> list[str]:
    parts = []
    for j, key in enumerate(keys):
        column = sample.columns[key]
        value = _value(column, numeric[key])
        parts += [f"count_if({column.counted}) AS r{j}",
                  f"count_if(({column.counted}) AND ({value}) IS NULL) AS n{j}"]
    return parts


def _scan(connection: duckdb.DuckDBPyConnection, sample: Sample, selects: list[str]
          ) -> dict[str, Any]:
    if not selects:
        return {}
    sql = f"SELECT {', '.join(selects)} FROM {sample.relation}"  # noqa: S608
    cursor = connection.execute(sql, sample.params)
    row = cursor.fetchone()
    names = [d[0] for d in cursor.description or []]
    return dict(zip(names, row or (), strict=True))


def _histogram(found: object, size: int) -> list[int]:
    counts = [0] * size
    if isinstance(found, dict):
        for index, count in found.items():
            if index is not None and 0 <= int(index) < size:
                counts[int(index)] = int(count)
    return counts


def _categories(connection: duckdb.DuckDBPyConnection, sample: Sample, key: FeatureKey,
                top_n: int) -> list[str]:
    column = sample.columns[key]
    value = _value(column, numeric=False)
    sql = (f"SELECT v, count(*) AS c FROM (SELECT {value} AS v FROM {sample.relation} "  # noqa: S608
           f"WHERE {column.counted}) WHERE v IS NOT NULL GROUP BY v ORDER BY c DESC, v "
           f"LIMIT {int(top_n)}")
    return [str(v) for v, _ in connection.execute(sql, sample.params).fetchall()]


def _bin_expr(sample: Sample, key: FeatureKey, j: int, numeric: bool,
              edges: np.ndarray[Any, np.dtype[np.float64]] | None,
              categories: list[str] | None, params: dict[str, Any]) -> str:
    column = sample.columns[key]
    value = _value(column, numeric)
    if numeric and edges is not None:
        binned = drift.bin_case_sql(f"({value})", edges)
    else:
        params[f"__cats{j}"] = categories or []
        binned = (f"CASE WHEN ({value}) IS NULL THEN NULL "
                  f"ELSE COALESCE(list_position($__cats{j}, {value}) - 1, "
                  f"{len(categories or [])}) END")
    return f"histogram(CASE WHEN {column.counted} THEN {binned} END) AS h{j}"


def _count_bins(connection: duckdb.DuckDBPyConnection, sample: Sample,
                keys: list[FeatureKey], numeric: dict[FeatureKey, bool],
                shapes: dict[FeatureKey, Bins], with_stats: bool) -> dict[str, Any]:
    params = dict(sample.params)
    selects = [_bin_expr(sample, key, j, numeric[key], shapes[key].edges,
                         shapes[key].categories, params) for j, key in enumerate(keys)]
    if with_stats:
        selects += _row_stats(keys, sample, numeric)
    return _scan(connection, Sample(sample.relation, sample.columns, params), selects)


def profile_reference(connection: duckdb.DuckDBPyConnection, sample: Sample,
                      numeric: dict[FeatureKey, bool], *, bins: int = drift.BINS,
                      top_n: int = drift.TOP_N) -> dict[FeatureKey, Bins]:
    """Fix each feature's bins from the reference and count the reference into them."""
    keys = [k for k in numeric if k in sample.columns]
    points = [0.0, *drift.decile_points(bins), 1.0]
    selects = _row_stats(keys, sample, numeric)
    for j, key in enumerate(keys):
        if numeric[key]:
            value = _value(sample.columns[key], True)
            selects.append(f"quantile_cont(CASE WHEN {sample.columns[key].counted} THEN {value} "
                           f"END, {points!r}) AS q{j}")
    stats = _scan(connection, sample, selects)
    shapes: dict[FeatureKey, Bins] = {}
    for j, key in enumerate(keys):
        if numeric[key]:
            found = [q for q in stats.get(f"q{j}") or [] if q is not None and isfinite(q)]
            quantiles = stats.get(f"q{j}") or [None] * len(points)
            edges = drift.edges_from_quantiles(quantiles[1:-1])
            shapes[key] = Bins(True, edges, None, [], int(stats[f"r{j}"]), int(stats[f"n{j}"]),
                               low=min(found) if found else None,
                               high=max(found) if found else None)
        else:
            categories = _categories(connection, sample, key, top_n)
            shapes[key] = Bins(False, None, categories, [], int(stats[f"r{j}"]),
                               int(stats[f"n{j}"]))
    counted = _count_bins(connection, sample, keys, numeric, shapes, with_stats=False)
    out: dict[FeatureKey, Bins] = {}
    for j, key in enumerate(keys):
        shape = shapes[key]
        size = (len(shape.edges) - 1 if shape.edges is not None
                else len(shape.categories or []) + 1)
        out[key] = Bins(shape.numeric, shape.edges, shape.categories,
                        _histogram(counted.get(f"h{j}"), size), shape.rows, shape.nulls,
                        shape.low, shape.high)
    return out


def count_current(connection: duckdb.DuckDBPyConnection, sample: Sample,
                  reference: dict[FeatureKey, Bins]) -> dict[FeatureKey, Counts]:
    """Count the detection window into the reference's bins, with rows and nulls."""
    keys = [k for k in reference if k in sample.columns]
    numeric = {k: reference[k].numeric for k in keys}
    found = _count_bins(connection, sample, keys, numeric, reference, with_stats=True)
    out: dict[FeatureKey, Counts] = {}
    for j, key in enumerate(keys):
        shape = reference[key]
        size = len(shape.counts)
        out[key] = Counts(_histogram(found.get(f"h{j}"), size), int(found[f"r{j}"]),
                          int(found[f"n{j}"]))
    return out
