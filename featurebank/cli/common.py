"""What every command shares: settings loading, the console and error reporting."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import typer
from pydantic import ValidationError
from rich.console import Console

from featurebank.errors import FeatureBankError
from featurebank.settings import Settings

console = Console(stderr=True)
out = Console()


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment, with CLI flags taking precedence."""
    try:
        values = {k: v for k, v in overrides.items() if v is not None}
        return Settings(**values)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ())) or "settings"
        console.print(f"[red]error:[/red] bad configuration {where}: {first.get('msg')}")
        raise typer.Exit(2) from None


@contextmanager
def friendly_errors() -> Iterator[None]:
    """Turn expected failures into one red line and exit code 1 (2 for bad input)."""
    try:
        yield
    except FeatureBankError as exc:
        console.print(f"[red]error:[/red] {exc.message}")
        raise typer.Exit(2 if exc.status_code < 500 else 1) from None
    except KeyboardInterrupt:
        console.print("interrupted")
        raise typer.Exit(130) from None


def parse_time(value: str | None, option: str) -> datetime | None:
    """An ISO-8601 time from a flag; naive values are taken as UTC."""
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        console.print(f"[red]error:[/red] {option} {value!r} is not an ISO-8601 time "
                      "(e.g. 2024-05-01T00:00:00Z)")
        raise typer.Exit(2) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
