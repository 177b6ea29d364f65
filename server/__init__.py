"""Feature Bank's HTTP service: `create_app(settings)` builds it; nothing connects at import."""

from server.app import create_app

__all__ = ["create_app"]
