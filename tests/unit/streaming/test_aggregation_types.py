"""Which aggregation column and feature types are refused at plan time, with a clear reason."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from feast import ValueType

from featurebank.aggregations import WindowedAggregation
from streaming.aggregation_types import check_types, column_kinds

KINDS = {"amount": "float64", "qty": "int32", "note": "string", "flag": "bool", "raw": "bytes",
         "at": "timestamp"}


def _view(feature_type: ValueType) -> Any:
    return SimpleNamespace(name="orders_live",
                           features={"out": SimpleNamespace(value_type=feature_type)})


def _check(function: str, column: str, feature_type: ValueType) -> None:
    check_types(_view(feature_type), [WindowedAggregation("out", column, function, 60_000_000)],
                KINDS)


@pytest.mark.parametrize(("function", "column", "feature_type"), [
    ("sum", "amount", ValueType.DOUBLE), ("sum", "qty", ValueType.INT64),
    ("sum", "qty", ValueType.FLOAT), ("mean", "qty", ValueType.DOUBLE),
    ("avg", "amount", ValueType.FLOAT), ("std", "amount", ValueType.DOUBLE),
    ("var", "qty", ValueType.DOUBLE), ("max", "note", ValueType.STRING),
    ("min", "qty", ValueType.INT64), ("min", "qty", ValueType.DOUBLE),
    ("max", "flag", ValueType.BOOL), ("count", "note", ValueType.INT64),
    ("count", "at", ValueType.INT32), ("count_distinct", "note", ValueType.DOUBLE),
    ("sum", "made_by_udf", ValueType.INT64),
])
def test_types_that_work(function: str, column: str, feature_type: ValueType) -> None:
    _check(function, column, feature_type)


@pytest.mark.parametrize(("function", "column", "feature_type", "reason"), [
    ("sum", "note", ValueType.DOUBLE, "sum cannot take a string column"),
    ("sum", "flag", ValueType.INT64, "sum cannot take a bool column"),
    ("mean", "qty", ValueType.INT64, "'out' is declared int64, but mean gives float32, float64"),
    ("std", "amount", ValueType.STRING, "declared string"),
    ("sum", "amount", ValueType.INT64, "declared int64, but sum gives float32, float64"),
    ("max", "amount", ValueType.INT32, "declared int32"),
    ("min", "note", ValueType.INT64, "declared int64, but min gives string"),
    ("count", "note", ValueType.STRING, "declared string"),
    ("count", "raw", ValueType.INT64, "count cannot take a bytes column"),
    ("max", "at", ValueType.UNIX_TIMESTAMP, "max cannot take a timestamp column"),
    ("mean", "made_by_udf", ValueType.INT64, "declared int64"),
    ("count", "qty", ValueType.MAP, "declared a type streams do not support"),
])
def test_types_that_cannot_work_are_named(function: str, column: str, feature_type: ValueType,
                                          reason: str) -> None:
    with pytest.raises(ValueError, match="orders_live") as raised:
        _check(function, column, feature_type)
    assert reason in str(raised.value)


def test_column_kinds_follow_field_mapping_or_the_declared_features() -> None:
    view: Any = SimpleNamespace(features={"total": SimpleNamespace(value_type=ValueType.DOUBLE)})
    assert column_kinds(view, {"amt": "float32", "n": "int64"}, {"amt": "total"}, False) == {
        "total": "float32", "n": "int64"}
    assert column_kinds(view, {"amt": "float32"}, {}, True) == {"total": "float64"}
