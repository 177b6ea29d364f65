"""Per-feature statistics and the offline event-time range, computed by DuckDB over Parquet.

Results are cached per view and keyed by the source files' (path, mtime, size) plus the view's
columns, so appended stream history or a regenerated file invalidates them and nothing else
does. Callers run `ViewStatsCache.get` in a worker thread: a scan of a large history takes
seconds and must not block the event loop. Only registry-defined names reach SQL, quoted as
identifiers; file paths are passed to DuckDB as values, never formatted into a query.
"""

from __future__ import annotations

import glob
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from featurebank.aggregations import WindowedAggregation, aggregations_of
from featurebank.definitions import ViewSpec
from featurebank.errors import InvalidInput
from featurebank.offline.sources import ParquetSource, offline_source

BINS = 20
TOP_VALUES = 8
RECENT_KEYS = 2000
NUMERIC = ("INT", "FLOAT", "DOUBLE", "DECIMAL", "BIGINT", "SMALLINT", "TINYINT", "HUGEINT",
           "UBIGINT", "UINTEGER", "USMALLINT", "UTINYINT")

Fingerprint = tuple[tuple[str, int, int], ...]


def quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def source_files(source: ParquetSource) -> list[str]:
    if "*" in source.path:
        return sorted(glob.glob(source.path, recursive=True))
    return [source.path] if Path(source.path).exists() else []


def fingerprint(files: list[str]) -> Fingerprint:
    out = []
    for path in files:
        try:
            st = Path(path).stat()
        except FileNotFoundError:
            continue
        out.append((path, st.st_mtime_ns, st.st_size))
    return tuple(out)


def _iso(value: Any) -> str | None:
    if isinstance(value, datetime):
        aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        return aware.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return None if value is None else str(value)


def _number(value: Any) -> float | int | None:
    if value is None:
        return None
    if isinstance(value, bool | int):
        return int(value)
    try:
        return round(float(value), 6)
    except (TypeError, ValueError):
        return None


def _shape(duck_type: str) -> str:
    """"scalar", "numeric", "list", "bytes" or "nested" (struct/map/union) for a DuckDB type.

    Only scalars get min/max/mean or top values: `avg(DOUBLE[])` does not exist, and a top
    list of blobs or structs says nothing, so those get counts and (lists, bytes) lengths.
    """
    upper = duck_type.upper().strip()
    if upper.endswith("]"):  # DOUBLE[], VARCHAR[3], nested lists
        return "list"
    if upper.startswith(("STRUCT", "MAP", "UNION")):
        return "nested"
    if upper in ("BLOB", "BYTEA", "BINARY", "VARBINARY"):
        return "bytes"
    if upper.startswith(NUMERIC):
        return "numeric"
    return "scalar"


def _feature_stats(con: duckdb.DuckDBPyConnection, column: str, duck_type: str,
                   rows: int) -> dict[str, Any]:
    """One feature's statistics; a query DuckDB refuses costs that feature its numbers (with
    the reason), never the whole page."""
    try:
        return _typed_stats(con, column, duck_type, rows)
    except duckdb.Error as exc:
        return {"type": duck_type, "error": f"statistics unavailable: {type(exc).__name__}: "
                                            f"{str(exc).splitlines()[0][:200]}"}


def _length_stats(con: duckdb.DuckDBPyConnection, length: str) -> dict[str, Any]:
    row = con.execute(
        f"SELECT min({length}), max({length}), avg({length}), "  # noqa: S608
        f"quantile_cont({length}, [0.5, 0.95]), count(*) FILTER ({length} = 0) FROM src"
    ).fetchone()
    assert row is not None
    low, high, mean, quantiles, empty = row
    return {"min": _number(low), "max": _number(high), "mean": _number(mean),
            "p50": _number(quantiles[0]) if quantiles else None,
            "p95": _number(quantiles[1]) if quantiles else None, "empty": int(empty or 0)}


