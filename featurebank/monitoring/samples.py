"""The sides drift compares, as DuckDB relations: served logs, a history window, a training set.

Every sample names each feature's value by SQL (see `distributions.Sample`), so one counting
routine serves all three:

* served logs: the `<view>__<feature>` columns of the rows logged in the window; a row counts
  for a feature when its `__status` is set (the request asked for it) and has a value only when
  the status is PRESENT, so NOT_FOUND and OUTSIDE_MAX_AGE count as served nulls;
* history: the view's offline Parquet rows with event time in the window, each feature read
  through the source's field_mapping. A windowed aggregation has no column there (history
  holds the raw events), so it is recomputed at each event's time in the window by the
  training-set join (`featurebank.training`), exactly as a training set would see it;
* a training set: the columns of its `data.parquet`, named as its manifest says.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb
import pyarrow as pa

from featurebank.aggregations import aggregations_of
from featurebank.definitions import Definitions, ViewSpec
from featurebank.errors import InvalidInput
from featurebank.monitoring import log_layout
from featurebank.monitoring.distributions import Column, FeatureKey, Sample, is_monitored
from featurebank.monitoring.logs_window import TABLE, LoggedWindow
from featurebank.offline.latest import quote
from featurebank.offline.sources import offline_source
from featurebank.training import jobs
from featurebank.training import manifest as manifests
from featurebank.training.engine import retrieve
from featurebank.training.features import select_features
from featurebank.training.snapshot import resolve_files

AGGREGATION_SPINE_MAX = 200_000
"""Event times sampled per aggregated view to recompute its aggregations over a window."""
SPINE_TS = "__monitor_ts"
_SET_ID = re.compile(r"^[0-9a-f]{32}$")
CLI_SUFFIX = ".training-set"
"""`featurebank training-set --out x.parquet` keeps its manifest in `x.training-set/`."""


def monitored_features(definitions: Definitions) -> list[FeatureKey]:
    """Every scalar feature of every feature view, in registry order."""
    return [(view.name, feature.name) for view in definitions.views.values()
            for feature in view.features.values() if is_monitored(feature.value_type)]


def logged_sample(definitions: Definitions, logs: LoggedWindow) -> Sample:
    """Served values from the window's log table (see `logs_window`)."""
    present = logs.columns
    columns: dict[FeatureKey, Column] = {}
    for view, feature in monitored_features(definitions):
        value = log_layout.value_column(view, feature)
        status = log_layout.status_column(view, feature)
        if value in present and status in present:
            columns[(view, feature)] = Column(
                value=f"CASE WHEN {quote(status)} = {int(log_layout.FieldStatus.PRESENT)} "
                      f"THEN {quote(value)} END",
                counted=f"{quote(status)} IS NOT NULL")
    return Sample(relation=TABLE, columns=columns)


def _aggregated_relation(connection: duckdb.DuckDBPyConnection, definitions: Definitions,
                         view: ViewSpec, files: list[str], start: datetime, end: datetime,
                         work: Path) -> str | None:
    """Recompute the view's aggregations at (a sample of) its event times in the window."""
    source = offline_source(view)
    keys = [] if view.entityless else list(view.join_key_names)
    ts = f"{quote(source.timestamp_field)}::TIMESTAMPTZ"
    picked = [f"{quote(source.column_for(k))} AS {quote(k)}" for k in keys]
    sql = (f"SELECT {', '.join([*picked, f'{ts} AS {SPINE_TS}'])} "  # noqa: S608
           f"FROM read_parquet($files, union_by_name = true) "
           f"WHERE {ts} >= $start AND {ts} < $end "
           f"USING SAMPLE reservoir({AGGREGATION_SPINE_MAX} ROWS) REPEATABLE (7)")
    spine: pa.Table = connection.sql(
        sql, params={"files": files, "start": start, "end": end}).to_arrow_table()
    if spine.num_rows == 0:
        return None
    spine = spine.cast(pa.schema([
        pa.field(SPINE_TS, pa.timestamp("us", tz="UTC")) if f.name == SPINE_TS else f
        for f in spine.schema]))
    names = [a.name for a in aggregations_of(view)]
    selection = select_features(definitions, features=[f"{view.name}:{n}" for n in names])
    out = work / f"aggregated-{len(list(work.glob('aggregated-*')))}.parquet"
    retrieve(selection, spine, out, timestamp_column=SPINE_TS, temp_dir=work / "tmp")
    return out.as_posix()


