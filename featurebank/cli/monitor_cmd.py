"""`featurebank monitor`: consistency, drift and freshness over a window, from the command line.

    featurebank monitor run [--window 1h] [--reference training-set:<id>|history:<start>/<end>]
    featurebank monitor consistency [--window 1h]
    featurebank monitor drift [--window 1h] [--reference ...]

`run` computes everything and persists the report under `<data_dir>/monitoring/runs/` (where
the API, metrics and alerts read it); `consistency` and `drift` print one part without saving,
so a partial run never becomes "the latest run". Exit codes: 0 nothing crossed a threshold,
3 something did (each breach is printed), 2 bad input, 1 failure.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from featurebank.cli.common import console, friendly_errors, load_settings, out
from featurebank.monitoring.report import MonitorReport
from featurebank.monitoring.run import (
    DEFAULT_REFERENCE_SPAN,
    KEEP_RUNS,
    parse_window,
    run_monitoring,
)

BREACHED_EXIT = 3
WindowOption = Annotated[str, typer.Option(
    "--window", help="detection window ending now: 900, 15m, 1h, 1d")]
ReferenceOption = Annotated[str | None, typer.Option(
    "--reference", help="training-set:<id or manifest path> or history:<start>/<end> "
                        f"(default: history of the {DEFAULT_REFERENCE_SPAN.days} days before "
                        "the window)")]

monitor_app = typer.Typer(help="Training/serving consistency, drift and freshness.",
                          no_args_is_help=True)


def _compute(window: str, reference: str | None, parts: tuple[str, ...], save: bool,
             keep: int = KEEP_RUNS) -> MonitorReport:
    settings = load_settings()
    with friendly_errors():
        length = parse_window(window)
        with Progress(TextColumn("{task.description:<13}"), BarColumn(),
                      TextColumn("{task.percentage:>3.0f}%"), TimeElapsedColumn(),
                      console=console) as progress:
            task = progress.add_task("starting", total=100)

            def report(phase: str, fraction: float) -> None:
                progress.update(task, completed=fraction * 100, description=phase)

            return run_monitoring(settings, window=length, reference=reference, parts=parts,
                                  progress=report, save=save, keep=keep)


def _table(title: str, columns: tuple[str, ...]) -> Table:
    """The first column (a feature or view name) is never cut: it is what a reader looks for."""
    table = Table(title=title)
    table.add_column(columns[0], no_wrap=True, overflow="ignore")
    for name in columns[1:]:
        table.add_column(name)
    return table


def _number(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _print_consistency(report: MonitorReport) -> None:
    table = _table(f"consistency {report.window_start} .. {report.window_end}",
                   ("feature", "rows", "match rate", "missing", "extra", "smape", "e.g."))
    for c in report.consistency:
        first = c.examples[0] if c.examples else None
        example = (f"{first.join_key} at {first.request_time}: served {first.served!r}, "
                   f"history {first.recomputed!r}") if first else ""
        table.add_row(f"{c.view}:{c.feature}", str(c.rows), _number(c.match_rate, 4),
                      str(c.missing), str(c.extra), _number(c.smape, 4), example)
    out.print(table if report.consistency else "consistency: no served-value logs in the window")


def _print_drift(report: MonitorReport) -> None:
    table = _table(f"drift {report.window_start} .. {report.window_end} vs {report.reference}",
                   ("feature", "psi", "js", "null rate ref", "null rate now", "rows ref",
                    "rows now"))
    for d in report.drift:
        table.add_row(f"{d.view}:{d.feature}", _number(d.psi), _number(d.js),
                      _number(d.null_rate_reference), _number(d.null_rate_current),
                      str(d.rows_reference), str(d.rows_current))
    out.print(table if report.drift else "drift: no reference data for any feature")


def _print_freshness(report: MonitorReport) -> None:
    # age: p95 of served ages at request time (basis "served"), else the watermark's age
    table = _table("freshness", ("view", "basis", "lookups", "age (s)", "last lookup (s)",
                                 "max (s)", "newest event"))
    for f in report.freshness:
        lookups = "-" if f.served_lookups is None else str(f.served_lookups)
        table.add_row(f.view, f.basis or "-", lookups, _number(f.age_s, 0),
                      _number(f.age_last_s, 0), _number(f.threshold_s, 0), f.newest_event or "-")
    out.print(table)


def _finish(report: MonitorReport, printers: list[Callable[[MonitorReport], None]]) -> None:
    for printer in printers:
        printer(report)
    for breach in report.breaches:
        console.print(f"[red]breach[/red] {breach.kind} {breach.message}")
    if report.breaches:
        raise typer.Exit(BREACHED_EXIT)


@monitor_app.command("run")
def run_command(window: WindowOption = "1h", reference: ReferenceOption = None,
                keep: Annotated[int, typer.Option(min=1, help="runs to keep on disk")] = KEEP_RUNS,
                ) -> None:
    """Run every check over the window and save the report for the API, metrics and alerts."""
    report = _compute(window, reference, ("consistency", "drift", "freshness"), True, keep)
    console.print(f"run {report.run_id}: {len(report.breaches)} breach(es); saved under "
                  "monitoring/runs/")
    _finish(report, [_print_consistency, _print_drift, _print_freshness])


@monitor_app.command("consistency")
def consistency_command(window: WindowOption = "1h") -> None:
    """Served values against history at request time, per feature (not saved)."""
    _finish(_compute(window, None, ("consistency",), False), [_print_consistency])


@monitor_app.command("drift")
def drift_command(window: WindowOption = "1h", reference: ReferenceOption = None) -> None:
    """PSI and Jensen-Shannon of the window against the reference, per feature (not saved)."""
    _finish(_compute(window, reference, ("drift",), False), [_print_drift])


def register_commands(app: typer.Typer) -> None:
    app.add_typer(monitor_app, name="monitor")
