"""`featurebank training-set`: build one locally (no server), or re-run a manifest.

    featurebank training-set --entities rows.parquet --features stats:rate --out train.parquet
    featurebank training-set --feature-service s --spine-view labels --start … --end … --out …
    featurebank training-set --rerun out/manifest.json --out again.parquet

The output directory gets `entities.parquet` and `manifest.json` beside `--out` (the manifest
is what `--rerun` reads), and the set is recorded (without its rows) under the data directory
where the API records its jobs, so the catalog's lineage and usage show it. `--out` itself is
the data file, in the format its extension names (`.parquet`, `.csv` or `.json`, the same
renderings as the HTTP download); any other extension is refused before any work is done.
"""

from __future__ import annotations

import shutil
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from featurebank.cli.common import console, friendly_errors, load_settings, parse_time
from featurebank.definitions import load_definitions
from featurebank.errors import InvalidInput, UnknownName
from featurebank.feast_repo import open_store
from featurebank.training import export, jobs
from featurebank.training import manifest as manifests
from featurebank.training.engine import Progress as EngineProgress
from featurebank.training.features import select_features
from featurebank.training.spine import (
    DEFAULT_TIMESTAMP,
    SpineSpec,
    build_spine,
    prepare_spine,
    read_spine_file,
)

OUT_FORMATS = {".parquet": "parquet", ".csv": "csv", ".json": "json"}


def out_format(out: Path) -> str:
    """The format `--out` asks for by its extension."""
    fmt = OUT_FORMATS.get(out.suffix.lower())
    if fmt is None:
        raise InvalidInput(f"--out {out.name!r}: the extension picks the format; use .parquet, "
                           f".csv or .json", detail={"out": out.name})
    return fmt


def deliver(parquet: Path, out: Path, fmt: str) -> None:
    """Put the Parquet training set at `out` in `fmt`; if `fmt` cannot carry a column, the
    Parquet file stays where it is and the error says where."""
    if fmt == "parquet":
        shutil.move(parquet, out)
        return
    try:
        export.write_file(parquet, out, fmt)
    except InvalidInput as exc:
        raise InvalidInput(f"--out {out.name!r}: {exc.message.split(';')[0]}; use a .parquet "
                           f"--out (the rows are kept in {parquet})", detail=exc.detail) from None
    parquet.unlink()


def _record(data_path: Path, manifest: manifests.Manifest, entity_rows: int) -> None:
    """Record the set where the API records its jobs, so the catalog's lineage and usage show
    it; the set is built either way, so a data directory that cannot be written only warns."""
    try:
        jobs.record_built(data_path, manifest, entity_rows)
    except OSError as exc:
        console.print(f"[yellow]warning:[/yellow] training set {manifest.id} is not recorded "
                      f"in {data_path} for the catalog: {exc}")


def _bar(progress: Progress, task: TaskID) -> EngineProgress:
    def report(phase: str, fraction: float) -> None:
        progress.update(task, completed=fraction * 100, description=phase)

    return report


def training_set_command(
    out: Annotated[Path, typer.Option(
        help="where to write the training set; .parquet, .csv or .json picks the format")],
    entities: Annotated[Path | None, typer.Option(help="entity rows (.parquet or .csv)")] = None,
    features: Annotated[list[str] | None, typer.Option("--features", "--feature",
                                                       help="view:feature (repeatable)")] = None,
    feature_service: Annotated[str | None, typer.Option(help="a feature service")] = None,
    full_feature_names: Annotated[bool, typer.Option(help="name columns view__feature")] = False,
    timestamp_column: Annotated[str, typer.Option(help="entity time column")] = DEFAULT_TIMESTAMP,
    spine_view: Annotated[str | None, typer.Option(help="build the spine from this view")] = None,
    spine_mode: Annotated[str, typer.Option(help="label (its events) or active (grid)")] = "label",
    start: Annotated[str | None, typer.Option(help="spine start (ISO-8601)")] = None,
    end: Annotated[str | None, typer.Option(help="spine end (ISO-8601)")] = None,
    every: Annotated[float | None, typer.Option(help="grid step in seconds (active)")] = None,
    plan: Annotated[str, typer.Option(help="auto, asof, range or bucket")] = "auto",
    rerun: Annotated[Path | None, typer.Option(help="re-run this manifest.json")] = None,
) -> None:
    """Build a point-in-time correct training set with DuckDB, or re-run a manifest."""
    settings = load_settings()
    with friendly_errors():
        fmt = out_format(out)
        definitions = load_definitions(open_store(settings))
        with Progress(TextColumn("{task.description:<10}"), BarColumn(),
                      TextColumn("{task.percentage:>3.0f}%"), TimeElapsedColumn(),
                      console=console) as progress:
            task = progress.add_task("preparing", total=100)
            if rerun is not None:
                built = out if fmt == "parquet" else out.with_name(f".{out.name}.parquet")
                try:
                    report = manifests.rerun(rerun, definitions, built,
                                             progress=_bar(progress, task))
                except BaseException:
                    if built != out:
                        built.unlink(missing_ok=True)
                    raise
                if built != out:
                    deliver(built, out, fmt)
            else:
                selection = select_features(definitions, features=features,
                                            service=feature_service,
                                            full_feature_names=full_feature_names)
                spec = None
                if spine_view is not None:
                    view = definitions.views.get(spine_view)
                    if view is None:
                        raise UnknownName("feature view", spine_view,
                                          known=sorted(definitions.views))
                    start_at, end_at = parse_time(start, "--start"), parse_time(end, "--end")
                    if start_at is None or end_at is None:
                        raise InvalidInput("--spine-view needs --start and --end")
                    spine_spec = SpineSpec(mode=spine_mode, view=spine_view, start=start_at,
                                           end=end_at,
                                           every=timedelta(seconds=every) if every else None)
                    table = build_spine(view, spine_spec, max_rows=settings.max_training_rows,
                                        timestamp_column=timestamp_column)
                    spec = spine_spec.describe()
                elif entities is not None:
                    table = read_spine_file(entities, text_columns=selection.key_types().keys())
                else:
                    raise InvalidInput("give --entities FILE, --spine-view VIEW or --rerun FILE")
                spine = prepare_spine(table, selection, max_rows=settings.max_training_rows,
                                      timestamp_column=timestamp_column)
                directory = out.parent / f"{out.stem}.training-set"
                manifest = manifests.build(directory, uuid.uuid4().hex, definitions, selection,
                                           spine, timestamp_column=timestamp_column,
                                           spine_spec=spec, plan=plan,
                                           progress=_bar(progress, task))
                shutil.rmtree(directory / "tmp", ignore_errors=True)
                deliver(directory / manifests.OUTPUT_FILE, out, fmt)
                _record(settings.data_path, manifest, spine.num_rows)
    if rerun is not None:
        state = "identical" if report.identical else "different"
        console.print(f"re-ran {rerun}: output is [bold]{state}[/bold] ({report.output_sha256})")
        for change in report.changes:
            console.print(f"  • {change}")
        raise typer.Exit(0 if report.identical else 3)
    console.print(f"wrote {manifest.row_count:,} rows x {len(manifest.columns)} columns to {out} "
                  f"({manifest.plan} plan, {manifest.timings.get('total_s', 0):.2f}s); "
                  f"manifest {directory / manifests.MANIFEST_FILE}")


def register_commands(app: typer.Typer) -> None:
    app.command(name="training-set")(training_set_command)
