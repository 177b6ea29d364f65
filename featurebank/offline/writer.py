"""Appending Parquet files to a source's history directory, atomically and idempotently.

A file is written under a temporary name that the source's `*.parquet` glob cannot match, then
renamed into place, so readers (DuckDB, Feast) never see half a file. Stream output is named by
topic, partition and offset range (one file may cover many polls: the processor buffers a
partition's rows between flushes): the processor removes files of a partition that end at or
after the offset it is about to (re)write, so replaying uncommitted offsets rewrites their
history instead of duplicating it.

Offsets alone do not name a record for ever: a broker that keeps its log in memory (the local
Tansu) restarts every topic at offset 0, and a deleted and recreated topic does too. So a
stream file also carries the topic's id on the broker (`log_id`, Kafka's topic id, new for
each incarnation of the topic): only files of the same incarnation can be uncommitted work of
this one; every other file is history of an earlier one and is never replaced.

Column types follow the files already in a directory (`existing_schema`, `conform_columns`):
readers glob the directory with `union_by_name`, so a column written as int64 beside files that
hold it as int16 (or as text beside numbers) would change type, or fail, for every reader. A
value that does not fit the existing type raises `pyarrow.ArrowInvalid`, which is the data's
fault, not the disk's (the stream sink dead-letters such rows).
"""

from __future__ import annotations

import contextlib
import os
import re
import uuid
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")
_PART = re.compile(r"^(?P<prefix>.+?)(?:-t(?P<log_id>[0-9a-f]{32}))?"
                   r"-p(?P<partition>\d+)-(?P<first>\d+)-(?P<last>\d+)\.parquet$")
_LOG_ID = re.compile(r"^[0-9a-f]{32}$")


@dataclass(frozen=True)
class OffsetPart:
    """A stream history file and the offsets it covers (inclusive)."""

    path: Path
    partition: int
    first: int
    last: int
    log_id: str = ""
    """The topic incarnation the offsets belong to ("" in files written before ids were)."""


def safe_prefix(name: str) -> str:
    """A topic name as a file-name prefix (no separators, no dot files)."""
    return _UNSAFE.sub("_", name).lstrip(".") or "stream"


def part_name(prefix: str, partition: int, first: int, last: int, log_id: str = "") -> str:
    """`<topic>[-t<log id>]-p<partition>-<first>-<last>.parquet`; `log_id` is 32 hex digits
    (the broker's topic id) or "" when the broker reports none."""
    if log_id and not _LOG_ID.match(log_id):
        raise ValueError(f"log id {log_id!r} must be 32 lowercase hex digits")
    tag = f"-t{log_id}" if log_id else ""
    return f"{safe_prefix(prefix)}{tag}-p{partition:05d}-{first:020d}-{last:020d}.parquet"


def write_parquet_atomic(directory: Path, name: str, table: pa.Table) -> Path:
    """Write `table` as `directory/name`, replacing a file of that name atomically."""
    if "/" in name or name.startswith("."):
        raise ValueError(f"file name {name!r} must be a plain name")
    directory.mkdir(parents=True, exist_ok=True)
    final = directory / name
    temporary = directory / f".{name}.{uuid.uuid4().hex[:8]}.tmp"
    try:
        pq.write_table(table, temporary, compression="zstd")
        with open(temporary, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(temporary, final)
    finally:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()
    return final


def offset_parts(directory: Path, prefix: str) -> list[OffsetPart]:
    """Stream history files of one topic in `directory`."""
    if not directory.is_dir():
        return []
    wanted = safe_prefix(prefix)
    parts = []
    for path in directory.glob("*.parquet"):
        match = _PART.match(path.name)
        if match and match.group("prefix") == wanted:
            parts.append(OffsetPart(path, int(match.group("partition")),
                                    int(match.group("first")), int(match.group("last")),
                                    match.group("log_id") or ""))
    return parts


def unique_name(prefix: str) -> str:
    """A name for output that has no offsets (pushes): never collides, never rewrites."""
    return f"{safe_prefix(prefix)}-{uuid.uuid4().hex}.parquet"


SCHEMA_FILES = 64
"""At most this many existing files are read (footers only) for a directory's column types."""


def existing_schema(directory: Path) -> dict[str, pa.DataType]:
    """Column → type as the directory's Parquet files hold it (the first file, by name, that
    has the column decides); unreadable files are skipped, an absent directory has none."""
    types: dict[str, pa.DataType] = {}
    if not directory.is_dir():
        return types
    for path in sorted(directory.glob("*.parquet"))[:SCHEMA_FILES]:
        try:
            schema = pq.read_schema(path)
        except (OSError, pa.ArrowException):  # removed meanwhile, or not Parquet: not ours
            continue
        for item in schema:
            types.setdefault(item.name, item.type)
    return types


def conform_columns(table: pa.Table, types: dict[str, pa.DataType]) -> pa.Table:
    """`table` with each column of `types` cast (safely) to that type.

    Raises `pyarrow.ArrowInvalid` (or `ArrowNotImplementedError`) naming the value or the
    types when a cast would change a value or cannot be done.
    """
    for index, item in enumerate(table.schema):
        wanted = types.get(item.name)
        if wanted is None or wanted.equals(item.type):
            continue
        try:
            column = pc.cast(table.column(index), wanted, safe=True)
        except pa.ArrowException as exc:
            raise type(exc)(f"column {item.name!r} ({item.type}) does not fit the existing "
                            f"files' {wanted}: {exc}") from exc
        table = table.set_column(index, pa.field(item.name, wanted), column)
    return table


def encodable(table: pa.Table) -> None:
    """Raise what writing `table` as Parquet would raise for its data, writing to memory."""
    pq.write_table(table, pa.BufferOutputStream())
