"""List (array) columns in the source schema and the contract, and unsupported feature types."""

from __future__ import annotations

import math
from types import SimpleNamespace
from typing import Any

import pyarrow as pa
import pytest
from feast.protos.feast.types.Value_pb2 import Value as ValueProto
from feast.value_type import ValueType
from hypothesis import given, settings
from hypothesis import strategies as st

from featurebank.codec.values import encode_column
from featurebank.errors import InvalidInput
from streaming.batch_contract import check_columns
from streaming.contract import Contract, columns_of
from streaming.errors import REASONS, Rejected
from streaming.scalar_push import ENCODERS, scalar_views
from streaming.schema import ARROW_TYPES, derive_schema, kind_of, parse_ddl

NOW = 1_700_000_000 * 1_000_000
SCHEMA = parse_ddl("id BIGINT, xs ARRAY<BIGINT>, ws array<FLOAT>, tags ARRAY< STRING >, "
                   "raw ARRAY<BINARY>, ts TIMESTAMP", "ts")
CONTRACT = Contract(SCHEMA, frozenset({"id"}), 60 * 1_000_000)


def check(contract: Contract, record: dict[str, Any]) -> list[Any]:
    return contract.check({"id": 1, "ts": 1_699_999_000, **record}, NOW)


def refusal(contract: Contract, record: dict[str, Any]) -> Rejected:
    with pytest.raises(Rejected) as info:
        check(contract, record)
    assert info.value.reason in REASONS
    return info.value


def _view(name: str, features: dict[str, ValueType]) -> Any:
    """The parts of a `ViewSpec` that `derive_schema` reads."""
    return SimpleNamespace(
        name=name, join_keys=(("id", ValueType.INT64),),
        features={n: SimpleNamespace(name=n, value_type=t) for n, t in features.items()})


def test_ddl_arrays_are_list_columns() -> None:
    kinds = {c.name: c.kind for c in SCHEMA.columns}
    assert kinds == {"id": "int64", "xs": "list_int64", "ws": "list_float32",
                     "tags": "list_string", "raw": "list_bytes", "ts": "timestamp"}
    assert SCHEMA.arrow_schema().field("xs").type == pa.list_(pa.int64())


def test_ddl_array_of_timestamps_is_refused_naming_it() -> None:
    with pytest.raises(InvalidInput, match="ARRAY<TIMESTAMP>"):
        parse_ddl("id BIGINT, at ARRAY<TIMESTAMP>, ts TIMESTAMP", "ts")


def test_lists_are_cast_element_by_element() -> None:
    row = check(CONTRACT, {"xs": [1, 2.0, -3], "ws": [0.5, 2], "tags": [], "raw": ["ab"]})
    assert row[:5] == [1, [1, 2, -3], [0.5, 2.0], [], [b"ab"]]


def test_null_lists_are_null_and_nan_elements_stay_nan() -> None:
    row = check(CONTRACT, {"xs": None, "ws": [math.nan]})
    assert [row[1], row[3], row[4]] == [None, None, None]
    assert math.isnan(row[2][0])


@pytest.mark.parametrize(("record", "reason", "text"), [
    ({"xs": 5}, "wrong_type", "xs: 5 is a JSON int, expected a list"),
    ({"xs": "[1]"}, "wrong_type", "expected a list"),
    ({"xs": [1, 1.5]}, "lossy_cast", "xs[1]: 1.5 is not a whole number"),
    ({"xs": [2**63]}, "lossy_cast", "xs[0]"),
    ({"ws": [1e39]}, "lossy_cast", "ws[0]"),
    ({"tags": ["a", None]}, "wrong_type", "tags[1]: a list element cannot be null"),
    ({"tags": [1]}, "wrong_type", "tags[0]: 1 is a JSON int"),
])
def test_a_bad_list_is_refused_naming_column_and_element(record: dict[str, Any], reason: str,
                                                         text: str) -> None:
    refused = refusal(CONTRACT, record)
    assert (refused.reason, refused.column) == (reason, next(iter(record)))
    assert text in refused.message


@pytest.mark.parametrize(("value_type", "values"), [
    (ValueType.INT64_LIST, [[1, -(2**63)], [], None]),
    (ValueType.INT32_LIST, [[1, -5], None]),
    (ValueType.DOUBLE_LIST, [[0.1, -2.5], []]),
    (ValueType.FLOAT_LIST, [[0.5, 1.25], None]),
    (ValueType.BOOL_LIST, [[True, False], []]),
    (ValueType.STRING_LIST, [["é", ""], None]),
    (ValueType.BYTES_LIST, [[b"\x00\xff", b""], []]),
])
def test_list_columns_encode_to_feast_list_values(value_type: ValueType,
                                                  values: list[Any]) -> None:
    kind = kind_of(value_type)
    assert kind is not None
    encoded = encode_column(pa.array(values, type=ARROW_TYPES[kind]), value_type)
    field = value_type.name.lower() + "_val"
    for value, data in zip(values, encoded, strict=True):
        if value is None:
            assert data == b""
            continue
        proto = ValueProto.FromString(data)
        assert proto.WhichOneof("val") == field
        assert list(getattr(proto, field).val) == value
    # The small-push path writes exactly the same bytes.
    assert [ENCODERS[kind](value) for value in values] == encoded


