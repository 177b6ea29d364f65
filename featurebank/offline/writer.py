"""Appending Parquet files to a source's history directory, atomically and idempotently.

A file is written under a temporary name that the source's `*.parquet` glob cannot match, then
renamed into place, so readers (DuckDB, Feast) never see half a file. Stream output is named by
topic, partition and offset range (one file may cover many polls: the processor buffers a
partition's rows between flushes): the processor removes files of a partition that end at or
after the offset it is about to (re)write, so replaying uncommitted offsets rewrites their
history instead of duplicating it.
"""

from __future__ import annotations

import contextlib
import os
import re
import uuid
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")
_PART = re.compile(r"^(?P<prefix>.+)-p(?P<partition>\d+)-(?P<first>\d+)-(?P<last>\d+)\.parquet$")


@dataclass(frozen=True)
class OffsetPart:
    """A stream history file and the offsets it covers (inclusive)."""

    path: Path
    partition: int
    first: int
    last: int


def safe_prefix(name: str) -> str:
    """A topic name as a file-name prefix (no separators, no dot files)."""
    return _UNSAFE.sub("_", name).lstrip(".") or "stream"


def part_name(prefix: str, partition: int, first: int, last: int) -> str:
    return f"{safe_prefix(prefix)}-p{partition:05d}-{first:020d}-{last:020d}.parquet"


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
                                    int(match.group("first")), int(match.group("last"))))
    return parts


def unique_name(prefix: str) -> str:
    """A name for output that has no offsets (pushes): never collides, never rewrites."""
    return f"{safe_prefix(prefix)}-{uuid.uuid4().hex}.parquet"
