"""A feature service that serves a view under another name (`view.with_name("alias")`) logs its
values as `<alias>__<feature>`: monitoring must read them as the view's, or every lookup made
through such a service is invisible to consistency, drift and freshness."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from featurebank.definitions import load_definitions
from featurebank.feast_repo import apply_repo, open_store
from featurebank.monitoring.log_layout import FieldStatus
from featurebank.monitoring.run import run_monitoring
from featurebank.settings import Settings
from tests.integration.monitoring.monitoring_repo import (
    ACTIVITY_TYPES,
    DEFINITIONS,
    MonitoringRepo,
    activity_table,
)
from tests.support.repos import write_repo

pytestmark = pytest.mark.integration

SERVICES = '''
from feast import FeatureService
scoring = FeatureService(name="scoring",
                         features=[activity.with_name("act")[["amount", "segment"]]])
'''
NOW = datetime(2026, 1, 10, 12, 0, tzinfo=UTC)
EVENT = NOW - timedelta(hours=2)
USERS = range(1, 21)
SKEWED = 5


@pytest.fixture
def aliased_repo(tmp_path: Path, settings_factory: Callable[..., Settings],
                 unique_name: str) -> MonitoringRepo:
    settings = settings_factory(write_repo(tmp_path, unique_name, DEFINITIONS + SERVICES))
    settings.data_path.mkdir(parents=True, exist_ok=True)
    apply_repo(settings)
    return MonitoringRepo(settings=settings, definitions=load_definitions(open_store(settings)),
                          data=settings.data_path)


def test_values_served_under_a_projection_alias_are_measured_as_the_view(
        aliased_repo: MonitoringRepo) -> None:
    aliased_repo.write_history("activity", activity_table([
        {"user_id": u, "amount": float(u), "clicks": u, "segment": f"s{u % 2}", "flag": True,
         "ts": EVENT} for u in USERS]))
    served: list[dict[Any, Any]] = [{"user_id": u, "at": NOW - timedelta(minutes=10),
               ("act", "amount"): (float(u) + (1.0 if u == SKEWED else 0.0), EVENT,
                                   FieldStatus.PRESENT),
               ("act", "segment"): (f"s{u % 2}", EVENT, FieldStatus.PRESENT)} for u in USERS]
    aliased_repo.write_logs(served, {("act", "amount"): ACTIVITY_TYPES["amount"],
                                     ("act", "segment"): ACTIVITY_TYPES["segment"]},
                            log_name="scoring")

    report = run_monitoring(aliased_repo.settings, window=timedelta(hours=1), now=NOW,
                            definitions=aliased_repo.definitions, save=False)

    consistency = {c.feature: c for c in report.consistency if c.view == "activity"}
    assert set(consistency) == {"amount", "segment"}
    assert (consistency["amount"].rows, consistency["amount"].matched) == (20, 19)
    assert [e.join_key["user_id"] for e in consistency["amount"].examples] == [SKEWED]
    assert consistency["segment"].matched == 20
    drift = {d.feature: d for d in report.drift if d.view == "activity"}
    assert drift["amount"].rows_current == 20  # the served values, not the (empty) window
    freshness = {f.view: f for f in report.freshness}
    assert freshness["activity"].newest_event == "2026-01-10T10:00:00Z"
