"""Sliding-window aggregation math, against a plain loop over every window."""

from __future__ import annotations

import math
import statistics
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from featurebank.aggregations import FUNCTIONS
from streaming.aggregation import aggregate


def reference(function: str, times: list[int], values: list[Any], at: int,
              window: int) -> Any:
    inside = [v for t, v in zip(times, values, strict=True)
              if at - window < t <= at and v is not None]
    if function == "count":
        return len(inside)
    if function == "count_distinct":
        return len(set(inside))
    if not inside:
        return None
    if function == "sum":
        return float(sum(inside))
    if function in ("mean", "avg"):
        return float(sum(inside)) / len(inside)
    if function == "min":
        return min(inside)
    if function == "max":
        return max(inside)
    if len(inside) < 2:
        return None
    variance = statistics.variance([float(v) for v in inside])
    return math.sqrt(variance) if function == "std" else variance


events = st.lists(st.tuples(st.integers(0, 1_000), st.one_of(st.none(), st.integers(-50, 50))),
                  max_size=30)


@pytest.mark.parametrize("function", FUNCTIONS)
@settings(max_examples=150, deadline=None)
@given(events=events, at=st.lists(st.integers(-10, 1_100), min_size=1, max_size=5),
       window=st.integers(1, 400))
def test_every_function_equals_the_loop(function: str, events: list[tuple[int, int | None]],
                                        at: list[int], window: int) -> None:
    events = sorted(events, key=lambda e: e[0])
    times = [t for t, _ in events]
    values = [v for _, v in events]
    got = aggregate(function, np.array(times, dtype=np.int64), values,
                    np.array(at, dtype=np.int64), window)
    for t, value in zip(at, got, strict=True):
        expected = reference(function, times, values, t, window)
        if isinstance(expected, float):
            assert value == pytest.approx(expected, rel=1e-9, abs=1e-9), (function, t)
        else:
            assert value == expected, (function, t)


def test_window_excludes_its_start_and_includes_its_end() -> None:
    times = np.array([100, 200, 300], dtype=np.int64)
    assert aggregate("count", times, [1, 1, 1], np.array([300]), 200) == [2]  # (100, 300]
    assert aggregate("sum", times, [1, 2, 4], np.array([299]), 200) == [3.0]  # (99, 299]
