"""Served ages from the window's logs: per lookup request time - event time, PRESENT only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import duckdb
import pytest

from featurebank.monitoring import log_layout
from featurebank.monitoring.freshness import served_ages
from featurebank.monitoring.logs_window import LoggedWindow

T0 = datetime(2026, 1, 10, 12, 0, tzinfo=UTC)
OK = int(log_layout.FieldStatus.PRESENT)
MISSING = int(log_layout.FieldStatus.NOT_FOUND)
FEATURES = ("a", "b")
Row = tuple[datetime, list[tuple[datetime | None, int]]]


def _logs(rows: list[Row]) -> tuple[duckdb.DuckDBPyConnection, LoggedWindow]:
    """A `logs` table of view `v`: per row the request time and per feature (event, status)."""
    connection = duckdb.connect()
    connection.execute("SET TimeZone = 'UTC'")
    names = [log_layout.LOG_TIMESTAMP]
    for f in FEATURES:
        names += [log_layout.timestamp_column("v", f), log_layout.status_column("v", f)]
    columns = ", ".join(f'"{n}" {"INTEGER" if "status" in n else "TIMESTAMPTZ"}' for n in names)
    connection.execute(f"CREATE TEMP TABLE logs ({columns})")
    for at, cells in rows:
        values = [at, *(x for cell in cells for x in cell)]
        connection.execute(f"INSERT INTO logs VALUES ({', '.join('?' * len(values))})", values)
    return connection, LoggedWindow(frozenset(names), len(rows))


def _row(at: datetime, age_s: float, status: int = OK) -> Row:
    event = at - timedelta(seconds=age_s)
    return at, [(event, status), (event, status)]


def test_p95_lets_a_few_slow_lookups_pass_but_not_many() -> None:
    few = [_row(T0 + timedelta(seconds=i), 30) for i in range(97)]
    few += [_row(T0 + timedelta(seconds=200 + i), 5000) for i in range(3)]
    connection, logs = _logs(few)
    ages = served_ages(connection, {"v": FEATURES}, logs)["v"]
    assert ages.lookups == 100
    assert ages.age_p95_s == pytest.approx(30.0)
    assert ages.age_last_s == pytest.approx(5000.0)
    assert ages.last_lookup == T0 + timedelta(seconds=202)

    many = [_row(T0 + timedelta(seconds=i), 30) for i in range(90)]
    many += [_row(T0 + timedelta(seconds=i), 5000) for i in range(10)]
    connection, logs = _logs(many)
    assert served_ages(connection, {"v": FEATURES}, logs)["v"].age_p95_s == pytest.approx(5000.0)


def test_only_present_values_count_and_a_lookup_is_as_old_as_its_oldest_value() -> None:
    at = T0 + timedelta(minutes=5)
    rows: list[Row] = [
        _row(T0, 10),
        _row(at, 99999, status=MISSING),  # a NOT_FOUND answer says nothing about freshness
        (at - timedelta(seconds=1), [(at - timedelta(seconds=40), OK),
                                     (at - timedelta(seconds=400), OK)]),
        (T0, [(T0 + timedelta(seconds=30), OK), (None, MISSING)]),  # clock skew: age 0, not < 0
    ]
    connection, logs = _logs(rows)
    ages = served_ages(connection, {"v": FEATURES}, logs)["v"]
    assert ages.lookups == 3
    assert ages.last_lookup == at - timedelta(seconds=1)
    assert ages.age_last_s == pytest.approx(399.0)
    assert ages.newest_event == T0 + timedelta(seconds=30)


def test_a_view_never_served_present_is_absent() -> None:
    connection, logs = _logs([_row(T0, 10, status=MISSING)])
    assert served_ages(connection, {"v": FEATURES, "other": ("x",)}, logs) == {}
