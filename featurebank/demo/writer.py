"""Atomic Parquet writes: readers (DuckDB globs, Feast, the API) never see a half-written file.

Each file is written under a hidden `.tmp` name, which no `*.parquet` glob matches, then renamed
into place; a rename within one directory is atomic on POSIX filesystems.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

COMPRESSION = "zstd"


def write_parquet(path: Path, schema: pa.Schema, chunks: Iterable[pa.Table]) -> int:
    """Stream `chunks` into one file, one row group each, and return the rows written.

    Only one chunk is held at a time, which is what keeps a multi-million-row file cheap.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    rows = 0
    try:
        with pq.ParquetWriter(tmp, schema, compression=COMPRESSION) as writer:
            for chunk in chunks:
                writer.write_table(chunk)
                rows += chunk.num_rows
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return rows


def remove_stale(directory: Path, prefix: str, keep: set[Path]) -> None:
    """Delete `<prefix>-*.parquet` files a previous, longer run left behind.

    Other files in the directory (the stream processor's, offline pushes) are not ours to touch.
    """
    if not directory.is_dir():
        return
    for path in directory.glob(f"{prefix}-*.parquet"):
        if path not in keep:
            path.unlink(missing_ok=True)
