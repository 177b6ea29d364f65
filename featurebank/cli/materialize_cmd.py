"""`featurebank materialize`: offline Parquet → Redis with a progress bar."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import redis
import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from featurebank.cli.common import console, friendly_errors, load_settings, parse_time
from featurebank.definitions import load_definitions
from featurebank.errors import DependencyUnavailable
from featurebank.feast_repo import open_store
from featurebank.materialize import MaterializeProgress, materialize


class _Bar(MaterializeProgress):
    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.tasks: dict[str, object] = {}

    def view_started(self, view: str, rows: int) -> None:
        self.tasks[view] = self.progress.add_task(view, total=rows)

    def advanced(self, view: str, rows: int) -> None:
        self.progress.advance(self.tasks[view], rows)  # type: ignore[arg-type]


def materialize_command(
    start: Annotated[str | None, typer.Option(help="earliest event time (ISO-8601)")] = None,
    end: Annotated[
        str | None, typer.Option(help="latest event time (ISO-8601), default now")
    ] = None,
    views: Annotated[
        list[str] | None,
        typer.Option("--views", "--view", help="feature views (default: all online)"),
    ] = None,
) -> None:
    """Load the newest offline row per entity of each view into Redis (Feast's layout)."""
    settings = load_settings()
    start_at = parse_time(start, "--start")
    end_at = parse_time(end, "--end") or datetime.now(UTC)
    with friendly_errors():
        definitions = load_definitions(open_store(settings))
        client = redis.Redis.from_url(settings.redis_url, socket_timeout=30,
                                      socket_connect_timeout=5)
        try:
            client.ping()
        except redis.exceptions.ConnectionError:
            raise DependencyUnavailable(
                f"Redis at {settings.redis_url} does not answer; start it or set REDIS_URL"
            ) from None
        with Progress(TextColumn("{task.description:<28}"), BarColumn(), MofNCompleteColumn(),
                      TimeElapsedColumn(), console=console) as progress:
            reports = materialize(definitions, client, views=views, start=start_at, end=end_at,
                                  progress=_Bar(progress))
    for report in reports:
        console.print(f"  {report.view}: {report.rows:,} entities, {report.written:,} written "
                      f"(query {report.query_s:.2f}s, write {report.write_s:.2f}s)")
    if not reports:
        console.print("[yellow]no online feature view has offline data to materialize[/yellow]")


def register_commands(app: typer.Typer) -> None:
    app.command(name="materialize")(materialize_command)