def _typed_stats(con: duckdb.DuckDBPyConnection, column: str, duck_type: str,
                 rows: int) -> dict[str, Any]:
    col = quote(column)
    shape = _shape(duck_type)
    count, distinct = con.execute(
        f"SELECT count({col}), approx_count_distinct({col}) FROM src"  # noqa: S608
    ).fetchone() or (0, 0)
    stats: dict[str, Any] = {
        "count": int(count), "nulls": rows - int(count),
        "null_pct": round(100.0 * (rows - int(count)) / rows, 3) if rows else None,
        "distinct": int(distinct), "type": duck_type,
    }
    if shape in ("list", "bytes", "nested"):
        stats["shape"] = shape
    if not count or shape == "nested":
        return stats
    if shape in ("list", "bytes"):
        length = f"len({col})" if shape == "list" else f"octet_length({col})"
        stats["length"] = _length_stats(con, length)
        if shape == "list":
            low, high = stats["length"]["min"], stats["length"]["max"]
            stats["length_histogram"] = _histogram(con, length, float(low), float(high))
        return stats
    if shape == "numeric":
        row = con.execute(
            f"SELECT min({col}), max({col}), avg({col}), stddev_samp({col}), "  # noqa: S608
            f"quantile_cont({col}, [0.5, 0.95, 0.99]) FROM src"
        ).fetchone()
        assert row is not None
        low, high, mean, std, quantiles = row
        stats.update(min=_number(low), max=_number(high), mean=_number(mean), std=_number(std),
                     p50=_number(quantiles[0]), p95=_number(quantiles[1]),
                     p99=_number(quantiles[2]))
        stats["histogram"] = _histogram(con, col, float(low), float(high))
    else:
        top = con.execute(
            f"SELECT CAST({col} AS VARCHAR) AS v, count(*) AS n FROM src "  # noqa: S608
            f"WHERE {col} IS NOT NULL GROUP BY v ORDER BY n DESC, v LIMIT {TOP_VALUES}"
        ).fetchall()
        stats["top_values"] = [{"value": v, "count": int(n)} for v, n in top]
    return stats


def _histogram(con: duckdb.DuckDBPyConnection, col: str, low: float,
               high: float) -> dict[str, Any]:
    width = (high - low) / BINS if high > low else 1.0
    counts = [0] * BINS
    for bucket, n in con.execute(
        f"SELECT least(greatest(CAST(floor(({col} - $low) / $width) AS BIGINT), 0), "  # noqa: S608
        f"{BINS - 1}) AS b, count(*) FROM src WHERE {col} IS NOT NULL GROUP BY b",
        {"low": low, "width": width},
    ).fetchall():
        counts[int(bucket)] = int(n)
    edges = [round(low + i * width, 6) for i in range(BINS + 1)]
    return {"edges": edges, "counts": counts}


def _recent_keys(con: duckdb.DuckDBPyConnection, view: ViewSpec, source: ParquetSource,
                 types: dict[str, str]) -> list[dict[str, Any]]:
    """The newest entity keys whose newest row has every feature set, each with that row's
    event time: a lookup, or a training set at that time or later (within the TTL), returns
    values, not nulls. Falls back to the newest keys at all when no such row exists."""
    ts = quote(source.timestamp_field)
    keys = [(k, source.column_for(k)) for k in view.join_key_names if not view.entityless]
    if not all(column in types for _, column in keys):
        return []
    picked = ", ".join(quote(column) for _, column in keys)
    partition = f"PARTITION BY {picked} " if keys else ""
    present = [quote(source.column_for(f)) for f in view.features
               if source.column_for(f) in types]
    complete = " AND ".join(f"{c} IS NOT NULL" for c in present) or "TRUE"
    select = f"{picked}, " if keys else ""
    for where in ("fb_complete__", "TRUE"):  # aliases no registry column is likely to use
        found = con.execute(
            f"SELECT {select}fb_t__ FROM (SELECT {select}{ts} AS fb_t__, "  # noqa: S608
            f"{complete} AS fb_complete__, "
            f"row_number() OVER ({partition}ORDER BY {ts} DESC) AS fb_newest__ FROM src "
            f"WHERE {ts} IS NOT NULL) WHERE fb_newest__ = 1 AND {where} "
            f"ORDER BY fb_t__ DESC LIMIT {RECENT_KEYS}"
        ).fetchall()
        if found:
            return [{"key": {k: v for (k, _), v in zip(keys, row, strict=False)},
                     "time": _iso(row[-1])} for row in found]
    return []


