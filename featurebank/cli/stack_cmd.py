"""`featurebank up` and `featurebank doctor`."""

from __future__ import annotations

import math
from typing import Annotated

import typer
from rich.table import Table

from featurebank.cli.common import console, friendly_errors, load_settings, out
from featurebank.cli.stream_cmd import MAX_RATE, MIN_RATE
from featurebank.stack.doctor import run_checks
from featurebank.stack.supervisor import print_line
from featurebank.stack.up import StackOptions, run_stack


def _check_rate(value: float) -> float:
    """0 (no demo producer) or a rate `produce-demo` accepts; nan and inf are neither."""
    if value != 0 and not (math.isfinite(value) and MIN_RATE <= value <= MAX_RATE):
        raise typer.BadParameter(f"{value:g} is not 0 (no demo producer) or between "
                                 f"{MIN_RATE:g} and {MAX_RATE:g} events per second")
    return value


def up(
    host: Annotated[str, typer.Option(help="interface for the API")] = "127.0.0.1",
    port: Annotated[int | None, typer.Option(
        min=1, max=65535, help="API port  [default: FEATUREBANK_PORT or 8000]",
        show_default=False)] = None,
    demo_data: Annotated[bool, typer.Option(help="generate demo history when views have none")]
    = True,
    scale: Annotated[float, typer.Option(min=0.01, max=100, help="demo data scale")] = 1.0,
    stream: Annotated[bool, typer.Option(help="run the broker, processor and demo producer")]
    = True,
    rate: Annotated[float, typer.Option(callback=_check_rate,
                                        help="demo events per second (0: no demo producer)")]
    = 20.0,
) -> None:
    """Start Redis and the broker if needed, load data, and run the API and processor.

    Ctrl-C (or SIGTERM, SIGHUP, a closed output pipe) stops everything it started.
    """
    settings = load_settings()
    options = StackOptions(host=host, port=port or settings.port, demo_data=demo_data,
                           scale=scale, stream=stream, producer_rate=rate)
    with friendly_errors():
        code = run_stack(settings, options, print_line)
    raise typer.Exit(code)


def doctor() -> None:
    """List what this machine lacks for Feature Bank and how to fix each."""
    settings = load_settings()
    table = Table("check", "state", "detail", "fix")
    failed = False
    for check in run_checks(settings):
        state = "[green]ok[/green]" if check.ok else (
            "[red]missing[/red]" if check.required else "[yellow]optional[/yellow]")
        failed |= check.required and not check.ok
        table.add_row(check.name, state, check.detail, "" if check.ok else check.fix)
    out.print(table)
    if failed:
        console.print("[red]some required pieces are missing[/red]")
        raise typer.Exit(1)


def register_commands(app: typer.Typer) -> None:
    app.command()(up)
    app.command()(doctor)
