"""The typed columns a stream message (or push row) carries, named as in the source.

A KafkaSource's `JsonFormat.schema_json` is Spark DDL (`driver_id BIGINT, rate DOUBLE, ...`);
when it is present it is the source's schema. Otherwise (no DDL, or a PushSource) the schema is
derived from the views reading the source: join keys and features, renamed back through the
source's `field_mapping`, plus the timestamp field.

List features (`Array(Int64)`, ...) are columns of kind `list_<element>`: a JSON array whose
elements are checked as the scalar kind. A feature whose type no kind covers (e.g. a map, or a
list of timestamps) is kept aside in `unsupported`: the view still takes pushes and messages of
its other columns, and only a row that actually carries that column is refused, naming it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

import pyarrow as pa
from feast.value_type import ValueType

from featurebank.definitions import ViewSpec
from featurebank.errors import InvalidInput

# Column kinds the contract knows how to check; each maps to one Arrow type.
ARROW_TYPES: dict[str, pa.DataType] = {
    "int64": pa.int64(),
    "int32": pa.int32(),
    "float64": pa.float64(),
    "float32": pa.float32(),
    "bool": pa.bool_(),
    "string": pa.string(),
    "bytes": pa.binary(),
    "timestamp": pa.timestamp("us", tz="UTC"),
}
# Lists of the scalar kinds (not of timestamps); "list_int64" holds int64 elements, and so on.
LIST_ELEMENTS = ("int64", "int32", "float64", "float32", "bool", "string", "bytes")
ARROW_TYPES.update({f"list_{kind}": pa.list_(ARROW_TYPES[kind]) for kind in LIST_ELEMENTS})

_DDL_KINDS = {
    "BIGINT": "int64", "LONG": "int64", "INT": "int32", "INTEGER": "int32", "SMALLINT": "int32",
    "TINYINT": "int32", "DOUBLE": "float64", "FLOAT": "float32", "REAL": "float32",
    "BOOLEAN": "bool", "BOOL": "bool", "STRING": "string", "VARCHAR": "string",
    "BINARY": "bytes", "TIMESTAMP": "timestamp", "TIMESTAMP_NTZ": "timestamp",
}

_VALUE_KINDS = {
    ValueType.INT64: "int64", ValueType.INT32: "int32", ValueType.DOUBLE: "float64",
    ValueType.FLOAT: "float32", ValueType.BOOL: "bool", ValueType.STRING: "string",
    ValueType.BYTES: "bytes", ValueType.UNIX_TIMESTAMP: "timestamp",
    ValueType.INT64_LIST: "list_int64", ValueType.INT32_LIST: "list_int32",
    ValueType.DOUBLE_LIST: "list_float64", ValueType.FLOAT_LIST: "list_float32",
    ValueType.BOOL_LIST: "list_bool", ValueType.STRING_LIST: "list_string",
    ValueType.BYTES_LIST: "list_bytes",
}

_DDL_COLUMN = re.compile(r"^`?([A-Za-z_][\w]*)`?\s+(?:(ARRAY)\s*<\s*([A-Za-z_]+)\s*>|([A-Za-z_]+)"
                         r"(?:\(\s*\d+\s*\))?)$", re.IGNORECASE)


@dataclass(frozen=True)
class Column:
    name: str
    kind: str

    @property
    def arrow_type(self) -> pa.DataType:
        return ARROW_TYPES[self.kind]


@dataclass(frozen=True)
class SourceSchema:
    """Columns of one source, the event-time column among them."""

    columns: tuple[Column, ...]
    timestamp_field: str
    unsupported: tuple[tuple[str, str], ...] = ()
    """(source column, Feast type name) of features no column kind covers."""

    def arrow_schema(self) -> pa.Schema:
        return pa.schema([pa.field(c.name, c.arrow_type) for c in self.columns])

    def names(self) -> list[str]:
        return [c.name for c in self.columns]


def kind_of(value_type: ValueType) -> str | None:
    return _VALUE_KINDS.get(value_type)


def _ddl_kind(match: re.Match[str] | None) -> str | None:
    if match is None:
        return None
    if match.group(2) is None:
        return _DDL_KINDS.get(match.group(4).upper())
    element = _DDL_KINDS.get(match.group(3).upper())
    return f"list_{element}" if element in LIST_ELEMENTS else None


def parse_ddl(ddl: str, timestamp_field: str) -> SourceSchema:
    """Spark DDL as Feast's `JsonFormat.schema_json` holds it; `ARRAY<scalar>` is the only
    nested type (commas only separate columns, so `MAP<K, V>` or `STRUCT<...>` are refused)."""
    columns: list[Column] = []
    for part in ddl.split(","):
        text = part.strip()
        if not text:
            continue
        match = _DDL_COLUMN.match(text)
        kind = _ddl_kind(match)
        if match is None or kind is None:
            raise InvalidInput(f"schema_json column {text!r} is not a supported 'name TYPE' pair "
                               f"(types: {', '.join(sorted(_DDL_KINDS))}, or ARRAY<type> of "
                               "one of them but TIMESTAMP)")
        columns.append(Column(match.group(1), kind))
    return _with_timestamp(columns, timestamp_field)


def derive_schema(views: Iterable[ViewSpec], field_mapping: dict[str, str],
                  timestamp_field: str) -> SourceSchema:
    """The columns the views need, in source naming (`field_mapping` is source → feature)."""
    to_source = {mapped: source for source, mapped in field_mapping.items()}
    columns: dict[str, Column] = {}
    unsupported: dict[str, str] = {}
    for view in views:
        keys = {name for name, _ in view.join_keys}
        pairs = [*view.join_keys, *((f.name, f.value_type) for f in view.features.values())]
        for name, value_type in pairs:
            kind = kind_of(value_type)
            source_name = to_source.get(name, name)
            if kind is None and name in keys:  # no row could be keyed without it
                raise InvalidInput(f"view {view.name!r} join key {name!r} has type "
                                   f"{value_type.name}, which streams do not support")
            if kind is None:
                unsupported.setdefault(source_name, value_type.name)
                continue
            columns.setdefault(source_name, Column(source_name, kind))
    schema = _with_timestamp(list(columns.values()), timestamp_field)
    left = tuple((name, type_name) for name, type_name in unsupported.items()
                 if name not in columns and name != timestamp_field)
    return SourceSchema(schema.columns, schema.timestamp_field, left)


def _with_timestamp(columns: list[Column], timestamp_field: str) -> SourceSchema:
    if not timestamp_field:
        raise InvalidInput("the source has no timestamp_field")
    kept = [c for c in columns if c.name != timestamp_field]
    kept.append(Column(timestamp_field, "timestamp"))
    return SourceSchema(columns=tuple(kept), timestamp_field=timestamp_field)