def compute_view_stats(view: ViewSpec, source: ParquetSource, files: list[str]) -> dict[str, Any]:
    """Scan a view's Parquet history: event-time range, a sample key and per-feature stats."""
    started = time.perf_counter()
    con = duckdb.connect()
    try:
        con.read_parquet(files, union_by_name=True).create_view("src")
        types = {str(r[0]): str(r[1]) for r in con.execute("DESCRIBE src").fetchall()}
        ts = quote(source.timestamp_field)
        row = con.execute(f"SELECT count(*), min({ts}), max({ts}) FROM src").fetchone()  # noqa: S608
        assert row is not None
        rows, first, last = int(row[0]), row[1], row[2]
        recent = _recent_keys(con, view, source, types) if rows else []
        features: dict[str, Any] = {}
        windows = _windows(view)
        for name in view.features:
            column = source.column_for(name)
            if name in windows:
                features[name] = {"missing": _window_note(windows[name])}
                continue
            if column not in types:
                features[name] = {"missing": f"column {column!r} is not in the source files"}
                continue
            features[name] = _feature_stats(con, column, types[column], rows)
    finally:
        con.close()
    return {
        "rows": rows, "files": len(files),
        "event_time": {"min": _iso(first), "max": _iso(last), "column": source.timestamp_field},
        "sample_key": recent[0]["key"] if recent else {},
        "sample_time": recent[0]["time"] if recent else None,
        "recent_keys": recent, "features": features,
        "computed_at": _iso(datetime.now(UTC)),
        "seconds": round(time.perf_counter() - started, 3),
    }


def _windows(view: ViewSpec) -> dict[str, WindowedAggregation]:
    try:
        return {window.name: window for window in aggregations_of(view)}
    except ValueError:  # the processor skips such a view and /health says why
        return {}


def _window_note(window: WindowedAggregation) -> str:
    """Why an aggregation has no column statistics: the history holds its raw events."""
    seconds = window.window_us // 1_000_000
    span = next((f"{seconds // unit}{suffix}" for unit, suffix in
                 ((86_400, "d"), (3_600, "h"), (60, "m")) if seconds % unit == 0),
                f"{seconds}s")
    return (f"{window.function} of {window.column!r} over the trailing {span}, computed when "
            "served or joined; the history holds the raw events")


@dataclass
class _Entry:
    key: tuple[Any, ...]
    value: dict[str, Any]


class ViewStatsCache:
    """Memoized `compute_view_stats` per view, recomputed when its files or columns change."""

    def __init__(self) -> None:
        self._entries: dict[str, _Entry] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def cached(self, view: str) -> dict[str, Any] | None:
        entry = self._entries.get(view)
        return entry.value if entry is not None else None

    def get(self, view: ViewSpec) -> dict[str, Any]:
        """Statistics for `view`, or `{"unavailable": reason}` when it has no Parquet history."""
        try:
            source = offline_source(view)
        except InvalidInput as exc:
            return {"unavailable": exc.message}
        files = source_files(source)
        if not files:
            return {"unavailable": f"no Parquet files at {source.path}"}
        key = (fingerprint(files), tuple(view.features), source.timestamp_field)
        with self._guard:
            lock = self._locks.setdefault(view.name, threading.Lock())
        with lock:
            entry = self._entries.get(view.name)
            if entry is None or entry.key != key:
                try:
                    value = compute_view_stats(view, source, files)
                except duckdb.Error as exc:  # files that do not match the definition
                    value = {"unavailable": f"the files at {source.path} do not match the "
                                            f"view: {str(exc).splitlines()[0]}"}
                entry = _Entry(key, value)
                self._entries[view.name] = entry
        return entry.value


def offline_range(view: ViewSpec) -> dict[str, Any] | None:
    """Rows and event-time range of a view's history (cheap: DuckDB reads row-group stats)."""
    try:
        source = offline_source(view)
    except InvalidInput:
        return None
    files = source_files(source)
    if not files:
        return None
    con = duckdb.connect()
    try:
        ts = quote(source.timestamp_field)
        con.read_parquet(files, union_by_name=True).create_view("src")
        row = con.execute(f"SELECT count(*), min({ts}), max({ts}) FROM src").fetchone()  # noqa: S608
    except duckdb.Error:  # no such timestamp column: the detail page says so via statistics
        return None
    finally:
        con.close()
    if row is None:
        return None
    return {"rows": int(row[0]), "min": _iso(row[1]), "max": _iso(row[2]),
            "column": source.timestamp_field}
