"""Sampled responses → Feast's logging columns, whatever form the engine gave each column."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import numpy as np
import pyarrow as pa
from feast.value_type import ValueType

from featurebank.monitoring.serving_log_arrow import Served, to_table
from featurebank.monitoring.serving_log_shape import build_shape

SHAPE = build_shape(
    project="proj", feature_service=None, join_keys=[("user_id", ValueType.INT64)],
    request_fields=[], sample_rate=1.0,
    features=[("stats", "spend", pa.float32()), ("stats", "visits", pa.int32()),
              ("stats", "tier", pa.string())],
)
T1, T2 = "2026-12-07T01:00:00Z", "2026-12-07T01:00:00.123456789Z"
EPOCH = "1970-01-01T00:00:00Z"


def response(ids: list[int], spend: Any, visits: Any, tier: list[Any], statuses: list[str],
             stamps: list[str]) -> dict[str, Any]:
    """As the engine answers: join key first; features share status and stamp lists."""
    present = ["PRESENT"] * len(ids)
    return {"results": [
        {"values": ids, "statuses": present, "event_timestamps": [EPOCH] * len(ids)},
        {"values": spend, "statuses": statuses, "event_timestamps": stamps},
        {"values": visits, "statuses": statuses, "event_timestamps": stamps},
        {"values": tier, "statuses": list(statuses), "event_timestamps": stamps},
    ]}


def served(ids: list[int], answer: dict[str, Any], rows: list[int], request_id: str) -> Served:
    return Served(SHAPE, {"user_id": ids}, answer, rows, len(ids), 1_765_069_200_000_000,
                  request_id, "anonymous")


def test_numpy_and_list_columns_of_several_requests_line_up() -> None:
    first_ids = [10, 11, 12, 13]
    first = response(first_ids, np.array([1.5, np.nan, 2.5, 3.5]), np.array([1, 2, 3, 4]),
                     ["a", None, "c", "d"],
                     ["PRESENT", "NULL_VALUE", "PRESENT", "NOT_FOUND"], [T1, T1, T2, EPOCH])
    second_ids = [20, 21]
    second = response(second_ids, [7.0, None], [None, 9], ["x", "y"],
                      ["PRESENT", "OUTSIDE_MAX_AGE"], [T2, T1])
    table = to_table(SHAPE, [served(first_ids, first, [1, 3], "r1"),
                             served(second_ids, second, [0, 1], "r2")], date(2026, 12, 7))
    assert table.schema.field("stats__spend").type == pa.float32()
    assert table.schema.field("stats__visits").type == pa.int32()
    assert table.schema.field("stats__tier__status").type == pa.int32()
    assert table.schema.field("stats__spend__timestamp").type == pa.timestamp("us", tz="UTC")
    rows = table.to_pylist()
    assert [r["user_id"] for r in rows] == [11, 13, 20, 21]
    assert [r["stats__spend"] for r in rows] == [None, 3.5, 7.0, None]
    assert [r["stats__visits"] for r in rows] == [2, 4, None, 9]
    assert [r["stats__tier"] for r in rows] == [None, "d", "x", "y"]
    assert [r["stats__visits__status"] for r in rows] == [2, 3, 1, 4]
    assert [r["stats__spend__timestamp"] for r in rows] == [
        datetime(2026, 12, 7, 1, tzinfo=UTC), None,
        datetime(2026, 12, 7, 1, 0, 0, 123456, tzinfo=UTC), datetime(2026, 12, 7, 1, tzinfo=UTC)]
    assert [r["__request_id"] for r in rows] == ["r1", "r1", "r2", "r2"]
    assert {r["__log_date"] for r in rows} == {date(2026, 12, 7)}
    assert {r["__feature_service"] for r in rows} == {""}


def test_a_whole_response_is_taken_as_is() -> None:
    ids = [1, 2, 3]
    answer = response(ids, np.array([0.5, 1.5, 2.5]), np.array([7, 8, 9]), ["a", "b", "c"],
                      ["PRESENT"] * 3, [T1] * 3)
    rows = to_table(SHAPE, [served(ids, answer, [0, 1, 2], "r")], date(2026, 12, 7)).to_pylist()
    assert [r["stats__visits"] for r in rows] == [7, 8, 9]
    assert [r["stats__tier__status"] for r in rows] == [1, 1, 1]
