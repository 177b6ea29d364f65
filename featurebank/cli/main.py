"""Entry point of the `featurebank` console script."""

from __future__ import annotations

import logging

import typer

from featurebank.cli import (
    materialize_cmd,
    monitor_cmd,
    repo_cmd,
    serve_cmd,
    stack_cmd,
    stream_cmd,
    training_cmd,
)
from featurebank.cli.quiet import quiet_known_warnings

app = typer.Typer(
    name="featurebank",
    help="Feature Bank: Feast definitions, Redis online serving, DuckDB training sets.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

for module in (repo_cmd, materialize_cmd, serve_cmd, stack_cmd, training_cmd, stream_cmd,
               monitor_cmd):
    module.register_commands(app)


def run() -> None:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("feast").setLevel(logging.WARNING)  # it logs every registry refresh
    quiet_known_warnings()
    app()


if __name__ == "__main__":
    run()
