"""Distribution drift between a reference and a detection window, as pure numpy on bin counts.

Bins are fixed by the reference, so a window is always compared on the reference's terms:

* numeric: equal-frequency edges at the reference's deciles (`quantile_cont`), duplicates
  collapsed (a feature with few distinct values gets fewer bins), a value several deciles
  share (a point mass) in a bin of its own, and open outer bins (-inf, e1) and [ek, +inf) so
  a value beyond the reference's range still lands somewhere.
* categorical: the reference's top-N values, then one "other" bin for everything else
  (including values the reference never saw).

Bin i holds e_i <= x < e_(i+1): numpy's `searchsorted(side="right")` here, cumulative counts
below each edge in DuckDB (`below_edges_sql`). Runs count in DuckDB (see `distributions`); this
module fixes the bins and turns counts into scores. PSI uses a small epsilon for empty bins
(else one empty bin makes it infinite); Jensen-Shannon is in bits, so it lies in [0, 1] and is
0 only for identical distributions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import numpy.typing as npt

BINS = 10
TOP_N = 20
PSI_EPSILON = 1e-4
OTHER = "(other)"

FloatArray = npt.NDArray[np.float64]
_LARGEST = float(np.finfo(np.float64).max)


def decile_points(bins: int = BINS) -> list[float]:
    """The interior quantile points of `bins` equal-frequency bins: 0.1 ... 0.9 for 10."""
    return [i / bins for i in range(1, bins)]


def edges_from_quantiles(quantiles: Sequence[float | None]) -> FloatArray:
    """Sorted, de-duplicated interior cut points wrapped in -inf / +inf outer edges.

    A value two or more quantiles share holds a point mass (a decile or more of the reference:
    the zeros of a zero-inflated amount, the 1 of a count that is almost always 1). It gets a
    bin of its own, [v, next float after v), so a shift into or out of it shows: merged with
    its neighbours, the 95% zeros and every positive amount would share one bin and a move
    from 95% to 50% zeros would score a PSI of 0."""
    finite = [float(q) for q in quantiles if q is not None and np.isfinite(q)]
    points = set(finite)
    for value in points.copy():
        if finite.count(value) > 1 and value < _LARGEST:  # above it is +inf: the open bin
            points.add(float(np.nextafter(value, np.inf)))
    return np.array([-np.inf, *sorted(points), np.inf], dtype=np.float64)


def reference_edges(values: npt.ArrayLike, bins: int = BINS) -> FloatArray:
    """Edges from raw reference values (NaN ignored), as DuckDB's `quantile_cont` would cut."""
    data = np.asarray(values, dtype=np.float64)
    data = data[np.isfinite(data)]
    if data.size == 0:
        return np.array([-np.inf, np.inf], dtype=np.float64)
    return edges_from_quantiles(list(np.quantile(data, decile_points(bins), method="linear")))


def bin_counts(values: npt.ArrayLike, edges: FloatArray) -> npt.NDArray[np.int64]:
    """Counts per bin (e_i <= x < e_(i+1)); NaN (a null) is not counted."""
    data = np.asarray(values, dtype=np.float64)
    data = data[~np.isnan(data)]
    index = np.searchsorted(edges[1:-1], data, side="right")
    return np.bincount(index, minlength=len(edges) - 1).astype(np.int64)


def below_edges_sql(column: str, edges: FloatArray) -> list[str]:
    """DuckDB aggregates counting the values of `column` below each interior edge.

    Bin i is then `below[i] - below[i - 1]` (see `counts_from_below`). Cumulative `count_if`s
    are plain vectorised comparisons: for 6 features x 2.4M rows they took 0.9 s where a
    bin-index CASE per row fed to `histogram()` took 2.2 s. `column` must hold no NaN.
    """
    return [f"count_if({column} < {float(edge)!r})" for edge in edges[1:-1]]


def counts_from_below(below: Sequence[int | None], values: int | None) -> list[int]:
    """Bin counts from the counts below each interior edge and the count of non-null values
    (DuckDB's `count_if` over only nulls is NULL: read as 0)."""
    bounds = [0, *(int(b or 0) for b in below), int(values or 0)]
    return [bounds[i + 1] - bounds[i] for i in range(len(bounds) - 1)]


def top_categories(counts: Mapping[str, int], n: int = TOP_N) -> list[str]:
    """The `n` most frequent reference values, ties broken by value so bins are stable."""
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return [value for value, _ in ranked[:n]]


def category_counts(counts: Mapping[str, int], categories: Sequence[str]) -> list[int]:
    """Counts aligned with `categories`, plus a last "other" bin for every other value."""
    known = set(categories)
    other = sum(count for value, count in counts.items() if value not in known)
    return [int(counts.get(value, 0)) for value in categories] + [int(other)]


def _shares(counts: npt.ArrayLike) -> FloatArray | None:
    array = np.asarray(counts, dtype=np.float64)
    total = array.sum()
    return array / total if total > 0 else None


def psi(reference: npt.ArrayLike, current: npt.ArrayLike,
        epsilon: float = PSI_EPSILON) -> float | None:
    """Population stability index sum((q - p) ln(q / p)); None when either side is empty."""
    p, q = _shares(reference), _shares(current)
    if p is None or q is None:
        return None
    p, q = np.clip(p, epsilon, None), np.clip(q, epsilon, None)
    return float(max(np.sum((q - p) * np.log(q / p)), 0.0))


def _kl_bits(a: FloatArray, b: FloatArray) -> float:
    mask = a > 0  # 0 log 0 = 0; b > 0 wherever a > 0 because b is a mixture containing a
    return float(np.sum(a[mask] * np.log2(a[mask] / b[mask])))


def js(reference: npt.ArrayLike, current: npt.ArrayLike) -> float | None:
    """Jensen-Shannon divergence in bits, in [0, 1]; None when either side is empty."""
    p, q = _shares(reference), _shares(current)
    if p is None or q is None:
        return None
    m = (p + q) / 2
    value = 0.5 * _kl_bits(p, m) + 0.5 * _kl_bits(q, m)
    return float(min(max(value, 0.0), 1.0))


def null_rate(nulls: int, rows: int) -> float | None:
    return nulls / rows if rows else None
