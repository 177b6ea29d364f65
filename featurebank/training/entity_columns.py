"""Entity rows given as JSON columns (`{column: [values]}`) as Arrow arrays.

JSON has no column types, so a column may mix kinds of values: `[1, "2"]` for an INT64 join
key, or `["a", 1]` for a STRING one. Arrow cannot infer one type for those and said only
`Expected bytes, got a 'int' object`. A join key column is therefore converted value by value to
its declared type with the rules lookups apply to the same key (`featurebank.codec.entity_key`):
an integer key takes integers, whole floats and ASCII digit strings; a string key takes
strings only (a number is refused rather than guessed into text, as in a lookup). Any other
column must hold one kind of value. Either way a mismatch is a 422 naming the column, the row,
the value and, for a key, its declared type.

Only the column that Arrow cannot build takes this path; a column of one kind keeps Arrow's
inference and is checked against its key type afterwards (`spine.coerce_keys`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

import pyarrow as pa

from featurebank.errors import InvalidInput

_DECIMAL = re.compile(r"-?[0-9]+")  # ASCII only, as lookups: "²" and "--5" are not integers
_INTEGER_KEYS = ("INT64", "INT32")
_EXPECTED = {"STRING": "a string", "INT64": "an integer", "INT32": "an integer",
             "BYTES": "bytes or a string"}


def _kind(value: Any) -> str:
    """The JSON-ish kind of a value: ints and floats are both numbers (Arrow widens them)."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    return type(value).__name__


def mixed_types(name: str, values: Sequence[Any], reason: str = "") -> InvalidInput:
    """The 422 for a column whose values are of more than one kind, naming the first two
    (`reason`, Arrow's own words, when the kinds agree and something else is wrong)."""
    first = next((i for i, v in enumerate(values) if v is not None), 0)
    kind = _kind(values[first]) if values else ""
    other = next((i for i, v in enumerate(values) if v is not None and _kind(v) != kind), first)
    if other == first:
        return InvalidInput(f"entity column {name!r} cannot be read: {reason}",
                            detail={"column": name})
    return InvalidInput(
        f"entity column {name!r} mixes value types: row {first} holds {values[first]!r} "
        f"({type(values[first]).__name__}), row {other} holds {values[other]!r} "
        f"({type(values[other]).__name__}); give every row the same type",
        detail={"column": name, "rows": [first, other],
                "types": [type(values[first]).__name__, type(values[other]).__name__]})


def _bad_key(name: str, row: int, value: Any, type_name: str) -> InvalidInput:
    return InvalidInput(
        f"join key column {name!r}: {value!r} (row {row}) is not {_EXPECTED[type_name]}; "
        f"the join key is declared {type_name}",
        detail={"column": name, "row": row, "value": repr(value)[:100], "expected": type_name})


def _integer(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    if isinstance(value, str) and _DECIMAL.fullmatch(value):
        return int(value)
    return None


def key_array(name: str, values: Sequence[Any], type_name: str) -> pa.Array:
    """A join key column converted value by value to its declared type (`type_name`)."""
    converted: list[Any] = []
    for row, value in enumerate(values):
        if value is None:
            converted.append(None)
            continue
        if type_name in _INTEGER_KEYS:
            number = _integer(value)
            if number is None:
                raise _bad_key(name, row, value, type_name)
            converted.append(number)
        elif type_name == "STRING":
            if not isinstance(value, str):
                raise _bad_key(name, row, value, type_name)
            converted.append(value)
        elif isinstance(value, str | bytes):  # BYTES
            converted.append(value.encode("utf-8") if isinstance(value, str) else value)
        else:
            raise _bad_key(name, row, value, type_name)
    arrow_type = {"STRING": pa.string(), "BYTES": pa.binary()}.get(type_name, pa.int64())
    try:
        return pa.array(converted, type=arrow_type)
    except OverflowError:
        raise InvalidInput(f"join key column {name!r} holds an integer outside the 64-bit range",
                           detail={"column": name}) from None


def column_array(name: str, values: Sequence[Any], key_type: str | None) -> pa.Array:
    """One JSON column as Arrow; `key_type` is the declared join key type name, if a key."""
    try:
        return pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        if key_type in _EXPECTED:
            return key_array(name, values, str(key_type))
        raise mixed_types(name, values, str(exc)) from None
    except OverflowError:
        raise InvalidInput(f"entity column {name!r} holds an integer outside the 64-bit range",
                           detail={"column": name}) from None


def json_columns(entities: Mapping[str, Sequence[Any]],
                 key_types: Mapping[str, str]) -> dict[str, pa.Array]:
    """Every column of `entities` as Arrow; `key_types` maps join key columns to type names."""
    return {name: column_array(name, values, key_types.get(name))
            for name, values in entities.items()}
