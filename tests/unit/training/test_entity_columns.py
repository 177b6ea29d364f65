"""JSON entity columns that mix kinds of values (issue 8, item 5): read as the declared key
type where a lookup would, else one 422 naming the column, the row and the declared type."""

from __future__ import annotations

import pyarrow as pa
import pytest
from feast.value_type import ValueType

from featurebank.errors import InvalidInput
from featurebank.training.spine import as_table


def test_an_integer_key_takes_integers_digit_text_and_whole_floats_mixed() -> None:
    table = as_table({"driver_id": ["1", 2, 3.0, None, "-4"], "t": [1, 2, 3, 4, 5]},
                     {"driver_id": ValueType.INT64})
    assert table.column("driver_id").type == pa.int64()
    assert table.column("driver_id").to_pylist() == [1, 2, 3, None, -4]


def test_a_string_key_given_a_number_names_column_row_and_declared_type() -> None:
    with pytest.raises(InvalidInput) as caught:
        as_table({"zone": ["a", None, 7], "t": [1, 2, 3]}, {"zone": ValueType.STRING})
    assert caught.value.message == ("join key column 'zone': 7 (row 2) is not a string; "
                                    "the join key is declared STRING")
    assert caught.value.detail == {"column": "zone", "row": 2, "value": "7",
                                   "expected": "STRING"}


@pytest.mark.parametrize("values", [[1, True], [1, "12a"], ["1", 2.5], [1, "²"], [1, "--5"]])
def test_an_integer_key_refuses_what_a_lookup_refuses(values: list[object]) -> None:
    with pytest.raises(InvalidInput, match=r"'driver_id': .* \(row 1\) is not an integer; "
                                           "the join key is declared INT64"):
        as_table({"driver_id": values, "t": [1, 2]}, {"driver_id": ValueType.INT64})


def test_an_integer_key_outside_64_bits_is_named() -> None:
    with pytest.raises(InvalidInput, match="'driver_id' holds an integer outside the 64-bit"):
        as_table({"driver_id": ["1", 2**70], "t": [1, 2]}, {"driver_id": ValueType.INT64})


def test_another_mixed_column_names_the_rows_and_types() -> None:
    with pytest.raises(InvalidInput) as caught:
        as_table({"label": [None, "yes", 1], "t": [1, 2, 3]}, {})
    assert caught.value.message.startswith(
        "entity column 'label' mixes value types: row 1 holds 'yes' (str), row 2 holds 1 (int)")
    assert "Expected bytes" not in caught.value.message