def history_samples(connection: duckdb.DuckDBPyConnection, definitions: Definitions,
                    start: datetime, end: datetime, work: Path,
                    views: set[str] | None = None) -> list[Sample]:
    """One sample per view with offline history, rows with event time in [start, end)."""
    samples: list[Sample] = []
    wanted = monitored_features(definitions)
    for index, view in enumerate(definitions.views.values()):
        if views is not None and view.name not in views:
            continue
        try:
            source = offline_source(view)
        except InvalidInput:
            continue  # not a Parquet source: nothing to read offline
        files = resolve_files(source)
        if not files:
            continue
        aggregated = {a.name for a in aggregations_of(view)}
        plain = [f for v, f in wanted if v == view.name and f not in aggregated]
        if plain:
            ts = f"{quote(source.timestamp_field)}::TIMESTAMPTZ"
            relation = (f"(SELECT * FROM read_parquet($hf{index}, union_by_name = true) "  # noqa: S608
                        f"WHERE {ts} >= $hs{index} AND {ts} < $he{index})")
            samples.append(Sample(
                relation=relation,
                columns={(view.name, f): Column(quote(source.column_for(f))) for f in plain},
                params={f"hf{index}": files, f"hs{index}": start, f"he{index}": end}))
        windowed = [f for v, f in wanted if v == view.name and f in aggregated]
        if windowed:
            path = _aggregated_relation(connection, definitions, view, files, start, end, work)
            if path is not None:
                samples.append(Sample(
                    relation=f"read_parquet($ag{index})",
                    columns={(view.name, f): Column(quote(f)) for f in windowed},
                    params={f"ag{index}": path}))
    return samples


@dataclass(frozen=True)
class TrainingReference:
    manifest: manifests.Manifest
    data: Path


def find_training_set(data_path: Path, ref: str) -> TrainingReference:
    """A training set by id (under the data dir) or by the path of its manifest or directory."""
    if _SET_ID.match(ref):
        directory = jobs.job_dir(data_path, ref)
    else:
        given = Path(ref)
        directory = given.parent if given.name == manifests.MANIFEST_FILE else given
    path = directory / manifests.MANIFEST_FILE
    if not path.is_file():
        raise InvalidInput(f"reference training set {ref!r}: no {manifests.MANIFEST_FILE} "
                           f"(in {directory})", detail={"reference": ref})
    manifest = manifests.Manifest.load(path)
    data = directory / manifest.output_file
    if not data.is_file():
        data = _delivered(directory) or data
    if not data.is_file():
        hint = ("built by `featurebank training-set`? pass the path of its manifest, next to "
                "the Parquet file it wrote" if _SET_ID.match(ref)
                else "still building, or failed?")
        raise InvalidInput(f"reference training set {ref!r}: its data file {data.name} is "
                           f"missing ({hint})", detail={"reference": ref})
    return TrainingReference(manifest=manifest, data=data)


def _delivered(directory: Path) -> Path | None:
    """Where `featurebank training-set --out <stem>.parquet` put the rows: beside the
    `<stem>.training-set/` directory that holds the manifest (the CLI moves the data out)."""
    if not directory.name.endswith(CLI_SUFFIX) or len(directory.name) == len(CLI_SUFFIX):
        return None
    found = directory.parent / f"{directory.name[:-len(CLI_SUFFIX)]}.parquet"
    return found if found.is_file() else None


def training_sample(definitions: Definitions, reference: TrainingReference) -> Sample:
    """The features a training set holds, read from its data file."""
    manifest = reference.manifest
    wanted = set(monitored_features(definitions))
    columns: dict[FeatureKey, Column] = {}
    for ref in manifest.feature_refs:
        view, _, feature = ref.partition(":")
        name = f"{view}__{feature}" if manifest.full_feature_names else feature
        if (view, feature) in wanted and name in manifest.columns:
            columns[(view, feature)] = Column(quote(name))
    return Sample(relation="read_parquet($training_data)", columns=columns,
                  params={"training_data": reference.data.as_posix()})
