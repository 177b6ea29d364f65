"""`featurebank up` and `featurebank doctor`."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from featurebank.cli.common import console, friendly_errors, load_settings, out
from featurebank.stack.doctor import run_checks
from featurebank.stack.up import StackOptions, run_stack


def up(
    host: Annotated[str, typer.Option(help="interface for the API")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="API port")] = 8000,
    demo_data: Annotated[bool, typer.Option(help="generate demo history when views have none")]
    = True,
    scale: Annotated[float, typer.Option(min=0.01, max=100, help="demo data scale")] = 1.0,
    stream: Annotated[bool, typer.Option(help="run the broker, processor and demo producer")]
    = True,
    rate: Annotated[int, typer.Option(min=0, help="demo events per second")] = 20,
) -> None:
    """Start Redis and the broker if needed, load data, and run the API and processor."""
    settings = load_settings()
    options = StackOptions(host=host, port=port, demo_data=demo_data, scale=scale, stream=stream,
                           producer_rate=rate)
    with friendly_errors():
        code = run_stack(settings, options, lambda line: out.print(line, highlight=False))
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
