"""Users of the real CLI see no third-party warnings (Feast's experimental notes, DuckDB's)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.integration, pytest.mark.slow]


def featurebank(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "featurebank.cli.main", *args], env=env,
                          capture_output=True, text=True, timeout=300, check=False, cwd=ROOT)


def test_apply_materialize_and_training_set_print_no_warnings(tmp_path: Path,
                                                              redis_url: str) -> None:
    # The demo repo has stream and on-demand views (Feast warns on both at every load) and a
    # label view to build a spine from (DuckDB warns on its Arrow fetch).
    env = {**os.environ, "FEATUREBANK_REPO": str(ROOT / "feature_repo"),
           "FEATUREBANK_DATA_DIR": str(tmp_path / "data"), "REDIS_URL": redis_url}
    env.pop("PYTHONWARNINGS", None)
    steps = [
        ["demo-data", "--scale", "0.02"],
        ["apply"],
        ["materialize", "--views", "driver_profile"],
        ["training-set", "--features", "driver_profile:vehicle_class",
         "--spine-view", "driver_hourly_stats", "--start", "2000-01-01",
         "--end", "2100-01-01", "--out", str(tmp_path / "train.parquet")],
    ]
    for args in steps:
        done = featurebank(args, env)
        assert done.returncode == 0, (args, done.stderr)
        assert "Warning" not in done.stderr, (args, done.stderr)
    assert (tmp_path / "train.parquet").stat().st_size > 0
