"""The lookup endpoint as a client sees it: order, statuses, limits and every bad input."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import redis
from fastapi.testclient import TestClient

from featurebank.materialize import materialize
from server.app import create_app
from tests.integration.online.conftest import SampleRepo

WRITE_KEY = "w" * 20
READ_KEY = "r" * 20


@pytest.fixture
def client(sample_repo: SampleRepo, redis_client: redis.Redis) -> Iterator[TestClient]:
    materialize(sample_repo.definitions, redis_client)
    with TestClient(create_app(sample_repo.settings)) as test_client:
        yield test_client


def post(client: TestClient, body: object) -> tuple[int, dict]:
    response = client.post("/get-online-features", json=body)
    return response.status_code, response.json()


def test_features_come_back_in_request_order(client: TestClient) -> None:
    features = ["region_stats:demand", "account_stats:tier", "pair_stats:spend",
                "account_stats:balance"]
    status, body = post(client, {"features": features, "full_feature_names": True,
                                 "entities": {"account_id": [1, 2], "region_code": ["north"] * 2}})
    assert status == 200
    assert body["metadata"]["feature_names"] == [
        "account_id", "region_code", "region_stats__demand", "account_stats__tier",
        "pair_stats__spend", "account_stats__balance"]
    assert body["results"][2]["values"] == [1.5, 1.5]
    assert body["results"][4]["values"] == [10.0, 30.0]


def test_feature_service_and_string_keys(client: TestClient) -> None:
    status, body = post(client, {"feature_service": "scoring_v1",
                                 "entities": {"account_id": [3], "region_code": ["wést"]}})
    assert status == 200
    assert body["metadata"]["feature_names"] == ["account_id", "region_code", "balance", "tier",
                                                 "demand"]
    assert body["results"][4]["values"] == [4.5]


def test_missing_entity_is_not_found_and_stale_is_outside_max_age(client: TestClient) -> None:
    status, body = post(client, {"features": ["account_stats:visits", "account_recent:visits"],
                                 "full_feature_names": True,
                                 "entities": {"account_id": [1, 123456]}})
    assert status == 200
    fresh, stale = body["results"][1], body["results"][2]
    assert fresh["statuses"] == ["PRESENT", "NOT_FOUND"]
    assert fresh["values"][1] is None
    assert stale["statuses"] == ["OUTSIDE_MAX_AGE", "NOT_FOUND"]  # 1 h TTL, data 2 h+ old
    assert stale["values"] == [None, None]
    assert stale["event_timestamps"][0] != "1970-01-01T00:00:00Z"


@pytest.mark.parametrize(("body", "status", "needle"), [
    ({"features": ["nope:x"], "entities": {"account_id": [1]}}, 422, "nope"),
    ({"features": ["account_stats:nope"], "entities": {"account_id": [1]}}, 422,
     "account_stats:nope"),
    ({"feature_service": "ghost", "entities": {"account_id": [1]}}, 422, "ghost"),
    ({"features": ["account_stats:tier"], "entities": {"acct": [1]}}, 422, "acct"),
    ({"features": ["account_stats:tier"], "entities": {"account_id": ["x1"]}}, 422, "account_id"),
    ({"features": ["account_stats:tier"], "entities": {}}, 422, "entities"),
    ({"features": ["account_stats:tier"], "entities": {"account_id": 1}}, 422, "account_id"),
    ({"features": "account_stats:tier", "entities": {"account_id": [1]}}, 422, "features"),
    ({"features": ["account_stats"], "entities": {"account_id": [1]}}, 422, "account_stats"),
    ({"features": ["account_stats:tier"], "entities": {"account_id": [1]}, "extra": 1}, 422,
     "extra"),
    ({"features": ["account_stats:tier", "account_recent:visits", "account_stats:visits"],
      "entities": {"account_id": [1]}}, 422, "visits"),
    ({"features": ["pair_stats:spend"], "entities": {"account_id": [1, 2],
                                                       "region_code": ["north"]}}, 422,
     "region_code"),
    ({"features": ["account_stats:tier"], "entities": {"account_id": list(range(1001))}}, 413,
     "1001"),
])
def test_bad_requests_name_the_offending_value(client: TestClient, body: dict, status: int,
                                               needle: str) -> None:
    got_status, payload = post(client, body)
    assert got_status == status
    assert needle in payload["error"]["message"]


def test_invalid_json_is_a_422(client: TestClient) -> None:
    response = client.post("/get-online-features", content=b"{not json",
                           headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert "JSON" in response.json()["error"]["message"]


def test_oversized_body_is_a_413(client: TestClient) -> None:
    response = client.post("/get-online-features", content=b"x" * (9 * 1024 * 1024))
    assert response.status_code == 413


def test_redis_outage_is_a_fast_503(sample_repo: SampleRepo) -> None:
    settings = sample_repo.settings.model_copy(update={"redis_url": "redis://127.0.0.1:1/0"})
    with TestClient(create_app(settings)) as client:
        began = time.monotonic()
        status, body = post(client, {"features": ["account_stats:tier"],
                                     "entities": {"account_id": [1]}})
        elapsed = time.monotonic() - began
        health = client.get("/health")
    assert status == 503
    assert body["error"]["code"] == "dependency_unavailable"
    assert elapsed < 5
    assert health.status_code == 503
    assert health.json()["dependencies"]["redis"]["status"] == "down"


def test_read_key_required_when_configured(sample_repo: SampleRepo) -> None:
    settings = sample_repo.settings.model_copy(update={"require_read_key": True})
    settings = type(settings)(
        _env_file=None, **{**_aliases(settings),
                           "FEATUREBANK_API_KEYS": f"app:{READ_KEY}:read,ops:{WRITE_KEY}:write"})
    body = {"features": ["account_stats:tier"], "entities": {"account_id": [1]}}
    with TestClient(create_app(settings)) as client:
        assert client.post("/get-online-features", json=body).status_code == 401
        wrong = client.post("/get-online-features", json=body, headers={"x-api-key": "z" * 20})
        assert wrong.status_code == 401
        assert "z" * 20 not in wrong.text
        ok = client.post("/get-online-features", json=body, headers={"x-api-key": READ_KEY})
        assert ok.status_code == 200
        bearer = client.post("/get-online-features", json=body,
                             headers={"authorization": f"Bearer {WRITE_KEY}"})
        assert bearer.status_code == 200


def _aliases(settings: object) -> dict[str, object]:
    return {
        "FEATUREBANK_REPO": str(settings.repo),  # type: ignore[attr-defined]
        "FEATUREBANK_DATA_DIR": str(settings.data_dir),  # type: ignore[attr-defined]
        "REDIS_URL": settings.redis_url,  # type: ignore[attr-defined]
        "FEATUREBANK_REQUIRE_READ_KEY": True,
        "FEATUREBANK_REGISTRY_REFRESH_S": 0,
    }


def test_health_reports_each_dependency(client: TestClient) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    deps = response.json()["dependencies"]
    assert deps["redis"]["status"] == "ok"
    assert deps["registry"]["feature_views"] == 4
    assert "kafka" in deps


def test_redis_that_never_answers_is_a_bounded_503(sample_repo: SampleRepo) -> None:
    """A hung Redis (accepts, never replies) must not hang lookups: 503 within the timeout."""
    import socket
    import threading

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    port = listener.getsockname()[1]
    settings = sample_repo.settings.model_copy(
        update={"redis_url": f"redis://127.0.0.1:{port}/0", "redis_timeout_s": 0.3})
    try:
        with TestClient(create_app(settings)) as client:
            for _ in range(2):  # the second request reconnects after the first timed out
                began = time.monotonic()
                status, body = post(client, {"features": ["account_stats:tier"],
                                             "entities": {"account_id": [1]}})
                assert status == 503
                assert "did not answer" in body["error"]["message"]
                assert time.monotonic() - began < 2
    finally:
        stop.set()
        thread.join()
        for conn in accepted:
            conn.close()
        listener.close()


def test_metrics_count_lookups_by_status_and_feature(client: TestClient) -> None:
    post(client, {"features": ["account_stats:tier"], "entities": {"account_id": [1]}})
    post(client, {"features": ["account_stats:tier"], "entities": {"account_id": [1]}})
    post(client, {"features": ["nope:x"], "entities": {"account_id": [1]}})
    text = client.get("/metrics").text
    assert "featurebank_online_requests_total" in text
    lines = [line for line in text.splitlines() if line.startswith("featurebank_")]
    assert any('status="200"' in line and line.endswith(" 2.0") for line in lines), lines
    assert any('status="422"' in line and line.endswith(" 1.0") for line in lines), lines
    assert any('feature="account_stats:tier"' in line and line.endswith(" 2.0") for line in lines)
    assert any(line.startswith("featurebank_online_request_seconds_count") and
               line.endswith(" 3.0") for line in lines)


def test_every_unknown_feature_is_named_with_close_matches(client: TestClient) -> None:
    status, body = post(client, {"features": ["account_stats:balanse", "account_stats:tier",
                                              "region_stats:demnd", "acount_stats:visits",
                                              "account_stats:zzzzzz"],
                                 "entities": {"account_id": [1], "region_code": ["north"]}})
    assert status == 422
    error = body["error"]
    assert error["code"] == "unknown_name"
    assert error["detail"]["names"] == ["account_stats:balanse", "region_stats:demnd",
                                        "acount_stats:visits", "account_stats:zzzzzz"]
    assert error["detail"]["suggestions"] == {
        "account_stats:balanse": ["account_stats:balance"],
        "region_stats:demnd": ["region_stats:demand"],
        "acount_stats:visits": ["account_stats:visits"],
        "account_stats:zzzzzz": [],  # not "did you mean" every feature of the view
    }
    assert "'region_stats:demnd' (did you mean: region_stats:demand)" in error["message"]


def test_every_unknown_entity_key_is_named_with_close_matches(client: TestClient) -> None:
    status, body = post(client, {"features": ["account_stats:tier", "region_stats:demand"],
                                 "entities": {"account_idd": [1], "region_code": ["north"],
                                              "zzz": [1]}})
    assert status == 422
    error = body["error"]
    assert error["detail"]["join_keys"] == ["account_idd", "zzz"]
    assert error["detail"]["suggestions"] == {"account_idd": ["account_id"], "zzz": []}
    assert error["message"].startswith("entities has 'account_idd' (did you mean: account_id), "
                                       "'zzz', not a join key")
