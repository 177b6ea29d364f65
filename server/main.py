"""The import string uvicorn uses (`server.main:app_factory`) so it can spawn workers."""

from __future__ import annotations

from fastapi import FastAPI

from featurebank.settings import Settings
from server.app import create_app


def app_factory() -> FastAPI:
    return create_app(Settings())