def test_unsupported_feature_does_not_block_the_other_columns() -> None:
    view = _view("v", {"n": ValueType.INT64, "xs": ValueType.INT64_LIST,
                       "at": ValueType.UNIX_TIMESTAMP_LIST})
    schema = derive_schema([view], {}, "ts")
    assert schema.names() == ["id", "n", "xs", "ts"]
    assert schema.unsupported == (("at", "UNIX_TIMESTAMP_LIST"),)
    contract = Contract(schema, frozenset({"id"}), 60 * 1_000_000)
    assert check(contract, {"n": 2, "xs": [3]})[:3] == [1, 2, [3]]
    assert check(contract, {"n": 2, "at": None})[:3] == [1, 2, None]
    refused = refusal(contract, {"n": 2, "at": [1]})
    assert refused.column == "at"
    assert "UNIX_TIMESTAMP_LIST" in refused.message


def test_batch_path_leaves_unsupported_values_to_the_row_path() -> None:
    schema = derive_schema([_view("v", {"n": ValueType.INT64, "at": ValueType.MAP})], {}, "ts")
    contract = Contract(schema, frozenset({"id"}), 60 * 1_000_000)
    clean = [{"id": 1, "n": 2, "ts": 1_699_999_000}]
    assert check_columns(contract, clean, NOW) is not None
    assert check_columns(contract, [{**clean[0], "at": {"k": 1}}], NOW) is None


def test_unsupported_join_key_is_still_refused() -> None:
    view = _view("v", {})
    view.join_keys = (("id", ValueType.MAP),)
    with pytest.raises(InvalidInput, match="join key 'id'"):
        derive_schema([view], {}, "ts")


def test_small_push_plan_skips_unsupported_features() -> None:
    view = _view("v", {"xs": ValueType.INT64_LIST, "at": ValueType.UNIX_TIMESTAMP_LIST})
    view.entityless = False
    view.feast_view = SimpleNamespace()
    plans = scalar_views([view], derive_schema([view], {}, "ts"))
    assert plans is not None
    assert [name for name, *_ in plans[0].features] == ["xs"]


def _row_table(contract: Contract, records: list[dict[str, Any]]) -> pa.Table | None:
    rows = []
    for record in records:
        try:
            rows.append(contract.check(record, NOW))
        except Rejected:
            return None
    schema = contract.schema.arrow_schema()
    return pa.Table.from_arrays([pa.array(c, type=f.type) for c, f in zip(
        columns_of(rows, len(schema)), schema, strict=True)], schema=schema)


def _batch_table(contract: Contract, records: list[dict[str, Any]]) -> pa.Table | None:
    arrays = check_columns(contract, records, NOW)
    schema = contract.schema.arrow_schema()
    return None if arrays is None else pa.Table.from_arrays(arrays, schema=schema)


_ELEMENTS = st.one_of(st.integers(-(2**64), 2**64), st.floats(allow_nan=False), st.booleans(),
                      st.text(max_size=3), st.none())


@settings(max_examples=300, deadline=None)
@given(st.lists(st.fixed_dictionaries({}, optional={
    "xs": st.none() | st.lists(_ELEMENTS, max_size=4) | st.integers(),
    "ws": st.none() | st.lists(st.integers(-10, 10) | st.floats(-1e40, 1e40), max_size=4),
    "tags": st.none() | st.lists(st.text(max_size=3) | st.none(), max_size=3),
    "raw": st.none() | st.lists(st.text(max_size=3), max_size=3)}), min_size=1, max_size=6))
def test_list_batches_agree_with_the_row_path(records: list[dict[str, Any]]) -> None:
    records = [{"id": 1, "ts": 1_699_999_000, **record} for record in records]
    fast = _batch_table(CONTRACT, records)
    if fast is not None:  # the batch path only accepts what the row path accepts whole
        assert fast.equals(_row_table(CONTRACT, records))


def test_clean_list_batch_takes_the_batch_path() -> None:
    records = [{"id": 1, "xs": [1, 2], "ws": [0.5, 3], "tags": [], "raw": ["a"], "ts": 1},
               {"id": 2, "xs": None, "ts": 2}]
    fast = _batch_table(CONTRACT, records)
    assert fast is not None
    assert fast.equals(_row_table(CONTRACT, records))
    assert fast.column("xs").to_pylist() == [[1, 2], None]
