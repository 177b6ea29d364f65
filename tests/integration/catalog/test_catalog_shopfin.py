"""Acceptance findings F3 and F14 against the tester's repo (lists, bytes, Kafka source).

F3: a feature view with an Array(Float64) feature answered 500 on its catalog and UI pages
(`avg(DOUBLE[])`). F14: tag keys were not searchable, a stream view's lineage listed its
history source twice, and a Kafka source showed `"fields": []` despite its schema.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from featurebank.settings import Settings
from server.app import create_app
from tests.integration.training.shopfin_repo import make_shopfin

pytestmark = pytest.mark.integration


@pytest.fixture
def client(tmp_path: Path, settings_factory: Callable[..., Settings],
           unique_name: str) -> Iterator[TestClient]:
    shopfin = make_shopfin(tmp_path, settings_factory, unique_name)
    with TestClient(create_app(shopfin.settings)) as api:
        yield api


def test_list_and_bytes_features_get_summaries_not_a_500(client: TestClient) -> None:
    response = client.get("/catalog/feature-views/customer_profile")
    assert response.status_code == 200, response.text
    stats = {f["name"]: f["statistics"] for f in response.json()["features"]}
    amounts = stats["recent_amounts"]  # [1.5i, 2.25] for i % 4, else []: 5 of 6 have 2
    assert amounts["shape"] == "list"
    assert (amounts["count"], amounts["nulls"]) == (6, 0)
    assert amounts["length"] == {"min": 0, "max": 2, "mean": 1.666667, "p50": 2.0, "p95": 2.0,
                                 "empty": 1}
    assert sum(amounts["length_histogram"]["counts"]) == 6
    assert "mean" not in amounts
    categories = stats["recent_categories"]  # None for i % 4 == 0 (C-0004)
    assert (categories["count"], categories["nulls"]) == (5, 1)
    avatar = stats["avatar_hash"]  # 3 bytes unless i % 3 == 0
    assert avatar["shape"] == "bytes"
    assert avatar["count"] == 4
    assert avatar["length"]["max"] == 3
    assert "top_values" not in avatar
    assert stats["age"]["mean"] == 23.5  # scalar features keep their full statistics
    assert stats["segment"]["top_values"]

    page = client.get("/ui/feature-views/customer_profile")
    assert page.status_code == 200, page.text
    assert "list-length histogram of recent_amounts" in page.text
    assert "length min 0 · max 2" in page.text


def test_tag_keys_are_searchable(client: TestClient) -> None:
    body = client.get("/catalog/search", params={"q": "pii"}).json()
    names = [hit["name"] for hit in body["hits"]]
    assert "customer_profile" in names


def test_stream_lineage_lists_each_source_once(client: TestClient) -> None:
    body = client.get("/catalog/feature-views/card_txn_live").json()
    names = [item["name"] for item in body["lineage"]["upstream"]]
    assert names == ["card_txn_stream", "card_txn_history"]


def test_kafka_source_shows_its_schema_and_field_mapping(client: TestClient) -> None:
    body = client.get("/catalog/data-sources/card_txn_stream").json()
    assert body["fields"] == ["customer_id", "amt", "mcc", "declined", "country", "txn_time"]
    assert body["schema"][1] == {"name": "amt", "type": "DOUBLE"}
    assert body["field_mapping"] == {"amt": "last_amount"}
    assert body["message_format"] == "JsonFormat"
    page = client.get("/ui/data-sources/card_txn_stream")
    assert page.status_code == 200
    assert "last_amount" in page.text
