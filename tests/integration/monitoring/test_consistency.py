"""Must-show: served values against history at request time. A skew injected into history for
K keys is found for exactly those keys; TTL, field_mapping and created-time ties are the
training join's; missing and extra are told apart."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa
import pytest

from featurebank.monitoring.log_layout import FieldStatus
from featurebank.monitoring.report import FeatureConsistency, MonitorReport
from featurebank.monitoring.run import run_monitoring
from tests.integration.monitoring.monitoring_repo import (  # noqa: F401 - *_fixture: fixtures
    ACTIVITY_TYPES,
    MonitoringRepo,
    activity_table,
    monitoring_repo_fixture,
    payments_table,
)

pytestmark = pytest.mark.integration

NOW = datetime(2026, 1, 10, 12, 0, tzinfo=UTC)
WINDOW = timedelta(hours=1)
OLD = NOW - timedelta(hours=20)  # beyond the view's 12h TTL at request time
RECENT = NOW - timedelta(hours=5)
USERS = range(1, 41)
SKEWED = {7, 19, 33}
FEATURES = {("activity", name): kind for name, kind in ACTIVITY_TYPES.items()}


def _recent(user: int, skew: bool = False) -> dict[str, Any]:
    return {"user_id": user, "amount": user * 10 + 0.5 + (1.0 if skew else 0.0),
            "clicks": user + 100, "segment": f"s{user % 3}" + ("x" if skew else ""),
            "flag": user % 2 == 0, "ts": RECENT}


def _history(skewed: set[int]) -> list[dict[str, Any]]:
    old = [{"user_id": u, "amount": float(u), "clicks": u, "segment": "old", "flag": False,
            "ts": OLD} for u in USERS]
    return old + [_recent(u, skew=u in skewed) for u in USERS]


def _served(user: int, at: datetime, status: FieldStatus = FieldStatus.PRESENT,
            features: tuple[str, ...] = tuple(ACTIVITY_TYPES)) -> dict[Any, Any]:
    row = _recent(user)
    present = status == FieldStatus.PRESENT
    return {"user_id": user, "at": at, **{
        ("activity", name): (row[name] if present else None, RECENT if present else None,
                             status) for name in features}}


def _run(repo: MonitoringRepo) -> MonitorReport:
    return run_monitoring(repo.settings, window=WINDOW, now=NOW, parts=("consistency",),
                          definitions=repo.definitions)


def _by_feature(report: MonitorReport) -> dict[str, FeatureConsistency]:
    return {f"{c.view}:{c.feature}": c for c in report.consistency}


def test_skewed_history_is_found_for_exactly_the_skewed_keys(
        monitoring_repo: MonitoringRepo) -> None:
    monitoring_repo.write_history("activity", activity_table(_history(skewed=set())))
    monitoring_repo.write_logs(
        [_served(u, NOW - timedelta(minutes=30) + timedelta(seconds=u)) for u in USERS],
        FEATURES)

    clean_report = _run(monitoring_repo)
    clean = _by_feature(clean_report)
    for name in ("activity:amount", "activity:clicks", "activity:segment", "activity:flag"):
        assert (clean[name].rows, clean[name].matched) == (40, 40), clean[name]
        assert clean[name].examples == []
    assert clean["activity:amount"].smape == 0.0
    assert clean_report.breaches == []

    # Offline history is rewritten for K keys: what training now sees is not what was served.
    monitoring_repo.write_history("activity", activity_table(_history(skewed=SKEWED)))
    report = _run(monitoring_repo)
    found = _by_feature(report)

    amount = found["activity:amount"]
    assert (amount.rows, amount.matched, amount.missing, amount.extra) == (40, 37, 0, 0)
    assert amount.match_rate == pytest.approx(37 / 40)
    assert {e.join_key["user_id"] for e in amount.examples} == SKEWED
    by_user = {e.join_key["user_id"]: e for e in amount.examples}
    assert by_user[7].served == 70.5
    assert by_user[7].recomputed == 71.5
    assert by_user[7].request_time == "2026-01-10T11:30:07Z"
    assert amount.smape is not None
    assert amount.smape > 0
    segment = found["activity:segment"]
    assert {e.join_key["user_id"] for e in segment.examples} == SKEWED
    assert segment.smape is None
    for name in ("activity:clicks", "activity:flag"):
        assert found[name].matched == 40
    breaches = {(b.kind, b.feature, b.metric) for b in report.breaches}
    assert breaches == {("consistency", "amount", "match_rate"),
                        ("consistency", "segment", "match_rate")}


def test_ttl_ties_missing_and_extra(monitoring_repo: MonitoringRepo) -> None:
    at = NOW - timedelta(minutes=10)
    rows = [
        # 1: only a row older than the TTL offline, yet a value was served -> missing
        {"user_id": 1, "amount": 1.0, "clicks": 1, "segment": "a", "flag": True, "ts": OLD},
        # 2: history has a value, serving said NOT_FOUND -> extra
        _recent(2),
        # 3: only an expired row; serving said OUTSIDE_MAX_AGE -> both null, a match
        {"user_id": 3, "amount": 3.0, "clicks": 3, "segment": "a", "flag": True, "ts": OLD},
        # 4: two rows at the same event time: the later created one is the value
        _recent(4) | {"amount": -1.0, "created": RECENT},
        _recent(4) | {"created": RECENT + timedelta(minutes=1)},
        # 5: asked only for amount
        _recent(5),
        # 6: an event after the request does not count
        _recent(6),
        _recent(6) | {"amount": 999.0, "ts": at + timedelta(minutes=1)},
    ]
    monitoring_repo.write_history("activity", activity_table(rows))
    served = [
        _served(1, at) | {("activity", "amount"): (1.0, OLD, FieldStatus.PRESENT)},
        _served(2, at, FieldStatus.NOT_FOUND),
        _served(3, at, FieldStatus.OUTSIDE_MAX_AGE),
        _served(4, at),
        _served(5, at, features=("amount",)),
        _served(6, at),
    ]
    monitoring_repo.write_logs(served, FEATURES)
    # A request outside the window is not looked at.
    monitoring_repo.write_logs([_served(2, NOW - timedelta(hours=3))], FEATURES)

    found = _by_feature(_run(monitoring_repo))
    amount = found["activity:amount"]
    assert (amount.rows, amount.matched, amount.missing, amount.extra) == (6, 4, 1, 1)
    assert {e.join_key["user_id"]: (e.served, e.recomputed) for e in amount.examples} == {
        1: (1.0, None), 2: (None, 20.5)}
    clicks = found["activity:clicks"]
    assert (clicks.rows, clicks.matched, clicks.missing, clicks.extra) == (5, 3, 1, 1)


def test_stream_aggregations_are_recomputed_from_raw_events(
        monitoring_repo: MonitoringRepo) -> None:
    """A stream view's windowed aggregation is compared with its value recomputed from the raw
    events of its batch source over (request time - window, request time]."""
    at = NOW - timedelta(minutes=20)
    events = [(u, at - timedelta(minutes=m), float(u * 10 + m))
              for u in range(1, 6) for m in (5, 30, 59, 61, 120)]  # 61 and 120: outside 1h
    monitoring_repo.write_history("payments", payments_table(events))
    served = []
    for user in range(1, 6):
        total = sum(v for u, t, v in events if u == user and at - timedelta(hours=1) < t <= at)
        if user == 4:
            total += 61 * 1.0  # served a sum that counted the 61-minute-old event
        served.append({"user_id": user, "at": at, ("spend_windows", "sum_spend_3600s"): (
            total, at - timedelta(minutes=5), FieldStatus.PRESENT)})
    monitoring_repo.write_logs(served, {("spend_windows", "sum_spend_3600s"): pa.float64()})

    found = _by_feature(_run(monitoring_repo))["spend_windows:sum_spend_3600s"]
    assert (found.rows, found.matched, found.missing, found.extra) == (5, 4, 0, 0)
    assert [(e.join_key, e.served, e.recomputed) for e in found.examples] == [
        ({"user_id": 4}, 40 * 3 + 94 + 61.0, 40 * 3 + 94.0)]
