"""The import string uvicorn uses (`server.main:app_factory`) so it can spawn workers."""

from __future__ import annotations

from fastapi import FastAPI

from featurebank.cli.quiet import quiet_known_warnings
from featurebank.settings import Settings
from server.app import create_app


def app_factory() -> FastAPI:
    # `serve --workers N` spawns fresh interpreters that never run the CLI's entry point.
    quiet_known_warnings()
    return create_app(Settings())
