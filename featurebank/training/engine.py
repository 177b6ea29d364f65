"""Running a point-in-time join: spine in, Parquet out, never the whole result in Python.

The spine is registered with DuckDB as Arrow (zero copy) with a row id; the join (see `plan`)
is one statement ordered by that id. Without on-demand views DuckDB `COPY`s it straight to
Parquet (parallel encoding; this was a third of the time at 1M rows when done in Python).
With them, the result streams back in record batches, Feast's own `transform_arrow` runs per
batch and `ParquetSink` writes fixed row groups. Memory is bounded by DuckDB's operators
(which spill to the job's temp directory) plus one row group.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from feast.type_map import feast_value_type_to_pa

from featurebank.errors import FeatureBankError, InvalidInput
from featurebank.training.features import Selection, shown_name
from featurebank.training.plan import ROW, SPINE_TS, build_query, choose_plans
from featurebank.training.sink import ROW_GROUP_ROWS, ParquetSink, file_sha256
from featurebank.training.snapshot import FileStamp, resolve_files, stamp
from featurebank.training.spine import DEFAULT_TIMESTAMP

BATCH_ROWS = 65_536
Progress = Callable[[str, float], None]


@dataclass
class RetrievalResult:
    path: Path
    rows: int
    columns: list[str]
    plan: str
    output_sha256: str
    files: dict[str, list[FileStamp]]
    timings: dict[str, float] = field(default_factory=dict)


def _no_progress(phase: str, fraction: float) -> None:
    return None


def _declared_types(selection: Selection) -> dict[str, pa.DataType]:
    """Arrow types of every output as declared in Feast, for columns with no data to type."""
    types: dict[str, pa.DataType] = {}
    for read in selection.reads:
        for feature, column in read.columns:
            types[column] = feast_value_type_to_pa(read.view.features[feature].value_type)
    for odfv in selection.odfvs:
        for feat in odfv.features:
            prefix = shown_name(odfv.projection)
            name = f"{prefix}__{feat.name}" if selection.full_feature_names else feat.name
            types[name] = feast_value_type_to_pa(feat.dtype.to_value_type())
    return types


class _BatchShaper:
    """Names, ODFV outputs, hidden-column removal and stable types for every batch."""

    def __init__(self, selection: Selection, aliases: dict[str, str], timestamp_column: str,
                 spine_columns: list[str]) -> None:
        self.selection = selection
        self.aliases = aliases
        self.timestamp_column = timestamp_column
        self.spine_columns = spine_columns
        self.types = _declared_types(selection)
        self.order = [*spine_columns, *selection.outputs]

    def shape(self, batch: pa.RecordBatch) -> pa.Table:
        names = [self.aliases.get(n, self.timestamp_column if n == SPINE_TS else n)
                 for n in batch.schema.names]
        table = pa.Table.from_batches([batch]).rename_columns(names)
        for odfv in self.selection.odfvs:
            try:
                transformed = odfv.transform_arrow(table, self.selection.full_feature_names)
            except Exception as exc:  # a user transformation failing is a bad-input problem
                raise InvalidInput(f"on-demand feature view {odfv.name!r} failed: "
                                   f"{type(exc).__name__}: {exc}",
                                   detail={"on_demand_feature_view": odfv.name}) from exc
            for name in transformed.column_names:
                if name in self.selection.outputs and name not in table.column_names:
                    table = table.append_column(name, transformed.column(name))
        columns = []
        for name in self.order:
            column = table.column(name)
            if name in self.types and column.type != self.types[name] and (
                    pa.types.is_null(column.type) or name not in self.aliases.values()):
                column = pc.cast(column, self.types[name])
            columns.append(column)
        return pa.Table.from_arrays(columns, names=self.order)


def _stream(connection: duckdb.DuckDBPyConnection, sql: str, params: dict[str, Any],
            shaper: _BatchShaper, out: Path, total: int, report: Progress,
            timings: dict[str, float]) -> int:
    """Batches through Python (ODFVs, types for views without data) into `ParquetSink`."""
    t0 = time.perf_counter()
    reader: pa.RecordBatchReader = connection.execute(sql, params).to_arrow_reader(BATCH_ROWS)
    sink: ParquetSink | None = None
    written = 0
    for batch in reader:
        timings.setdefault("join_s", time.perf_counter() - t0)
        table = shaper.shape(batch)
        if sink is None:
            sink = ParquetSink(out, table.schema)
        for piece in table.to_batches():
            sink.write(piece)
        written += table.num_rows
        report("writing", written / max(total, 1))
    if sink is None:
        empty = pa.RecordBatch.from_pylist([], schema=reader.schema)
        sink = ParquetSink(out, shaper.shape(empty).schema)
    sink.close()
    return written


def _copy(connection: duckdb.DuckDBPyConnection, sql: str, params: dict[str, Any], out: Path,
          report: Progress) -> int:
    """`COPY (join) TO out`: DuckDB encodes row groups on all threads, nothing enters Python.

    Row groups are a fixed `ROW_GROUP_ROWS` and the input is ORDER BY the row id, so the file
    depends only on the rows (a re-run is byte-identical). Snappy, not zstd: zstd cost 0.4
    CPU-s per million 28-feature rows here for little gain on float features. A side thread
    relays DuckDB's progress; `query_progress` is safe to call while the query runs.
    """
    target = str(out).replace("'", "''")
    done = threading.Event()

    def relay() -> None:
        while not done.wait(0.5):
            fraction = connection.query_progress()
            if fraction >= 0:
                report("joining", min(fraction / 100, 1.0))

    watcher = threading.Thread(target=relay, daemon=True)
    watcher.start()
    try:
        row = connection.execute(
            f"COPY ({sql}) TO '{target}' (FORMAT parquet, COMPRESSION snappy, "
            f"ROW_GROUP_SIZE {ROW_GROUP_ROWS})", params).fetchone()
    finally:
        done.set()
        watcher.join()
    return int(row[0]) if row else 0


def retrieve(selection: Selection, spine: pa.Table, out: Path, *,
             timestamp_column: str = DEFAULT_TIMESTAMP, plan: str = "auto",
             progress: Progress | None = None, threads: int | None = None,
             temp_dir: Path | None = None) -> RetrievalResult:
    """Join `spine` (already `prepare_spine`d) against the selection; write `out`.

    One SQL statement per training set. Without on-demand views (and with data for every view)
    DuckDB writes the Parquet file itself; otherwise batches stream through `_BatchShaper`.
    """
    report = progress or _no_progress
    timings: dict[str, float] = {}
    started = time.perf_counter()
    files = {read.view.name: resolve_files(read.source) for read in selection.reads}
    stamps = {name: stamp(paths) for name, paths in files.items()}
    counts = [sum(pq.read_metadata(path).num_rows for path in files[r.view.name])
              for r in selection.reads] if plan == "auto" else [0] * len(selection.reads)
    plans = choose_plans(spine.num_rows, selection, counts, plan)
    has_files = [bool(files[r.view.name]) for r in selection.reads]
    spine_columns = list(spine.column_names)
    registered_names = [SPINE_TS if n == timestamp_column else n for n in spine_columns]
    direct = not selection.odfvs and all(has_files)
    query = build_query(selection, plans, has_files,
                        list(zip(registered_names, spine_columns, strict=True)) if direct else None)
    registered = spine.rename_columns(registered_names).append_column(
        ROW, pa.array(np.arange(spine.num_rows, dtype=np.int64)))
    bounds = pc.min_max(spine.column(timestamp_column)).as_py() if spine.num_rows else {}
    params: dict[str, Any] = dict(query.params)
    params["max_ts"] = bounds.get("max")
    params["min_ts"] = bounds.get("min")
    for i, read in enumerate(selection.reads):
        params[f"files{i}"] = files[read.view.name]
    params = {k: v for k, v in params.items() if f"${k}" in query.sql}
    timings["prepare_s"] = time.perf_counter() - started

    shaper = _BatchShaper(selection, query.output_aliases, timestamp_column, spine_columns)
    connection = duckdb.connect()
    t0 = time.perf_counter()
    try:
        connection.execute("SET TimeZone = 'UTC'")
        if threads:
            connection.execute(f"SET threads = {int(threads)}")
        if temp_dir is not None:
            temp_dir.mkdir(parents=True, exist_ok=True)
            connection.execute("SET temp_directory = ?", [str(temp_dir)])
        connection.register("spine", registered)
        report("joining", 0.0)
        try:
            if direct:
                written = _copy(connection, query.sql, params, out, report)
            else:
                written = _stream(connection, query.sql, params, shaper, out, spine.num_rows,
                                  report, timings)
        except duckdb.ConversionException as exc:
            raise InvalidInput(f"entity key values do not match the feature data's key types: "
                               f"{exc}") from None
    finally:
        connection.close()
    timings.setdefault("join_s", time.perf_counter() - t0)
    timings["write_s"] = time.perf_counter() - t0 - timings["join_s"]
    if written != spine.num_rows:  # the whole point: never drop or duplicate a row
        raise FeatureBankError(f"join produced {written} rows for {spine.num_rows} entity rows")
    t1 = time.perf_counter()
    digest = file_sha256(out)
    timings["hash_s"] = time.perf_counter() - t1
    timings["total_s"] = time.perf_counter() - started
    report("done", 1.0)
    return RetrievalResult(path=out, rows=written, columns=shaper.order, plan=query.plan,
                           output_sha256=digest, files=stamps, timings=timings)
