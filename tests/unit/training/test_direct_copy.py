"""The direct `COPY ... TO` path: names as given, input order, fixed row groups, byte-identical.

Without on-demand views DuckDB writes the file itself; the spine here spans several row groups
and is joined on two threads so ordering and row-group boundaries are really exercised. The
bucket and ASOF plans must agree cell for cell on the same rows.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
from feast import Entity, FeatureView, Field, FileSource
from feast.types import Float64, Int64

from featurebank.definitions import Definitions, compile_view
from featurebank.training.engine import RetrievalResult, retrieve
from featurebank.training.features import select_features
from featurebank.training.sink import ROW_GROUP_ROWS
from featurebank.training.spine import prepare_spine

T0 = datetime(2024, 1, 1, tzinfo=UTC)
SPINE_ROWS = 2 * ROW_GROUP_ROWS + 1234


def _definitions(root: Path) -> Definitions:
    data = root / "hourly"
    data.mkdir()
    connection = duckdb.connect()
    connection.execute("SET TimeZone = 'UTC'")
    for part in (0, 1):  # the second file repeats some (key, time) pairs: ties across files
        connection.execute(f"""COPY (SELECT k.range AS driver_id,
            TIMESTAMPTZ '2024-01-01 00:00:00+00' + to_seconds(h.range * 3600) AS ts,
            random() AS value FROM range(40) k, range({200 - 150 * part}) h)
            TO '{data}/part-{part}.parquet' (FORMAT parquet)""")
    entity = Entity(name="driver", join_keys=["driver_id"])
    view = FeatureView(
        name="hourly", entities=[entity], ttl=timedelta(hours=3),
        schema=[Field(name="driver_id", dtype=Int64), Field(name="value", dtype=Float64)],
        source=FileSource(name="hourly_src", path=f"{data}/*.parquet", timestamp_field="ts"))
    return Definitions(project="p", version="x",
                       views={"hourly": compile_view(view, "p", {"driver": entity})},
                       on_demand={}, services={}, entities={"driver": entity}, data_sources={})


def _spine() -> pa.Table:
    rows = range(SPINE_ROWS)
    return pa.table({
        "driver_id": pa.array([(i * 7919) % 45 for i in rows], pa.int64()),  # 40-44: no data
        'when "it" happened': pa.array(
            [T0 + timedelta(seconds=(i * 104729) % (210 * 3600)) for i in rows],
            pa.timestamp("us", tz="UTC")),
        "label": pa.array(rows, pa.int64()),
    })


def test_direct_copy_keeps_names_order_and_bytes(tmp_path: Path) -> None:
    definitions = _definitions(tmp_path)
    selection = select_features(definitions, features=["hourly:value"])
    spine = prepare_spine(_spine(), selection, max_rows=SPINE_ROWS,
                          timestamp_column='when "it" happened')
    outputs: list[tuple[RetrievalResult, Path]] = []
    for plan in ("bucket", "asof", "bucket"):
        out = tmp_path / f"{plan}-{len(outputs)}.parquet"
        result = retrieve(selection, spine, out, plan=plan, threads=2,
                          timestamp_column='when "it" happened')
        assert result.rows == SPINE_ROWS
        outputs.append((result, out))

    (first, path), (asof, asof_path), (again, _) = outputs
    assert first.plan == "bucket"
    assert asof.plan == "asof"
    assert first.output_sha256 == again.output_sha256  # a re-run is byte-identical
    table = pq.read_table(path)
    assert table.column_names == ["driver_id", 'when "it" happened', "label", "value"]
    assert table.column("label").to_pylist() == list(range(SPINE_ROWS))
    assert table.schema.field('when "it" happened').type == pa.timestamp("us", tz="UTC")
    metadata = pq.read_metadata(path)
    assert [metadata.row_group(i).num_rows for i in range(metadata.num_row_groups)] == [
        ROW_GROUP_ROWS, ROW_GROUP_ROWS, 1234]
    values = table.column("value")
    assert values.equals(pq.read_table(asof_path).column("value"))
    assert 0 < values.null_count < SPINE_ROWS  # keys without data and too-old rows are null
