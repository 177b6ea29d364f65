"""`feast.types.Value` bytes: one vectorized encoder per column, one fast decoder per value.

Feast writes a null (or a NaN float) as an empty `Value`, i.e. zero bytes; so do we.
Only scalar kinds have a hand-written form; lists and rarer kinds go through Feast's protos,
which are correct but slower.
"""

from __future__ import annotations

import base64
import math
import struct
from collections.abc import Callable
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from feast.protos.feast.types.Value_pb2 import Value as ValueProto
from feast.type_map import python_values_to_proto_values
from feast.value_type import ValueType

from featurebank.codec.varint import decode_varint, encode_varint, to_signed64

_UNPACK_DOUBLE = struct.Struct("<d").unpack_from
_UNPACK_FLOAT = struct.Struct("<f").unpack_from

TAG_BYTES, TAG_STRING, TAG_INT32, TAG_INT64 = 0x0A, 0x12, 0x18, 0x20
TAG_DOUBLE, TAG_FLOAT, TAG_BOOL, TAG_UNIX_TS = 0x29, 0x35, 0x38, 0x40


def _fixed_width(array: pa.Array, tag: int, dtype: str, width: int) -> list[bytes]:
    """Tag byte + little-endian IEEE value per row, built in one numpy pass."""
    values = array.to_numpy(zero_copy_only=False).astype(dtype, copy=False)
    count = len(values)
    rows = np.empty((count, width + 1), dtype=np.uint8)
    rows[:, 0] = tag
    rows[:, 1:] = np.ascontiguousarray(values).view(np.uint8).reshape(count, width)
    blob = rows.tobytes()
    step = width + 1
    out = [blob[i : i + step] for i in range(0, count * step, step)]
    missing = np.isnan(values)
    if array.null_count:
        missing |= array.is_null().to_numpy(zero_copy_only=False)
    if missing.any():
        for index in np.flatnonzero(missing):
            out[index] = b""
    return out


def _varints(array: pa.Array, tag: int) -> list[bytes]:
    """Tag byte + varint per row, all rows encoded in one numpy pass.

    Each row is laid out in an 11-byte slot (tag + up to 10 varint bytes) and sliced to its
    own length; negative numbers take 10 bytes, as protobuf's two's-complement form does.
    """
    count = len(array)
    if count == 0:
        return []
    nulls = array.is_null().to_numpy(zero_copy_only=False) if array.null_count else None
    filled = array.fill_null(0) if array.null_count else array
    raw = filled.to_numpy(zero_copy_only=False).astype(np.int64)
    # Feature columns repeat values (counts, flags, ids): encode each distinct value once.
    distinct, inverse = np.unique(raw, return_inverse=True)
    encoded = _varint_rows(distinct.view(np.uint64), tag)
    out = [encoded[i] for i in inverse.tolist()]
    if nulls is not None:
        for index in np.flatnonzero(nulls):
            out[index] = b""
    return out


def _varint_rows(values: np.ndarray, tag: int) -> list[bytes]:
    count = len(values)
    shifts = np.arange(10, dtype=np.uint64) * np.uint64(7)
    groups = (values[:, None] >> shifts[None, :]) & np.uint64(0x7F)
    # Number of 7-bit groups needed: position of the highest non-zero group, at least one.
    nonzero = groups != 0
    lengths = np.where(nonzero.any(axis=1), 10 - np.argmax(nonzero[:, ::-1], axis=1), 1)
    continuation = np.arange(10)[None, :] < (lengths[:, None] - 1)
    rows = np.empty((count, 11), dtype=np.uint8)
    rows[:, 0] = tag
    rows[:, 1:] = (groups | (continuation.astype(np.uint64) << np.uint64(7))).astype(np.uint8)
    blob = rows.tobytes()
    ends = (np.arange(count) * 11 + 1 + lengths).tolist()
    return [blob[i * 11 : end] for i, end in enumerate(ends)]


def _length_delimited(array: pa.Array, tag: int, text: bool) -> list[bytes]:
    memo: dict[Any, bytes] = {None: b""}
    out: list[bytes] = []
    prefix = bytes((tag,))
    for value in array.to_pylist():
        encoded = memo.get(value)
        if encoded is None:
            raw = value.encode("utf-8") if text else bytes(value)
            encoded = prefix + encode_varint(len(raw)) + raw
            if len(memo) < 65_536:
                memo[value] = encoded
        out.append(encoded)
    return out


def _bools(array: pa.Array) -> list[bytes]:
    table = {True: b"\x38\x01", False: b"\x38\x00", None: b""}
    return [table[value] for value in array.to_pylist()]


def _unix_seconds(array: pa.Array) -> list[bytes]:
    if pa.types.is_timestamp(array.type):
        array = pc.cast(pc.cast(array, pa.timestamp("s", tz="UTC"), safe=False), pa.int64())
    return _varints(array, TAG_UNIX_TS)


def _via_feast(array: pa.Array, value_type: ValueType) -> list[bytes]:
    protos = python_values_to_proto_values(array.to_pylist(), value_type)
    return [proto.SerializeToString() for proto in protos]


