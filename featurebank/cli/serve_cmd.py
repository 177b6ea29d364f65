"""`featurebank serve`: the API server under uvicorn."""

from __future__ import annotations

from typing import Annotated

import typer

from featurebank.cli.common import console, friendly_errors, load_settings
from featurebank.feast_repo import export_feast_environment, load_repo_config


def serve(
    host: Annotated[str, typer.Option(help="interface to bind")] = "127.0.0.1",
    port: Annotated[int | None, typer.Option(
        min=1, max=65535, help="TCP port  [default: FEATUREBANK_PORT or 8000]",
        show_default=False)] = None,
    workers: Annotated[int, typer.Option(min=1, max=64, help="worker processes")] = 1,
    access_log: Annotated[bool, typer.Option(help="log every request")] = False,
) -> None:
    """Serve online lookups, push, training sets, the catalog and the web UI."""
    import uvicorn

    settings = load_settings()
    port = port or settings.port
    export_feast_environment(settings)  # workers inherit the derived variables
    with friendly_errors():  # a missing or broken feature_store.yaml: one line, not a traceback
        load_repo_config(settings)
    console.print(f"serving on http://{host}:{port} (docs at /docs), {workers} worker(s)")
    uvicorn.run("server.main:app_factory", factory=True, host=host, port=port, workers=workers,
                access_log=access_log, log_level="info", loop="uvloop", http="httptools")


def register_commands(app: typer.Typer) -> None:
    app.command()(serve)
