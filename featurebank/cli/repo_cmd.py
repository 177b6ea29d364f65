"""`featurebank apply`, `plan` and `demo-data`: the Feast repo and its demo history."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from featurebank.cli.common import console, friendly_errors, load_settings
from featurebank.feast_repo import apply_repo, plan_repo


def apply(
    repo: Annotated[str | None, typer.Option(help="Feast repo directory")] = None,
) -> None:
    """Register the repo's definitions in the registry (like `feast apply`)."""
    settings = load_settings(FEATUREBANK_REPO=repo)
    with friendly_errors():
        output = apply_repo(settings)
    console.print(output.rstrip())
    console.print(f"[green]applied[/green] {settings.repo_path}")


def plan(
    repo: Annotated[str | None, typer.Option(help="Feast repo directory")] = None,
) -> None:
    """Show what `apply` would change (like `feast plan`)."""
    settings = load_settings(FEATUREBANK_REPO=repo)
    with friendly_errors():
        output = plan_repo(settings)
    console.print(output.rstrip())


def demo_data(
    scale: Annotated[float, typer.Option(min=0.01, max=100.0,
                                         help="1 = quick demo; 20 = 10k drivers x 30 days")] = 1.0,
    seed: Annotated[int, typer.Option(help="random seed (same seed, same bytes)")] = 7,
    data_dir: Annotated[str | None, typer.Option(help="where to write Parquet")] = None,
) -> None:
    """Generate the demo catalog's Parquet history into the data directory."""
    from featurebank.demo.generate import generate_demo_data

    settings = load_settings(FEATUREBANK_DATA_DIR=data_dir)
    with Progress(TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(),
                  console=console, transient=True) as progress:
        task = progress.add_task("generating demo data", total=None)

        def advance(*_: object) -> None:
            progress.advance(task)

        counts = generate_demo_data(settings.data_path, scale=scale, seed=seed, progress=advance)
    total = sum(counts.values())
    console.print(f"[green]wrote[/green] {total:,} rows in {len(counts)} files "
                  f"under {settings.data_path}")


def register_commands(app: typer.Typer) -> None:
    app.command()(apply)
    app.command()(plan)
    app.command(name="demo-data")(demo_data)
