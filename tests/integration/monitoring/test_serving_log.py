"""Served-value logging through the real app and Redis: what lands in Parquet, and what never
happens to a lookup (it is not blocked, failed or changed by logging)."""

from __future__ import annotations

import logging
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa
import pytest
import redis
from fastapi.testclient import TestClient
from feast.feature_logging import FeatureServiceLoggingSource

from featurebank.definitions import Definitions, load_definitions
from featurebank.feast_repo import apply_repo, open_store
from featurebank.materialize import materialize
from featurebank.monitoring import log_layout
from featurebank.monitoring.serving_log_sampler import integer_position, integer_seed
from featurebank.settings import Settings
from server.app import create_app
from tests.support.repos import write_repo
from tests.support.sample_repo import DEFINITIONS, write_sample_data

SERVICES = '''
logged_all = FeatureService(name="logged_all", features=[account_stats[["balance", "visits"]]],
                            tags={"monitor.log_sample_rate": "1"})
logged_none = FeatureService(name="logged_none", features=[account_stats[["balance"]]],
                             tags={"monitor.log_sample_rate": "0"})
bad_tag = FeatureService(name="bad_tag", features=[account_stats[["tier"]]],
                         tags={"monitor.log_sample_rate": "lots"})
'''
ADHOC = ["account_stats:balance", "account_stats:score", "account_stats:visits",
         "account_stats:age_days", "account_stats:tier", "account_stats:is_vip",
         "account_recent:visits", "region_stats:demand", "pair_stats:spend"]
STATUS_CODES = {status.name: status.value for status in log_layout.FieldStatus}


@dataclass
class Repo:
    settings: Settings
    definitions: Definitions


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory, redis_url: str) -> Repo:
    root = tmp_path_factory.mktemp("servelog")
    path = write_repo(root, "s" + uuid.uuid4().hex[:10], DEFINITIONS + SERVICES)
    settings = Settings(_env_file=None, FEATUREBANK_REPO=str(path),  # type: ignore[call-arg]
                        FEATUREBANK_DATA_DIR=str(root / "data"), REDIS_URL=redis_url,
                        FEATUREBANK_REGISTRY_REFRESH_S=0)
    write_sample_data(settings.data_path)
    apply_repo(settings)
    definitions = load_definitions(open_store(settings))
    client = redis.Redis.from_url(redis_url)
    materialize(definitions, client)
    client.close()
    return Repo(settings, definitions)


@pytest.fixture
def app_factory(repo: Repo) -> Iterator[Callable[..., TestClient]]:
    """A TestClient over the app with logging settings overridden; the log dir starts empty."""
    shutil.rmtree(log_layout.log_root(repo.settings.data_path), ignore_errors=True)

    def make(**overrides: object) -> TestClient:
        settings = repo.settings.model_copy(update=overrides)
        return TestClient(create_app(settings))

    yield make
    shutil.rmtree(log_layout.log_root(repo.settings.data_path), ignore_errors=True)


def lookup(client: TestClient, body: dict[str, Any], **headers: str) -> dict[str, Any]:
    response = client.post("/get-online-features", json=body, headers=headers)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def logged(repo: Repo, log_name: str | None = None) -> pa.Table:
    now = datetime.now(UTC)
    return log_layout.read_logs(repo.settings.data_path, now - timedelta(hours=1),
                                now + timedelta(hours=1), log_name)


def metric(client: TestClient, name: str, **labels: str) -> float:
    for line in client.get("/metrics").text.splitlines():
        if line.startswith(name + "{") and all(f'{k}="{v}"' in line for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"metric {name} {labels} not exposed")


