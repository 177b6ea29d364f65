"""The data contract: a decoded JSON object → one typed row, or `Rejected` with the reason.

Checks, per the source schema: join keys present and typed right; every value castable to its
column's type without loss (1.0 into an integer is fine, 1.5 or 2**40 into INT is not, NaN only
in floating columns, where it becomes null as in Feast); the event time parseable, not before
1970 and not later than now + the allowed skew. Missing non-key features are nulls.
Float32 columns accept the rounding float32 implies but not overflow to infinity.
A list column takes a JSON array (or null) whose elements each pass the element kind's check;
an element cannot be null, since Feast's list `Value`s have no null elements. A column whose
type streams do not support is refused only when a row carries a value for it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from streaming.errors import Rejected
from streaming.schema import LIST_ELEMENTS, SourceSchema
from streaming.timestamps import check_range, to_micros

_INT32 = (-(1 << 31), (1 << 31) - 1)
_INT64 = (-(1 << 63), (1 << 63) - 1)
_FLOAT32_MAX = 3.4028234663852886e38

Caster = Callable[[Any, str], Any]


def _type_error(value: Any, column: str, wanted: str) -> Rejected:
    shown = repr(value)
    shown = shown if len(shown) <= 64 else shown[:61] + "..."
    return Rejected("wrong_type", f"{column}: {shown} is a JSON {type(value).__name__}, "
                                  f"expected {wanted}", column=column)


def _integer(bounds: tuple[int, int], wanted: str) -> Caster:
    low, high = bounds

    def cast(value: Any, column: str) -> Any:
        if type(value) is int:
            number = value
        elif type(value) is float:
            if not math.isfinite(value):
                raise Rejected("nan_forbidden", f"{column}: {value} cannot be {wanted}",
                               column=column)
            if not value.is_integer():
                raise Rejected("lossy_cast", f"{column}: {value} is not a whole number",
                               column=column)
            number = int(value)
        else:
            raise _type_error(value, column, wanted)
        if not low <= number <= high:
            raise Rejected("lossy_cast", f"{column}: {number} does not fit {wanted}", column=column)
        return number

    return cast


def _floating(limit: float | None, wanted: str) -> Caster:
    def cast(value: Any, column: str) -> Any:
        if type(value) is float:
            if math.isnan(value):
                return None
            if limit is not None and math.isfinite(value) and abs(value) > limit:
                raise Rejected("lossy_cast", f"{column}: {value} overflows {wanted}",
                               column=column)
            return value
        if type(value) is int:
            as_float = float(value)
            if int(as_float) != value or (limit is not None and abs(as_float) > limit):
                raise Rejected("lossy_cast", f"{column}: {value} cannot be {wanted} exactly",
                               column=column)
            return as_float
        raise _type_error(value, column, wanted)

    return cast


def _boolean(value: Any, column: str) -> Any:
    if type(value) is bool:
        return value
    if type(value) is float and math.isnan(value):
        raise Rejected("nan_forbidden", f"{column}: NaN cannot be a boolean", column=column)
    raise _type_error(value, column, "a boolean")


def _string(value: Any, column: str) -> Any:
    if type(value) is str:
        return value
    if type(value) is float and math.isnan(value):
        raise Rejected("nan_forbidden", f"{column}: NaN cannot be a string", column=column)
    raise _type_error(value, column, "a string")


def _bytes(value: Any, column: str) -> Any:
    if type(value) is str:
        return value.encode("utf-8")
    raise _type_error(value, column, "a string")


def _time(value: Any, column: str) -> Any:
    return to_micros(value, column)


def _list(element: Caster, floating: bool) -> Caster:
    def cast(value: Any, column: str) -> Any:
        if type(value) is not list:
            raise _type_error(value, column, "a list (JSON array)")
        out: list[Any] = []
        for index, item in enumerate(value):
            if item is None:
                raise Rejected("wrong_type", f"{column}[{index}]: a list element cannot be "
                                               "null", column=column)
            try:
                cast_item = element(item, f"{column}[{index}]")
            except Rejected as exc:
                raise Rejected(exc.reason, exc.message, column=column) from None
            # a NaN element stays NaN: unlike a scalar NaN it cannot become a null
            out.append(item if cast_item is None and floating else cast_item)
        return out

    return cast


CASTERS: dict[str, Caster] = {
    "int64": _integer(_INT64, "a 64-bit integer"),
    "int32": _integer(_INT32, "a 32-bit integer"),
    "float64": _floating(None, "a double"),
    "float32": _floating(_FLOAT32_MAX, "a float"),
    "bool": _boolean,
    "string": _string,
    "bytes": _bytes,
    "timestamp": _time,
}
CASTERS.update({f"list_{kind}": _list(CASTERS[kind], kind.startswith("float"))
                for kind in LIST_ELEMENTS})


def unsupported_error(name: str, type_name: str) -> Rejected:
    """The refusal of a value for a column whose Feast type streams cannot carry."""
    return Rejected("wrong_type", f"{name}: its type {type_name} cannot be pushed or "
                                        "streamed; leave the column out", column=name)


@dataclass(frozen=True)
class Contract:
    """Checks rows of one source; `required` are the join keys every row must carry."""

    schema: SourceSchema
    required: frozenset[str]
    max_skew_micros: int
    _casters: tuple[tuple[str, Caster, bool], ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        casters = tuple(
            (c.name, CASTERS[c.kind], c.name in self.required)
            for c in self.schema.columns if c.name != self.schema.timestamp_field
        )
        object.__setattr__(self, "_casters", casters)

    def check(self, record: dict[str, Any], now_micros: int) -> list[Any]:
        """Values in schema order (event time last, as microseconds), or `Rejected`."""
        for name, type_name in self.schema.unsupported:
            if record.get(name) is not None:
                raise unsupported_error(name, type_name)
        out: list[Any] = []
        append = out.append
        for name, cast, required in self._casters:
            value = record.get(name)
            if value is None:
                if required:
                    raise Rejected("missing_join_key", f"join key {name!r} is missing or null",
                                   column=name)
                append(None)
                continue
            append(cast(value, name))
        ts_name = self.schema.timestamp_field
        micros = to_micros(record.get(ts_name), ts_name)
        append(check_range(micros, ts_name, now_micros + self.max_skew_micros))
        return out


def columns_of(rows: Sequence[list[Any]], width: int) -> list[list[Any]]:
    """Row-major checked values → one list per column."""
    return [[row[i] for row in rows] for i in range(width)]
