"""The served-value logs of one window, loaded once into DuckDB as the temp table `logs`.

Only the columns monitoring reads are loaded (join keys, each feature's value, status and event
time, the request time), straight from Parquet into DuckDB's own columnar storage: no Arrow
round trip and no sort, which `log_layout.read_logs` (a general reader) does and which cost
most of a run at a million rows. Day partitions outside the window are skipped before any file
is opened; files of one log may differ in columns (ad-hoc lookups), so they are read by name.
A view a feature service serves under an alias (`with_name`) is logged under that name; its
columns are read into the view's own, so those lookups are measured too.
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


def _aliases(definitions: Definitions) -> dict[str, list[str]]:
    """View name -> the other names feature services log it under (`with_name` projections).

    A projection with a `join_key_map` is left out: its rows are keyed by other columns, so
    they are not the view's rows under its own keys."""
    found: dict[str, list[str]] = {}
    for service in definitions.services.values():
        for projection in service.feature_view_projections:
            alias = projection.name_alias
            if (alias and alias != projection.name and projection.name in definitions.views
                    and not projection.join_key_map):
                names = found.setdefault(projection.name, [])
                if alias not in names:
                    names.append(alias)
    return found


def _sources(definitions: Definitions) -> dict[str, list[str]]:
    """Each column monitoring reads -> the logged columns that may hold it: its own name first,
    then the same feature under each alias of its view (a service's `with_name` projection
    logs `<alias>__<feature>`), so served values are measured whichever name served them."""
    sources = {log_layout.LOG_TIMESTAMP: [log_layout.LOG_TIMESTAMP]}
    aliases = _aliases(definitions)
    for view in definitions.views.values():
        if not view.entityless:
            sources.update({key: [key] for key in view.join_key_names})
        names = [view.name, *aliases.get(view.name, [])]
        for feature in view.features:
            for column in (log_layout.value_column, log_layout.status_column,
                           log_layout.timestamp_column):
                sources[column(view.name, feature)] = [column(name, feature) for name in names]
    return sources


def _select(target: str, logged: list[str]) -> str:
    if logged == [target]:
        return quote(target)
    return f"COALESCE({', '.join(map(quote, logged))}) AS {quote(target)}"


def load_window(connection: duckdb.DuckDBPyConnection, definitions: Definitions,
                data_path: Path, start: datetime, end: datetime) -> LoggedWindow:
    """Create the temp table `logs` with the rows logged at start <= __log_timestamp < end."""
    files = window_files(data_path, start, end)
    selected: dict[str, str] = {}
    if files:
        described = {str(row[0]) for row in connection.execute(
            "DESCRIBE SELECT * FROM read_parquet($files, union_by_name = true)",
            {"files": files}).fetchall()}
        for target, candidates in _sources(definitions).items():
            logged = [name for name in candidates if name in described]
            if logged:
                selected[target] = _select(target, logged)
    present = list(selected)
    if log_layout.LOG_TIMESTAMP not in present:
        connection.execute(f"CREATE OR REPLACE TEMP TABLE {TABLE} "
                           f"({quote(log_layout.LOG_TIMESTAMP)} TIMESTAMPTZ)")
        return LoggedWindow(frozenset((log_layout.LOG_TIMESTAMP,)), 0)
    ts = quote(log_layout.LOG_TIMESTAMP)
    connection.execute(
        f"CREATE OR REPLACE TEMP TABLE {TABLE} AS SELECT {', '.join(selected.values())} "  # noqa: S608
        f"FROM read_parquet($files, union_by_name = true) "
        f"WHERE {ts} >= $start AND {ts} < $end",
        {"files": files, "start": start, "end": end})
    rows = connection.execute(f"SELECT count(*) FROM {TABLE}").fetchall()  # noqa: S608
    return LoggedWindow(frozenset(present), int(rows[0][0]) if rows else 0)
