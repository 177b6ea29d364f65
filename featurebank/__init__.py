"""Feature Bank: the shared core used by the API server, the stream processor and the CLI."""

__version__ = "0.1.0"
