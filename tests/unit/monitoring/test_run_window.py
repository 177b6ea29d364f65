"""Window lengths a user can type but datetime arithmetic cannot hold are bad input (exit 2),
not a traceback (exit 1)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from featurebank.errors import InvalidInput
from featurebank.monitoring.run import parse_window, run_monitoring
from featurebank.settings import Settings


def test_a_window_too_long_for_a_timedelta_is_refused_by_name() -> None:
    with pytest.raises(InvalidInput, match="'99999999999d' is too long"):
        parse_window("99999999999d")


def test_a_window_reaching_before_year_one_is_refused_before_any_work(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, FEATUREBANK_DATA_DIR=str(tmp_path),  # type: ignore[call-arg]
                        FEATUREBANK_REPO=str(tmp_path / "no-repo"))
    window = parse_window("999999d")
    assert window == timedelta(days=999999)
    with pytest.raises(InvalidInput, match="reaches back before year 1"):
        run_monitoring(settings, window=window)
    assert not (tmp_path / "monitoring").exists()