def encode_column(array: pa.Array | pa.ChunkedArray, value_type: ValueType) -> list[bytes]:
    """Serialized `Value` bytes for every row of a column of the given Feast type."""
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    if value_type == ValueType.DOUBLE:
        return _fixed_width(array, TAG_DOUBLE, "<f8", 8)
    if value_type == ValueType.FLOAT:
        return _fixed_width(array, TAG_FLOAT, "<f4", 4)
    if value_type == ValueType.INT64:
        return _varints(array, TAG_INT64)
    if value_type == ValueType.INT32:
        return _varints(array, TAG_INT32)
    if value_type == ValueType.BOOL:
        return _bools(array)
    if value_type == ValueType.STRING:
        return _length_delimited(array, TAG_STRING, text=True)
    if value_type == ValueType.BYTES:
        return _length_delimited(array, TAG_BYTES, text=False)
    if value_type == ValueType.UNIX_TIMESTAMP:
        return _unix_seconds(array)
    return _via_feast(array, value_type)


def _float_to_native(value: float) -> float | str:
    if math.isfinite(value):
        return value
    if math.isnan(value):
        return "NaN"
    return "Infinity" if value > 0 else "-Infinity"


def _decode_double(data: bytes) -> Any:
    return _float_to_native(_UNPACK_DOUBLE(data, 1)[0])


def _decode_float(data: bytes) -> Any:
    return _float_to_native(_UNPACK_FLOAT(data, 1)[0])


def _decode_signed(data: bytes) -> Any:
    return to_signed64(decode_varint(data, 1)[0])


def _decode_bool(data: bytes) -> Any:
    return data[1] != 0


def _decode_string(data: bytes) -> Any:
    length, pos = decode_varint(data, 1)
    return data[pos : pos + length].decode("utf-8")


def _decode_bytes(data: bytes) -> Any:
    length, pos = decode_varint(data, 1)
    return base64.b64encode(data[pos : pos + length]).decode("ascii")


_SCALAR_DECODERS: dict[int, Callable[[bytes], Any]] = {
    TAG_DOUBLE: _decode_double,
    TAG_FLOAT: _decode_float,
    TAG_INT64: _decode_signed,
    TAG_INT32: _decode_signed,
    TAG_UNIX_TS: _decode_signed,
    TAG_BOOL: _decode_bool,
    TAG_STRING: _decode_string,
    TAG_BYTES: _decode_bytes,
}


def decode_value(data: bytes | None) -> Any:
    """JSON-ready native value of stored `Value` bytes, as Feast's feature server renders it."""
    if not data:
        return None
    decoder = _SCALAR_DECODERS.get(data[0])
    if decoder is not None:
        return decoder(data)
    from feast.feature_server_utils import _value_to_native

    return _value_to_native(ValueProto.FromString(data))


_INF = math.inf


def _typed_double(data: bytes | None) -> Any:
    if data and len(data) == 9 and data[0] == TAG_DOUBLE:
        value = _UNPACK_DOUBLE(data, 1)[0]
        return value if -_INF < value < _INF else _float_to_native(value)
    return decode_value(data)


def _typed_float(data: bytes | None) -> Any:
    if data and len(data) == 5 and data[0] == TAG_FLOAT:
        value = _UNPACK_FLOAT(data, 1)[0]
        return value if -_INF < value < _INF else _float_to_native(value)
    return decode_value(data)


def _typed_integer(data: bytes | None) -> Any:
    if data and data[0] in (TAG_INT64, TAG_INT32, TAG_UNIX_TS):
        size = len(data)
        if size == 2 and data[1] < 0x80:
            return data[1]
        if size == 3 and data[1] >= 0x80 and data[2] < 0x80:
            return (data[1] & 0x7F) | (data[2] << 7)
        value, end = decode_varint(data, 1)
        if end == size:
            return to_signed64(value)
    return decode_value(data)


def _typed_string(data: bytes | None) -> Any:
    if data and data[0] == TAG_STRING and len(data) > 1 and data[1] < 0x80:
        return data[2 : 2 + data[1]].decode("utf-8")
    return decode_value(data)


def _typed_bool(data: bytes | None) -> Any:
    if data and len(data) == 2 and data[0] == TAG_BOOL:
        return data[1] != 0
    return decode_value(data)


_TYPED_DECODERS: dict[ValueType, Callable[[bytes | None], Any]] = {
    ValueType.DOUBLE: _typed_double,
    ValueType.FLOAT: _typed_float,
    ValueType.INT64: _typed_integer,
    ValueType.INT32: _typed_integer,
    ValueType.UNIX_TIMESTAMP: _typed_integer,
    ValueType.STRING: _typed_string,
    ValueType.BOOL: _typed_bool,
}


def decoder_for(value_type: ValueType) -> Callable[[bytes | None], Any]:
    """A decoder specialised for the declared type; any other stored form still decodes."""
    return _TYPED_DECODERS.get(value_type, decode_value)
