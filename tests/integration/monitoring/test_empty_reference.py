"""A reference the user names that holds no data would make every drift check pass silently
(exit 0, "-" everywhere): it is bad input naming the reference. The default reference of a
young deployment (no history yet) stays quiet: the periodic job must not fail on it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from featurebank.errors import InvalidInput
from featurebank.monitoring.run import run_monitoring
from featurebank.settings import Settings
from tests.integration.monitoring.monitoring_repo import (
    MonitoringRepo,
    activity_table,
    build_monitoring_repo,
)

pytestmark = pytest.mark.integration

NOW = datetime(2026, 1, 10, 12, 0, tzinfo=UTC)


@pytest.fixture
def monitoring_repo(tmp_path: Path, settings_factory: Callable[..., Settings],
                    unique_name: str) -> MonitoringRepo:
    repo = build_monitoring_repo(tmp_path, settings_factory, unique_name)
    repo.write_history("activity", activity_table([
        {"user_id": u, "amount": float(u), "clicks": u, "segment": "a", "flag": True,
         "ts": NOW - timedelta(days=1, minutes=u)} for u in range(1, 30)]))
    return repo


def _drift(repo: MonitoringRepo, reference: str | None) -> list[str]:
    report = run_monitoring(repo.settings, window=timedelta(hours=1), now=NOW,
                            reference=reference, parts=("drift",),
                            definitions=repo.definitions, save=False)
    return [f"{d.view}:{d.feature}" for d in report.drift if d.rows_reference]


def test_a_named_reference_span_without_history_is_bad_input(
        monitoring_repo: MonitoringRepo) -> None:
    empty = "history:2020-01-01T00:00:00Z/2020-01-02T00:00:00Z"
    with pytest.raises(InvalidInput, match="holds no rows of any monitored feature") as caught:
        _drift(monitoring_repo, empty)
    assert caught.value.detail == {"reference": empty}


def test_a_named_reference_with_history_and_the_default_one_run(
        monitoring_repo: MonitoringRepo) -> None:
    start, end = NOW - timedelta(days=2), NOW - timedelta(hours=1)
    span = f"history:{start.isoformat()}/{end.isoformat()}"
    assert "activity:amount" in _drift(monitoring_repo, span)
    assert "activity:amount" in _drift(monitoring_repo, None)
    # A deployment whose history is younger than the window: the default reference is empty.
    young = run_monitoring(monitoring_repo.settings, window=timedelta(hours=1),
                           now=NOW - timedelta(days=30), parts=("drift",),
                           definitions=monitoring_repo.definitions, save=False)
    assert not any(d.rows_reference for d in young.drift)
