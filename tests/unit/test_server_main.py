"""The worker entry point (`server.main:app_factory`) that `serve --workers N` processes run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from server.app import create_app

ROOT = Path(__file__).resolve().parents[2]
_PROBE = """
import warnings
from server.main import app_factory
app_factory()
warnings.warn_explicit("Stream feature views are experimental", RuntimeWarning,
                       "stream_feature_view.py", 1, module="feast.stream_feature_view")
warnings.warn_explicit("something new", RuntimeWarning, "other.py", 1, module="other")
"""


def test_workers_filter_the_warnings_the_cli_filters(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-c", _PROBE], cwd=ROOT, capture_output=True,
                          text=True, timeout=120,
                          env={"PATH": "/usr/bin:/bin", "FEATUREBANK_DATA_DIR": str(tmp_path)})
    assert done.returncode == 0, done.stderr
    assert "experimental" not in done.stderr
    assert "something new" in done.stderr


def test_redoc_is_not_routed() -> None:
    """ReDoc has no local assets: offline it would be a blank page."""
    app = create_app()
    paths = {getattr(route, "path", "") for route in app.routes}
    assert "/redoc" not in paths