def wait_for(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 20
    while not condition():
        assert time.monotonic() < deadline, "the log writer did not get there"
        time.sleep(0.05)


def parse_stamp(text: str) -> datetime | None:
    if text == "1970-01-01T00:00:00Z":
        return None
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_logged_rows_have_feasts_columns_and_equal_the_response(
        repo: Repo, app_factory: Callable[..., TestClient]) -> None:
    accounts = [1, 2, 123456]  # 123456 is not stored: NOT_FOUND
    body = {"features": ADHOC, "full_feature_names": True,
            "entities": {"account_id": accounts, "region_code": ["north", "south", "nowhere"]}}
    with app_factory(log_sample_rate=1.0, log_flush_s=3600, log_flush_rows=10**6) as client:
        answer = lookup(client, body, **{"X-Request-ID": "req-1",
                                         "X-Feature-Consumer": "fraud-model"})
        service_answer = lookup(client, {"feature_service": "scoring_v1",
                                         "entities": {"account_id": [3],
                                                      "region_code": ["wést"]}})
        assert not log_layout.has_logs(repo.settings.data_path)  # nothing flushed yet...
    assert log_layout.has_logs(repo.settings.data_path)  # ...until shutdown

    table = logged(repo, log_layout.ADHOC_LOG)
    columns = {"account_id": pa.int64(), "region_code": pa.string()}
    for ref, arrow_type in zip(ADHOC, [pa.float64(), pa.float32(), pa.int64(), pa.int32(),
                                       pa.string(), pa.bool_(), pa.int64(), pa.float64(),
                                       pa.float64()], strict=True):
        view, feature = ref.split(":")
        columns[log_layout.value_column(view, feature)] = arrow_type
        columns[log_layout.timestamp_column(view, feature)] = pa.timestamp("us", tz="UTC")
        columns[log_layout.status_column(view, feature)] = pa.int32()
    columns.update({"__log_timestamp": pa.timestamp("us", tz="UTC"), "__log_date": pa.date32(),
                    "__request_id": pa.string(), "__consumer": pa.string(),
                    "__feature_service": pa.string()})
    assert {f.name: f.type for f in table.schema} == {
        name: (pa.timestamp("us", tz="Etc/UTC") if t == pa.timestamp("us", tz="UTC") else t)
        for name, t in columns.items()}  # DuckDB names the zone Etc/UTC on the way out

    rows = table.to_pylist()
    assert [r["account_id"] for r in rows] == accounts
    names = answer["metadata"]["feature_names"]
    for ref in ADHOC:
        view, feature = ref.split(":")
        result = answer["results"][names.index(f"{view}__{feature}")]
        assert [r[log_layout.value_column(view, feature)] for r in rows] == pytest.approx(
            result["values"], nan_ok=True)
        assert [r[log_layout.status_column(view, feature)] for r in rows] == [
            STATUS_CODES[s] for s in result["statuses"]]
        assert [r[log_layout.timestamp_column(view, feature)] for r in rows] == [
            parse_stamp(t) for t in result["event_timestamps"]]
    statuses = {r["account_recent__visits__status"] for r in rows}
    assert statuses == {STATUS_CODES["OUTSIDE_MAX_AGE"], STATUS_CODES["NOT_FOUND"]}
    assert {(r["__request_id"], r["__consumer"], r["__feature_service"]) for r in rows} == {
        ("req-1", "fraud-model", "")}
    assert rows[0]["__log_date"] == rows[0]["__log_timestamp"].date()

    # A feature service's log has the columns of Feast's own schema for it, with its types.
    scoring = logged(repo, "scoring_v1")
    feast_schema = FeatureServiceLoggingSource(
        repo.definitions.services["scoring_v1"], repo.definitions.project,
    ).get_schema(open_store(repo.settings).registry)
    for feast_field in feast_schema:
        ours = scoring.schema.field(feast_field.name)
        if pa.types.is_timestamp(feast_field.type):  # Feast: seconds; the layout: microseconds
            assert pa.types.is_timestamp(ours.type)
            assert ours.type.tz is not None
        else:
            assert ours.type == feast_field.type, feast_field.name
    row = scoring.to_pylist()[0]
    assert row["__feature_service"] == "scoring_v1"
    assert row["__consumer"] == "anonymous"
    assert row["account_stats__balance"] == pytest.approx(service_answer["results"][2]["values"][0])
    assert row["region_stats__demand"] == 4.5


def test_a_key_is_always_in_or_always_out(repo: Repo,
                                          app_factory: Callable[..., TestClient]) -> None:
    accounts = list(range(1, 51))
    with app_factory(log_sample_rate=0.5, log_flush_s=3600, log_flush_rows=10**6) as client:
        lookup(client, {"features": ["account_stats:visits"], "entities": {"account_id": accounts}})
        for account in accounts:
            lookup(client, {"features": ["account_stats:visits"],
                            "entities": {"account_id": [account]}})
    table = logged(repo).to_pylist()
    batch = {r["account_id"] for r in table if r["__request_id"].endswith("-1")}
    singles = [r["account_id"] for r in table if not r["__request_id"].endswith("-1")]
    assert 10 < len(batch) < 40
    assert sorted(singles) == sorted(batch)  # each key: in both or in neither
    seed = integer_seed("account_id", repo.definitions.project)
    assert batch == {a for a in accounts if integer_position(a, seed) < 0.5}


def test_a_feature_service_tag_wins_over_the_setting(
        repo: Repo, app_factory: Callable[..., TestClient],
        caplog: pytest.LogCaptureFixture) -> None:
    entities = {"account_id": [1, 2, 3]}
    with app_factory(log_sample_rate=1.0, log_flush_s=3600, log_flush_rows=10**6) as client:
        lookup(client, {"feature_service": "logged_none", "entities": entities})
        with caplog.at_level(logging.WARNING, logger="featurebank.monitoring"):
            lookup(client, {"feature_service": "bad_tag", "entities": entities})
    assert "monitor.log_sample_rate='lots'" in caplog.text
    assert "bad_tag" in caplog.text
    assert not log_layout.has_logs(repo.settings.data_path, "logged_none")
    assert logged(repo, "bad_tag").num_rows == 3  # a bad tag: the global rate, here 1
    with app_factory(log_sample_rate=0.0, log_flush_s=3600, log_flush_rows=10**6) as client:
        lookup(client, {"feature_service": "logged_all", "entities": entities})
        lookup(client, {"features": ["account_stats:visits"], "entities": entities})
    assert logged(repo, "logged_all").column("account_id").to_pylist() == [1, 2, 3]
    assert not log_layout.has_logs(repo.settings.data_path, log_layout.ADHOC_LOG)


def test_a_full_queue_drops_and_counts_instead_of_blocking(
        repo: Repo, app_factory: Callable[..., TestClient]) -> None:
    body = {"features": ["account_stats:visits"], "entities": {"account_id": [1, 2, 3]}}
    with app_factory(log_sample_rate=1.0, log_queue_rows=5, log_flush_s=3600,
                     log_flush_rows=10**6) as client:
        answers = [lookup(client, body) for _ in range(4)]
        assert metric(client, "featurebank_served_log_dropped_total", reason="queue_full") == 9
        assert metric(client, "featurebank_served_log_queued_rows") == 3
    assert all(a == answers[0] for a in answers)
    assert logged(repo).num_rows == 3  # the first request's rows; the others were dropped


def test_a_failing_writer_never_fails_a_lookup_and_is_logged_once(
        repo: Repo, app_factory: Callable[..., TestClient],
        caplog: pytest.LogCaptureFixture) -> None:
    root = log_layout.log_root(repo.settings.data_path)
    root.parent.mkdir(parents=True, exist_ok=True)
    root.write_text("a file where the log directory should be")  # every write fails
    body = {"features": ["account_stats:visits"], "entities": {"account_id": [1, 2]}}
    with (caplog.at_level(logging.ERROR, logger="featurebank.monitoring"),
          app_factory(log_sample_rate=1.0, log_flush_rows=1, log_flush_s=3600) as client):
        for _ in range(3):
            lookup(client, body)
            wait_for(lambda: metric(client, "featurebank_served_log_queued_rows") == 0)
        assert metric(client, "featurebank_served_log_write_errors_total") == 3
        assert metric(client, "featurebank_served_log_dropped_total", reason="write_failed") == 6
        errors = [r for r in caplog.records if r.name == "featurebank.monitoring"]
        assert len(errors) == 1
        assert "could not write 2 rows" in errors[0].getMessage()
        root.unlink()  # the disk is back: the next flush writes
        lookup(client, body)
        wait_for(lambda: metric(client, "featurebank_served_log_rows_total") == 2)
    assert logged(repo).num_rows == 2
