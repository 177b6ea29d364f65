"""The HTTP API and the Python client against a real app (real Redis, real files)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient

from featurebank.client import Client
from featurebank.errors import InvalidInput, LimitExceeded
from featurebank.settings import Settings
from featurebank.training.registry_of_sets import list_training_sets, sets_using
from server.app import create_app
from tests.integration.training.test_training_feast_parity import T0, _entities, _fill
from tests.integration.training.training_repo import TrainingRepo

pytestmark = pytest.mark.integration
SECRET = "s3cret-key-0123456789"
KEY = f"writer:{SECRET}:read+write"


@pytest.fixture
def api(training_repo: TrainingRepo,
        settings_factory: Callable[..., Settings]) -> Iterator[TestClient]:
    _fill(training_repo)
    settings = settings_factory(training_repo.settings.repo, FEATUREBANK_MAX_TRAINING_ROWS=50,
                                FEATUREBANK_API_KEYS=KEY)
    with TestClient(create_app(settings)) as client:
        yield client


def _wait(api: TestClient, set_id: str) -> dict[str, Any]:
    for _ in range(200):
        body: dict[str, Any] = api.get(f"/training-sets/{set_id}").json()
        if body["status"] in ("succeeded", "failed"):
            return body
        time.sleep(0.05)
    raise AssertionError("training set did not finish")


def _json_body(features: list[str]) -> dict[str, Any]:
    frame = _entities()
    return {"entities": {"driver_id": frame["driver_id"].tolist(),
                         "event_timestamp": [t.isoformat() for t in frame["event_timestamp"]],
                         "bonus": frame["bonus"].tolist()},
            "features": features}


def test_json_submit_poll_download(api: TestClient) -> None:
    body = _json_body(["stats:rate", "profile:tier", "adjusted:rate_plus_bonus"])
    assert api.post("/training-sets", json=body).status_code == 401  # write scope needed
    response = api.post("/training-sets", json=body, headers={"x-api-key": SECRET})
    assert response.status_code == 202, response.text
    set_id = response.json()["id"]
    status = _wait(api, set_id)
    assert status["status"] == "succeeded", status
    assert status["rows"] == 10
    manifest = status["manifest"]
    assert manifest["row_count"] == 10
    assert manifest["views"] == ["stats", "profile", "adjusted"]
    assert len(manifest["data_snapshot"]["stats"]) == 2

    parquet = api.get(f"/training-sets/{set_id}/data?format=parquet")
    table = pq.read_table(pa.BufferReader(parquet.content))
    assert table.column("rate").to_pylist()[:4] == [None, 0.1, 0.25, 0.25]
    rows = api.get(f"/training-sets/{set_id}/data?format=json").json()
    assert len(rows) == 10
    assert rows[2]["rate_plus_bonus"] == 1.25
    csv = api.get(f"/training-sets/{set_id}/data?format=csv").text.splitlines()
    assert csv[0].split(",")[:2] == ['"driver_id"', '"event_timestamp"']
    assert len(csv) == 11

    used = sets_using(api.app.state.featurebank.settings.data_path, "stats:rate")  # type: ignore[attr-defined]
    assert [r.id for r in used] == [set_id]
    assert list_training_sets(api.app.state.featurebank.settings.data_path)[0].rows == 10  # type: ignore[attr-defined]


@pytest.mark.parametrize(("change", "status", "named"), [
    ({"features": ["stats:nope"]}, 422, "stats:nope"),
    ({"features": ["ghost:rate"]}, 422, "ghost"),
    ({"feature_service": "nosuch", "features": None}, 422, "nosuch"),
    ({"entities": {"driver_idd": [1], "event_timestamp": ["2024-05-01T00:00:00Z"]}}, 422,
     "driver_id"),
    ({"entities": {"driver_id": [1, 2], "event_timestamp": ["2024-05-01T00:00:00Z", "soon"]}},
     422, "soon"),
    ({"entities": {"driver_id": list(range(60)), "event_timestamp": ["2024-05-01"] * 60}}, 413,
     "50"),
])
def test_bad_requests_name_the_problem(api: TestClient, change: dict[str, Any], status: int,
                                       named: str) -> None:
    body = {**_json_body(["stats:rate"]), **change}
    body = {k: v for k, v in body.items() if v is not None}
    response = api.post("/training-sets", json=body, headers={"x-api-key": SECRET})
    assert response.status_code == status, response.text
    assert named in response.json()["error"]["message"]


def test_unknown_id_is_404(api: TestClient) -> None:
    assert api.get("/training-sets/" + "0" * 32).status_code == 404
    assert api.get("/training-sets/..%2F..%2Fetc").status_code == 404


def test_spine_from_label_view(api: TestClient) -> None:
    spec = {"mode": "label", "view": "stats", "start": T0.isoformat(),
            "end": (T0 + timedelta(hours=4)).isoformat()}
    response = api.post("/training-sets", headers={"x-api-key": SECRET},
                        json={"spine": spec, "features": ["profile:tier"]})
    assert response.status_code == 202, response.text
    status = _wait(api, response.json()["id"])
    assert status["rows"] == 6  # the stats rows with event time in [T0, T0 + 4h]
    assert status["manifest"]["spine"]["mode"] == "label"


def test_python_client_round_trip(api: TestClient) -> None:
    client = Client("http://testserver", api_key=SECRET, http=api)
    frame = _entities()
    result = client.training_set(frame, features=["stats:rate", "stats:trips"])
    assert isinstance(result, pd.DataFrame)
    assert result["row"].tolist() == frame["row"].tolist()
    assert result["trips"].tolist()[:3] == [None, 1, 3] or pd.isna(result["trips"][0])
    with pytest.raises(InvalidInput, match="stats:bogus"):
        client.training_set(frame, features=["stats:bogus"])
    with pytest.raises(LimitExceeded):
        client.training_set(pd.concat([frame] * 6), features=["stats:rate"])


def test_every_unknown_feature_is_named_with_close_matches(api: TestClient) -> None:
    body = _json_body(["stats:rat", "stats:trips", "profile:teir", "stats:zzzz"])
    response = api.post("/training-sets", json=body, headers={"x-api-key": SECRET})
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["detail"]["names"] == ["stats:rat", "profile:teir", "stats:zzzz"]
    assert error["detail"]["suggestions"] == {"stats:rat": ["stats:rate"],
                                              "profile:teir": ["profile:tier"],
                                              "stats:zzzz": []}


def test_json_key_column_mixing_digit_text_and_integers_is_read_as_declared(
        api: TestClient) -> None:
    body = _json_body(["stats:trips"])
    ids = body["entities"]["driver_id"]
    body["entities"]["driver_id"] = [str(v) if i % 2 else v for i, v in enumerate(ids)]
    response = api.post("/training-sets", json=body, headers={"x-api-key": SECRET})
    assert response.status_code == 202, response.text
    assert _wait(api, response.json()["id"])["status"] == "succeeded"
    rows = api.get(f"/training-sets/{response.json()['id']}/data?format=json").json()
    assert [r["driver_id"] for r in rows] == ids

    body["entities"]["driver_id"] = [1, True, *ids[2:]]
    response = api.post("/training-sets", json=body, headers={"x-api-key": SECRET})
    assert response.status_code == 422
    assert response.json()["error"]["message"] == (
        "join key column 'driver_id': True (row 1) is not an integer; the join key is declared "
        "INT64")


def test_python_client_names_a_mixed_column(api: TestClient) -> None:
    client = Client("http://testserver", api_key=SECRET, http=api)
    frame = _entities()
    frame["label"] = ["a", 1] + ["b"] * (len(frame) - 2)
    with pytest.raises(InvalidInput, match=r"entity column 'label' mixes value types: row 0 "
                                           r"holds 'a' \(str\), row 1 holds 1 \(int\)"):
        client.submit_training_set(frame, features=["stats:rate"])
