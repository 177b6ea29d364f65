"""Drift scores and bins: properties over arbitrary data, plus a few known values."""

from __future__ import annotations

import math

import duckdb
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from featurebank.monitoring import drift

counts = st.lists(st.integers(min_value=0, max_value=10_000), min_size=1, max_size=12)
values = st.lists(st.floats(allow_nan=True, allow_infinity=True, width=64), min_size=0,
                  max_size=200)


def _pair(draw: st.DrawFn) -> tuple[list[int], list[int]]:
    left = draw(counts)
    right = draw(st.lists(st.integers(min_value=0, max_value=10_000), min_size=len(left),
                          max_size=len(left)))
    return left, right


pairs = st.composite(_pair)()


@given(pairs)
def test_psi_is_non_negative_and_zero_on_itself(pair: tuple[list[int], list[int]]) -> None:
    left, right = pair
    score = drift.psi(left, right)
    if sum(left) == 0 or sum(right) == 0:
        assert score is None
        return
    assert score is not None
    assert score >= 0
    assert drift.psi(left, left) == pytest.approx(0.0, abs=1e-12)


@given(pairs)
def test_js_is_symmetric_in_unit_interval(pair: tuple[list[int], list[int]]) -> None:
    left, right = pair
    score = drift.js(left, right)
    if sum(left) == 0 or sum(right) == 0:
        assert score is None
        return
    assert score is not None
    assert 0.0 <= score <= 1.0
    assert drift.js(right, left) == pytest.approx(score, abs=1e-12)
    assert drift.js(left, left) == pytest.approx(0.0, abs=1e-12)


def test_known_values() -> None:
    expected = 0.4 * math.log(1.8) + 0.4 * math.log(5.0)
    assert drift.psi([50, 50], [90, 10]) == pytest.approx(expected)
    assert drift.js([1, 0], [0, 1]) == pytest.approx(1.0)
    assert drift.psi([1, 0], [0, 1]) == pytest.approx(2 * (1 - 1e-4) * math.log(1e4), rel=1e-3)
    assert drift.null_rate(0, 0) is None
    assert drift.null_rate(1, 4) == 0.25
    assert drift.counts_from_below([None, None], None) == [0, 0, 0]  # count_if over no rows
    assert drift.counts_from_below([1, 3], 7) == [1, 2, 4]


@given(values)
def test_edges_are_strictly_increasing_and_open(raw: list[float]) -> None:
    edges = drift.reference_edges(raw)
    assert edges[0] == -np.inf
    assert edges[-1] == np.inf
    assert np.all(np.diff(edges) > 0)
    assert len(edges) <= drift.BINS + 1
    binned = drift.bin_counts(raw, edges)
    assert len(binned) == len(edges) - 1
    assert int(binned.sum()) == sum(1 for v in raw if not math.isnan(v))


@settings(max_examples=50)
@given(st.integers(min_value=100, max_value=5_000), st.integers(min_value=0, max_value=2**31))
def test_distinct_reference_fills_deciles_evenly(n: int, seed: int) -> None:
    data = np.random.default_rng(seed).normal(size=n)
    binned = drift.bin_counts(data, drift.reference_edges(data))
    assert len(binned) == drift.BINS
    assert all(abs(int(c) - n / drift.BINS) <= 2 for c in binned)


def test_duplicates_collapse_into_fewer_bins_and_a_point_mass_gets_its_own() -> None:
    data = [1.0] * 85 + [2.0] * 15
    edges = drift.reference_edges(data)
    assert list(edges) == [-np.inf, 1.0, float(np.nextafter(1.0, np.inf)), 2.0, np.inf]
    assert list(drift.bin_counts(data, edges)) == [0, 85, 0, 15]
    assert list(drift.bin_counts([0.5, 1.0, 1.5, 2.0, 99.0], edges)) == [1, 1, 1, 2]


def test_a_shift_out_of_a_point_mass_scores() -> None:
    """95% zeros then 50%: merged with the positives, the zeros hid this (PSI 0)."""
    reference = [0.0] * 95 + list(np.linspace(1, 500, 5))
    current = [0.0] * 50 + list(np.linspace(1, 500, 50))
    edges = drift.reference_edges(reference)
    assert drift.psi(drift.bin_counts(reference, edges), drift.bin_counts(current, edges)) > 1.0
    constant = drift.reference_edges([1.0] * 100)  # a count that was always 1, now 3
    assert drift.psi(drift.bin_counts([1.0] * 100, constant),
                     drift.bin_counts([3.0] * 100, constant)) > 1.0
    assert drift.psi(drift.bin_counts([1.0] * 100, constant),
                     drift.bin_counts([1.0] * 100, constant)) == 0.0


@settings(max_examples=30, deadline=None)
@given(values, values)
def test_sql_bins_agree_with_numpy(reference: list[float], current: list[float]) -> None:
    edges = drift.reference_edges(reference)
    connection = duckdb.connect()
    try:
        rows = [(v,) for v in current] or [(None,)]
        connection.execute("CREATE TABLE t (x DOUBLE)")
        connection.executemany("INSERT INTO t VALUES (?)", rows)
        counts = drift.below_edges_sql("v", edges)
        found = connection.execute(
            f"SELECT {', '.join([*counts, 'count(v)'])} "
            "FROM (SELECT NULLIF(x, 'NaN'::DOUBLE) AS v FROM t)").fetchall()[0]
    finally:
        connection.close()
    sql_counts = drift.counts_from_below(found[:-1], found[-1])
    assert sql_counts == list(drift.bin_counts(current, edges))


def test_categories_keep_top_n_and_an_other_bin() -> None:
    seen = {"b": 5, "a": 5, "c": 1, "d": 9}
    top = drift.top_categories(seen, n=3)
    assert top == ["d", "a", "b"]
    assert drift.category_counts({"a": 2, "c": 3, "zz": 4}, top) == [0, 2, 0, 7]


@given(st.dictionaries(st.text(max_size=5), st.integers(min_value=0, max_value=100)),
       st.integers(min_value=0, max_value=5))
def test_category_counts_keep_every_row(seen: dict[str, int], n: int) -> None:
    top = drift.top_categories(seen, n=n)
    assert len(top) == min(n, len(seen))
    assert sum(drift.category_counts(seen, top)) == sum(seen.values())


def test_a_point_mass_at_the_largest_float_keeps_the_open_bin() -> None:
    edges = drift.reference_edges([1.7976931348623157e308] * 10)
    assert list(edges) == [-np.inf, 1.7976931348623157e308, np.inf]
