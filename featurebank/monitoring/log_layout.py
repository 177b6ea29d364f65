"""Where served-value logs live and what their columns are: the contract between the API, which
writes them, and the monitoring jobs, which read them.

The columns are Feast 0.67's feature-logging schema (`FeatureServiceLoggingSource.get_schema`), so
a Feast user's log readers keep working, plus two columns of ours:

    <view>__<feature>               the served value, in the view's Arrow type
    <view>__<feature>__timestamp    its event time, timestamp[us, UTC] (null when not found)
    <view>__<feature>__status       int32 Feast FieldStatus (see `FieldStatus`)
    <join key> / <request field>    one column each, under its own name, as requested
    __log_timestamp                 timestamp[us, UTC]: when the request was served
    __log_date                      date32: the UTC day of __log_timestamp (also the partition)
    __request_id                    string: the request id (the X-Request-ID header, else made up)
    __consumer                      string: API key name, else X-Feature-Consumer, else "anonymous"
    __feature_service               string: the feature service, "" for an ad-hoc feature list

Files: `<data_dir>/serving_logs/<log name>/__log_date=YYYY-MM-DD/part-<uuid>.parquet`, where the
log name is the feature service's name, or `_adhoc` for feature lists. Ad-hoc requests vary in
their columns, so files under one log may differ: read them with DuckDB's
`read_parquet(..., union_by_name=true, hive_partitioning=true)`, as `read_logs` does.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from enum import IntEnum
from pathlib import Path

import duckdb
import pyarrow as pa

SERVING_LOGS_DIR = "serving_logs"
ADHOC_LOG = "_adhoc"
"""The log of requests that list features instead of naming a feature service."""

LOG_TIMESTAMP = "__log_timestamp"
LOG_DATE = "__log_date"
REQUEST_ID = "__request_id"
CONSUMER = "__consumer"
FEATURE_SERVICE = "__feature_service"
ANONYMOUS_CONSUMER = "anonymous"
CONSUMER_HEADER = "X-Feature-Consumer"
REQUEST_ID_HEADER = "X-Request-ID"

TIMESTAMP_SUFFIX = "__timestamp"
STATUS_SUFFIX = "__status"

TIMESTAMP_TYPE = pa.timestamp("us", tz="UTC")
STATUS_TYPE = pa.int32()

SYSTEM_FIELDS: tuple[pa.Field, ...] = (
    pa.field(LOG_TIMESTAMP, TIMESTAMP_TYPE),
    pa.field(LOG_DATE, pa.date32()),
    pa.field(REQUEST_ID, pa.string()),
    pa.field(CONSUMER, pa.string()),
    pa.field(FEATURE_SERVICE, pa.string()),
)
"""The columns every log file ends with, in this order (Feast's three, then ours)."""

# A log name becomes a directory: only names that are one plain path segment qualify.
_SAFE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]*")


class FieldStatus(IntEnum):
    """Feast's `FieldStatus` codes, as stored in the `__status` columns."""

    INVALID = 0
    PRESENT = 1
    NULL_VALUE = 2
    NOT_FOUND = 3
    OUTSIDE_MAX_AGE = 4


def value_column(view: str, feature: str) -> str:
    return f"{view}__{feature}"


def timestamp_column(view: str, feature: str) -> str:
    return f"{view}__{feature}{TIMESTAMP_SUFFIX}"


def status_column(view: str, feature: str) -> str:
    return f"{view}__{feature}{STATUS_SUFFIX}"


def log_name_for(feature_service: str | None) -> str:
    """The log a request goes to: its feature service's, or the ad-hoc one."""
    return feature_service if feature_service else ADHOC_LOG


def is_safe_log_name(name: str) -> bool:
    return bool(_SAFE_NAME.fullmatch(name)) and ".." not in name


def log_root(data_dir: Path) -> Path:
    return data_dir / SERVING_LOGS_DIR


def log_dir(data_dir: Path, log_name: str) -> Path:
    """The directory of one log; a name that is not one plain path segment is refused."""
    if not is_safe_log_name(log_name):
        raise ValueError(f"log name {log_name!r} is not a plain file name (letters, digits, _.-)")
    return log_root(data_dir) / log_name


def partition_dir(data_dir: Path, log_name: str, day: date) -> Path:
    return log_dir(data_dir, log_name) / f"{LOG_DATE}={day.isoformat()}"


def glob_for(data_dir: Path, log_name: str | None = None) -> str:
    """A glob of the Parquet files of one log, or of every log when `log_name` is None."""
    base = log_dir(data_dir, log_name) if log_name is not None else log_root(data_dir) / "*"
    return str(base / f"{LOG_DATE}=*" / "*.parquet")


def has_logs(data_dir: Path, log_name: str | None = None) -> bool:
    root = log_dir(data_dir, log_name) if log_name is not None else log_root(data_dir)
    return root.is_dir() and any(root.rglob("*.parquet"))


def read_logs(
    data_dir: Path,
    start: datetime,
    end: datetime,
    log_name: str | None = None,
    *,
    connection: duckdb.DuckDBPyConnection | None = None,
) -> pa.Table:
    """Rows logged at `start <= __log_timestamp < end`, every file's columns unioned by name.

    Returns an empty table when nothing was logged yet (DuckDB refuses a glob matching no file).
    The day partitions outside the window are pruned before any file is opened.
    """
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("log windows must be timezone-aware")
    if not has_logs(data_dir, log_name):
        return pa.schema(list(SYSTEM_FIELDS)).empty_table()
    own = connection is None
    con = duckdb.connect() if connection is None else connection
    try:
        relation = con.sql(
            f"SELECT * FROM read_parquet(?, union_by_name=true, hive_partitioning=true) "  # noqa: S608
            f"WHERE {LOG_DATE} BETWEEN ? AND ? AND {LOG_TIMESTAMP} >= ? AND {LOG_TIMESTAMP} < ? "
            f"ORDER BY {LOG_TIMESTAMP}",
            params=[
                glob_for(data_dir, log_name),
                start.astimezone(UTC).date(),
                end.astimezone(UTC).date(),
                start,
                end,
            ],
        )
        return relation.to_arrow_table()
    finally:
        if own:
            con.close()
