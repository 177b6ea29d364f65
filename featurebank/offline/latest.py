"""The newest row per entity of a view's Parquet history, computed by DuckDB."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

import duckdb
import pyarrow as pa

from featurebank.definitions import ViewSpec
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
    if threads:
        connection.execute(f"SET threads = {int(threads)}")
    keys = [] if view.entityless else list(view.join_key_names)
    select = [f"{quote(source.column_for(k))} AS {quote(k)}" for k in keys]
    select += [f"{quote(source.column_for(f))} AS {quote(f)}" for f in view.features]
    ts = quote(source.timestamp_field)
    select.append(f"{ts}::TIMESTAMPTZ AS {EVENT_TS}")
    where = [f"{ts} IS NOT NULL"]
    params: list[object] = [source.path]
    if start is not None:
        where.append(f"{ts} >= ?")
        params.append(start)
    if end is not None:
        where.append(f"{ts} <= ?")
        params.append(end)
    order = [f"{ts} DESC"]
    if source.created_timestamp_column:
        order.append(f"{quote(source.created_timestamp_column)} DESC NULLS LAST")
    partition = ", ".join(quote(source.column_for(k)) for k in keys) or "1"
    connection.execute("SET TimeZone = 'UTC'")
    # Phase 1 reads only keys and event times to find the oldest of the per-entity maxima;
    # phase 2 then skips every Parquet row group older than that (min/max statistics), so
    # the wide feature columns are read for little more than the rows that win.
    floor_row = connection.execute(
        f"SELECT min(m) FROM (SELECT max({ts}) AS m FROM read_parquet(?) "  # noqa: S608
        f"WHERE {' AND '.join(where)} GROUP BY {partition})",
        params,
    ).fetchall()[0]
    if floor_row[0] is not None:
        where.append(f"{ts} >= ?")
        params.append(floor_row[0])
    query = (
        f"CREATE TEMP TABLE latest AS SELECT {', '.join(select)} "  # noqa: S608 - quoted identifiers
        f"FROM read_parquet(?) WHERE {' AND '.join(where)} "
        f"QUALIFY row_number() OVER (PARTITION BY {partition} ORDER BY {', '.join(order)}) = 1"
    )
    connection.execute(query, params)
    (count,) = connection.execute("SELECT count(*) FROM latest").fetchall()[0]
    return LatestRows(count=int(count), connection=connection)
