"""The newest row per entity of a view's Parquet history, computed by DuckDB."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

import duckdb
import pyarrow as pa

from featurebank.definitions import ViewSpec
from featurebank.errors import InvalidInput
from featurebank.offline.sources import ParquetSource

EVENT_TS = "__event_ts"


def quote(identifier: str) -> str:
    """A SQL identifier; names come from definitions, never from requests, but quote anyway."""
    return '"' + identifier.replace('"', '""') + '"'


@dataclass
class LatestRows:
    """A materialized result: its row count and a stream of Arrow batches."""

    count: int
    connection: duckdb.DuckDBPyConnection

    def batches(self, size: int) -> Iterator[pa.RecordBatch]:
        reader: pa.RecordBatchReader = self.connection.table("latest").to_arrow_reader(size)
        yield from reader

    def close(self) -> None:
        self.connection.close()


def latest_rows(
    view: ViewSpec,
    source: ParquetSource,
    *,
    start: datetime | None,
    end: datetime | None,
    threads: int | None = None,
) -> LatestRows:
    """Rows with the greatest (event time, created time) per entity within [start, end].

    The result lands in a DuckDB temp table so its size is known up front (for progress) and
    it can be streamed out in batches without holding it in Python.
    """
    connection = duckdb.connect()
    try:
        return _latest_rows(connection, view, source, start, end, threads)
    except duckdb.BinderException as exc:
        available = _columns(connection, source.path)
        connection.close()
        raise InvalidInput(
            f"feature view {view.name!r}: its Parquet files at {source.path} do not match its "
            f"definition ({str(exc).splitlines()[0]}); the files have columns {available}",
            detail={"feature_view": view.name, "columns": available}) from None
    except BaseException:
        connection.close()
        raise


def _columns(connection: duckdb.DuckDBPyConnection, path: str) -> list[str]:
    try:
        rows = connection.execute("DESCRIBE SELECT * FROM read_parquet(?, union_by_name = true)",
                                  [path]).fetchall()
    except duckdb.Error:
        return []
    return [str(row[0]) for row in rows]


def _latest_rows(connection: duckdb.DuckDBPyConnection, view: ViewSpec, source: ParquetSource,
                 start: datetime | None, end: datetime | None,
                 threads: int | None) -> LatestRows:
    if threads:
        connection.execute(f"SET threads = {int(threads)}")
    connection.execute("SET TimeZone = 'UTC'")
    # Files written at different times (a push with fewer columns, a schema that grew) are
    # read by column name; a column missing from a file reads as null.
    reader = "read_parquet(?, union_by_name = true)"
    keys = [] if view.entityless else list(view.join_key_names)
    select = [f"{quote(source.column_for(k))} AS {quote(k)}" for k in keys]
    select += [f"{quote(source.column_for(f))} AS {quote(f)}" for f in view.features]
    ts = quote(source.timestamp_field)
    select.append(f"{ts}::TIMESTAMPTZ AS {EVENT_TS}")
    # Bounds are cast to the column's own type (pandas writes nanosecond timestamps), so the
    # comparison stays on the raw column and row groups are still skipped by their statistics.
    ts_type = _column_type(connection, reader, source.path, ts)
    where = [f"{ts} IS NOT NULL"]
    params: list[object] = [source.path]
    if start is not None:
        where.append(f"{ts} >= CAST(? AS {ts_type})")
        params.append(start)
    if end is not None:
        where.append(f"{ts} <= CAST(? AS {ts_type})")
        params.append(end)
    order = [f"{ts} DESC"]
    if source.created_timestamp_column:
        order.append(f"{quote(source.created_timestamp_column)} DESC NULLS LAST")
    partition = ", ".join(quote(source.column_for(k)) for k in keys)
    group_by = f" GROUP BY {partition}" if partition else ""
    over = f"PARTITION BY {partition} " if partition else ""
    # Phase 1 reads only keys and event times to find the oldest of the per-entity maxima;
    # phase 2 then skips every Parquet row group older than that (min/max statistics), so
    # the wide feature columns are read for little more than the rows that win.
    floor_row = connection.execute(
        f"SELECT min(m) FROM (SELECT max({ts}) AS m FROM {reader} "  # noqa: S608
        f"WHERE {' AND '.join(where)}{group_by})",
        params,
    ).fetchall()[0]
    if floor_row[0] is not None:
        where.append(f"{ts} >= CAST(? AS {ts_type})")
        params.append(floor_row[0])
    query = (
        f"CREATE TEMP TABLE latest AS SELECT {', '.join(select)} "  # noqa: S608 - quoted identifiers
        f"FROM {reader} WHERE {' AND '.join(where)} "
        f"QUALIFY row_number() OVER ({over}ORDER BY {', '.join(order)}) = 1"
    )
    connection.execute(query, params)
    (count,) = connection.execute("SELECT count(*) FROM latest").fetchall()[0]
    return LatestRows(count=int(count), connection=connection)


def _column_type(connection: duckdb.DuckDBPyConnection, reader: str, path: str,
                 column: str) -> str:
    """DuckDB's name for a column's type (its own output, safe to splice into a CAST)."""
    described = connection.execute(
        f"DESCRIBE SELECT {column} FROM {reader}", [path]).fetchall()  # noqa: S608
    type_name = str(described[0][1])
    if not all(part.isalnum() or part in " _()," for part in type_name):
        raise ValueError(f"unexpected column type {type_name!r} for {column}")
    return type_name
