"""The data a training set read: exact file lists, and a fingerprint to detect change.

Globs are expanded once, before the join, and the join reads exactly that list, so files a
stream appends mid-run neither half-appear in the output nor escape the fingerprint. The
fingerprint is (path, size, mtime_ns) per file: cheap at any scale, and a changed, added or
removed file is named when a manifest is re-run.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import duckdb

from featurebank.offline.sources import ParquetSource


@dataclass(frozen=True)
class FileStamp:
    path: str
    size: int
    mtime_ns: int

    def as_dict(self) -> dict[str, Any]:
        return {"path": self.path, "size": self.size, "mtime_ns": self.mtime_ns}


def resolve_files(source: ParquetSource) -> list[str]:
    """The files a source path names today, sorted (DuckDB's own glob rules)."""
    if "*" not in source.path and "?" not in source.path and "[" not in source.path:
        return [source.path] if os.path.exists(source.path) else []
    connection = duckdb.connect()
    try:
        rows = connection.execute("SELECT file FROM glob(?)", [source.path]).fetchall()
    finally:
        connection.close()
    return sorted(str(row[0]) for row in rows)


def stamp(paths: list[str]) -> list[FileStamp]:
    stamps = []
    for path in paths:
        info = os.stat(path)
        stamps.append(FileStamp(path=path, size=info.st_size, mtime_ns=info.st_mtime_ns))
    return stamps


def diff(before: list[dict[str, Any]], after: list[FileStamp]) -> list[str]:
    """Human-readable differences between a recorded snapshot and the files now."""
    old = {item["path"]: item for item in before}
    new = {item.path: item.as_dict() for item in after}
    changes = [f"added {path}" for path in sorted(new.keys() - old.keys())]
    changes += [f"removed {path}" for path in sorted(old.keys() - new.keys())]
    for path in sorted(old.keys() & new.keys()):
        if old[path]["size"] != new[path]["size"] or old[path]["mtime_ns"] != new[path]["mtime_ns"]:
            changes.append(f"modified {path} (size {old[path]['size']} -> {new[path]['size']})")
    return changes
