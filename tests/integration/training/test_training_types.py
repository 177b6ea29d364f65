"""Acceptance findings F2 and F8: column and key types through `POST /training-sets`.

F2: a training set with Bytes and list features downloaded as JSON was cut after `[` and as
CSV was empty (both answered 200 first). F8: a STRING join key given JSON ints was accepted and
failed later in DuckDB; a CSV key `0001` was read as the integer 1.
"""

from __future__ import annotations

import base64
import csv
import io
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient

from featurebank.settings import Settings
from featurebank.training.jobs import jobs_root
from server.app import create_app
from tests.integration.training.shopfin_repo import NOW, ShopfinRepo, make_shopfin, profile_rows

pytestmark = pytest.mark.integration
WHEN = (NOW.replace(hour=13)).isoformat()
PROFILE = ["customer_profile:avatar_hash", "customer_profile:recent_categories",
           "customer_profile:recent_amounts", "customer_profile:recent_item_ids",
           "customer_profile:signup_time", "customer_profile:segment"]


SECRET = "acceptance-key-0123456789"


@pytest.fixture
def shopfin(tmp_path: Path, settings_factory: Callable[..., Settings],
            unique_name: str) -> ShopfinRepo:
    return make_shopfin(tmp_path, settings_factory, unique_name,
                        FEATUREBANK_API_KEYS=f"tester:{SECRET}:read+write")


@pytest.fixture
def api(shopfin: ShopfinRepo) -> Iterator[TestClient]:
    with TestClient(create_app(shopfin.settings), headers={"x-api-key": SECRET}) as client:
        yield client


def _built(api: TestClient, body: dict[str, Any]) -> str:
    response = api.post("/training-sets", json=body)
    assert response.status_code == 202, response.text
    set_id: str = response.json()["id"]
    for _ in range(300):
        status = api.get(f"/training-sets/{set_id}").json()
        if status["status"] in ("succeeded", "failed"):
            assert status["status"] == "succeeded", status
            return set_id
        time.sleep(0.05)
    raise AssertionError("training set did not finish")


def _customers() -> list[str]:
    return [f"C-{i:04d}" for i in range(1, 7)]


def test_json_and_csv_downloads_carry_bytes_and_lists(api: TestClient) -> None:
    ids = _customers()
    set_id = _built(api, {"entities": {"customer_id": ids, "event_timestamp": [WHEN] * 6},
                          "features": PROFILE})
    expected = {r["customer_id"]: r for r in profile_rows()}

    response = api.get(f"/training-sets/{set_id}/data?format=json")
    assert response.status_code == 200
    rows = orjson.loads(response.content)
    assert [r["customer_id"] for r in rows] == ids
    for row in rows:
        want = expected[row["customer_id"]]
        raw = want["avatar_hash"]
        assert row["avatar_hash"] == (base64.b64encode(raw).decode() if raw else None)
        assert row["recent_categories"] == want["recent_categories"]
        assert row["recent_amounts"] == want["recent_amounts"]
        assert row["recent_item_ids"] == want["recent_item_ids"]
        assert row["segment"] == want["cust_segment"]

    response = api.get(f"/training-sets/{set_id}/data?format=csv")
    assert response.status_code == 200
    table = list(csv.DictReader(io.StringIO(response.text)))
    assert [r["customer_id"] for r in table] == ids
    for row in table:
        want = expected[row["customer_id"]]
        raw = want["avatar_hash"]
        assert row["avatar_hash"] == (base64.b64encode(raw).decode() if raw else "")
        for column in ("recent_categories", "recent_amounts", "recent_item_ids"):
            value = want[column]
            assert (orjson.loads(row[column]) if row[column] else None) == value, column
        assert row["signup_time"].startswith(str(want["signup_time"])[:10])


def test_a_type_the_format_cannot_carry_is_a_4xx_before_streaming(api: TestClient,
                                                                    shopfin: ShopfinRepo) -> None:
    ids = _customers()[:2]
    set_id = _built(api, {"entities": {"customer_id": ids, "event_timestamp": [WHEN] * 2},
                          "features": ["customer_profile:segment"]})
    out = jobs_root(shopfin.settings.data_path) / set_id / "data.parquet"
    table = pq.read_table(out)  # add a column no text format carries: a duration
    odd = pa.array([5, None], pa.duration("s"))
    pq.write_table(table.append_column("half", odd), out)
    for fmt in ("json", "csv"):
        response = api.get(f"/training-sets/{set_id}/data?format={fmt}")
        assert response.status_code == 422, (fmt, response.text)
        assert "half" in response.json()["error"]["message"]


@pytest.mark.parametrize(("entities", "sample"), [
    ({"customer_id": [1]}, "1"),
    ({"customer_id": ["C-0001", None, 7]}, None),  # mixed types: arrow refuses them up front
    ({"customer_id": [True]}, "True"),
])
def test_string_key_given_other_types_is_a_422_naming_it(api: TestClient, shopfin: ShopfinRepo,
                                                         entities: dict[str, list[Any]],
                                                         sample: str | None) -> None:
    rows = len(entities["customer_id"])
    body = {"entities": {**entities, "event_timestamp": [WHEN] * rows},
            "features": ["customer_profile:age"]}
    response = api.post("/training-sets", json=body)
    assert response.status_code == 422, response.text
    message = response.json()["error"]["message"]
    assert "'customer_id'" in message
    if sample is not None:
        assert sample in message
        assert "string" in message.lower()
    assert not jobs_root(shopfin.settings.data_path).exists() or not any(
        jobs_root(shopfin.settings.data_path).iterdir())


def test_int_key_given_text_is_checked_and_numeric_text_accepted(api: TestClient) -> None:
    features = ["cust_merchant_stats:spend_30d"]
    bad = {"entities": {"customer_id": ["C-0001"], "merchant_id": ["one"],
                        "event_timestamp": [WHEN]}, "features": features}
    response = api.post("/training-sets", json=bad)
    assert response.status_code == 422, response.text
    message = response.json()["error"]["message"]
    assert "'merchant_id'" in message
    assert "'one'" in message
    assert "INT64" in message
    good = {"entities": {"customer_id": ["C-0002"], "merchant_id": ["2"],
                         "event_timestamp": [WHEN]}, "features": features}
    set_id = _built(api, good)
    rows = api.get(f"/training-sets/{set_id}/data?format=json").json()
    assert rows[0]["spend_30d"] == 42.0


def test_csv_upload_keeps_string_keys_as_text(api: TestClient, tmp_path: Path) -> None:
    text = f"customer_id,event_timestamp\n0001,{WHEN}\nC-0002,{WHEN}\n"
    response = api.post("/training-sets", files={"entities": ("ents.csv", text.encode())},
                        data={"features": "customer_profile:age"})
    assert response.status_code == 202, response.text
    set_id = response.json()["id"]
    for _ in range(300):
        status = api.get(f"/training-sets/{set_id}").json()
        if status["status"] != "running" and status["status"] != "queued":
            break
        time.sleep(0.05)
    assert status["status"] == "succeeded", status
    rows = api.get(f"/training-sets/{set_id}/data?format=json").json()
    assert [r["customer_id"] for r in rows] == ["0001", "C-0002"]
    assert [r["age"] for r in rows] == [None, 22]
    numeric = (f"customer_id,merchant_id,event_timestamp\nC-0001,x1,{WHEN}\n").encode()
    response = api.post("/training-sets", files={"entities": ("ents.csv", numeric)},
                        data={"features": "cust_merchant_stats:spend_30d"})
    assert response.status_code == 422, response.text
    assert "'merchant_id'" in response.json()["error"]["message"]
