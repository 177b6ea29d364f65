"""The served-value logs of one window, loaded once into DuckDB as the temp table `logs`.

Only the columns monitoring reads are loaded (join keys, each feature's value, status and event
time, the request time), straight from Parquet into DuckDB's own columnar storage: no Arrow
round trip and no sort, which `log_layout.read_logs` (a general reader) does and which cost
most of a run at a million rows. Day partitions outside the window are skipped before any file
is opened; files of one log may differ in columns (ad-hoc lookups), so they are read by name.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import duckdb

from featurebank.definitions import Definitions
from featurebank.monitoring import log_layout
from featurebank.offline.latest import quote

TABLE = "logs"


@dataclass(frozen=True)
class LoggedWindow:
    """What `logs` holds: its columns and row count."""

    columns: frozenset[str]
    rows: int


def _partition_day(directory: Path) -> date | None:
    prefix = f"{log_layout.LOG_DATE}="
    if not directory.name.startswith(prefix):
        return None
    try:
        return date.fromisoformat(directory.name[len(prefix):])
    except ValueError:
        return None


def window_files(data_path: Path, start: datetime, end: datetime) -> list[str]:
    """Parquet files of every log whose day partition overlaps [start, end]."""
    root = log_layout.log_root(data_path)
    if not root.is_dir():
        return []
    first, last = start.date(), end.date()
    files: list[str] = []
    for log in sorted(p for p in root.iterdir() if p.is_dir()):
        for partition in sorted(p for p in log.iterdir() if p.is_dir()):
            day = _partition_day(partition)
            if day is not None and first <= day <= last:
                files += sorted(str(f) for f in partition.glob("*.parquet"))
    return files


def _wanted(definitions: Definitions) -> set[str]:
    names = {log_layout.LOG_TIMESTAMP}
    for view in definitions.views.values():
        if not view.entityless:
            names.update(view.join_key_names)
        for feature in view.features:
            names.update((log_layout.value_column(view.name, feature),
                          log_layout.status_column(view.name, feature),
                          log_layout.timestamp_column(view.name, feature)))
    return names


def load_window(connection: duckdb.DuckDBPyConnection, definitions: Definitions,
                data_path: Path, start: datetime, end: datetime) -> LoggedWindow:
    """Create the temp table `logs` with the rows logged at start <= __log_timestamp < end."""
    files = window_files(data_path, start, end)
    present: list[str] = []
    if files:
        described = connection.execute(
            "DESCRIBE SELECT * FROM read_parquet($files, union_by_name = true)",
            {"files": files}).fetchall()
        wanted = _wanted(definitions)
        present = [str(row[0]) for row in described if str(row[0]) in wanted]
    if log_layout.LOG_TIMESTAMP not in present:
        connection.execute(f"CREATE OR REPLACE TEMP TABLE {TABLE} "
                           f"({quote(log_layout.LOG_TIMESTAMP)} TIMESTAMPTZ)")
        return LoggedWindow(frozenset((log_layout.LOG_TIMESTAMP,)), 0)
    ts = quote(log_layout.LOG_TIMESTAMP)
    connection.execute(
        f"CREATE OR REPLACE TEMP TABLE {TABLE} AS SELECT {', '.join(map(quote, present))} "  # noqa: S608
        f"FROM read_parquet($files, union_by_name = true) "
        f"WHERE {ts} >= $start AND {ts} < $end",
        {"files": files, "start": start, "end": end})
    rows = connection.execute(f"SELECT count(*) FROM {TABLE}").fetchall()  # noqa: S608
    return LoggedWindow(frozenset(present), int(rows[0][0]) if rows else 0)
