"""What every command shares: settings loading, the console and error reporting."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape

from featurebank.errors import FeatureBankError
from featurebank.settings import Settings

# soft_wrap: a line longer than the terminal (or than 80 columns when piped) stays one line, so
# an error stays greppable and a printed command can be copied whole. No emoji codes: rich
# would turn a message's ":secret:" (the API key form) into a picture.
console = Console(stderr=True, soft_wrap=True, emoji=False)
out = Console(soft_wrap=True, emoji=False)


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment, with CLI flags taking precedence."""
    try:
        values = {k: v for k, v in overrides.items() if v is not None}
        return Settings(**values)  # type: ignore[arg-type]
    except ValidationError as exc:
        console.print(f"[red]error:[/red] {escape(describe_settings_error(exc))}")
        raise typer.Exit(2) from None


def describe_settings_error(exc: ValidationError) -> str:
    """One line naming the variable and what is wrong with it (pydantic's wording trimmed)."""
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first.get("loc", ())) or "settings"
    message = str(first.get("msg", "invalid value")).removeprefix("Value error, ")
    if where in message:
        return f"bad configuration: {message}"
    return f"bad configuration {where}: {message}"


@contextmanager
def friendly_errors() -> Iterator[None]:
    """Turn expected failures into one red line and exit code 1 (2 for bad input)."""
    try:
        yield
    except FeatureBankError as exc:
        console.print(f"[red]error:[/red] {escape(exc.message)}")
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
        console.print(f"[red]error:[/red] {escape(option)} {escape(repr(value))} is not an "
                      "ISO-8601 time (e.g. 2024-05-01T00:00:00Z)")
        raise typer.Exit(2) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
