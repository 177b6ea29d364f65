"""Offline files and views of less common shapes still materialize and serve.

Entity-less views, pandas' nanosecond timestamps, files that lack columns other files have (a
push of some features only), and files that do not match the definition at all.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import redis
from fastapi.testclient import TestClient

from featurebank.definitions import load_definitions
from featurebank.errors import InvalidInput
from featurebank.feast_repo import apply_repo, open_store
from featurebank.materialize import materialize
from server.app import create_app
from tests.support.repos import write_repo

DEFINITIONS = '''
import os
from datetime import timedelta
import pandas as pd
from feast import Entity, FeatureView, Field, FileSource, RequestSource
from feast.on_demand_feature_view import on_demand_feature_view
from feast.types import Float64, Int64, String

DATA = os.environ["FEATUREBANK_DATA_DIR"]
shop = Entity(name="shop", join_keys=["shop_id"])

rates = FeatureView(
    name="fx_rates", entities=[], ttl=timedelta(0),
    schema=[Field(name="usd_eur", dtype=Float64), Field(name="usd_gbp", dtype=Float64)],
    source=FileSource(name="fx_src", path=f"{DATA}/fx/*.parquet", timestamp_field="ts"),
)
sales = FeatureView(
    name="shop_sales", entities=[shop], ttl=timedelta(0),
    schema=[Field(name="shop_id", dtype=Int64), Field(name="revenue", dtype=Float64),
            Field(name="orders", dtype=Int64), Field(name="region", dtype=String)],
    source=FileSource(name="sales_src", path=f"{DATA}/sales/*.parquet", timestamp_field="ts"),
)
discount = RequestSource(name="discount", schema=[Field(name="discount", dtype=Float64)])


@on_demand_feature_view(sources=[sales, discount],
                        schema=[Field(name="net_revenue", dtype=Float64)], mode="pandas")
def net(inputs: pd.DataFrame) -> pd.DataFrame:
    out = pd.DataFrame()
    out["net_revenue"] = inputs["revenue"] * (1 - inputs["discount"])
    return out
'''
NOW = datetime(2025, 6, 1, tzinfo=UTC)


@pytest.fixture
def repo(tmp_path: Path, settings_factory: Any, unique_name: str) -> Any:
    settings = settings_factory(write_repo(tmp_path, unique_name, DEFINITIONS))
    apply_repo(settings)
    return settings


@pytest.fixture
def client(repo: Any) -> Iterator[TestClient]:
    with TestClient(create_app(repo)) as test_client:
        yield test_client


def _write(settings: Any) -> None:
    fx = settings.data_path / "fx"
    fx.mkdir(parents=True)
    # pandas writes nanosecond timestamps; Feast's own materialize trips over them too.
    pd.DataFrame({"usd_eur": [0.91, 0.93], "usd_gbp": [0.79, 0.78],
                  "ts": pd.to_datetime([NOW - timedelta(hours=2), NOW], utc=True)}
                 ).to_parquet(fx / "rates.parquet")
    sales = settings.data_path / "sales"
    sales.mkdir(parents=True)
    pq.write_table(pa.table({
        "shop_id": [1, 2], "revenue": [10.5, 20.0], "orders": [3, 4], "region": ["n", "s"],
        "ts": pa.array([NOW - timedelta(days=1)] * 2, pa.timestamp("us", tz="UTC")),
    }), sales / "a-full.parquet")
    # A later file with only some columns, as a push of two features writes it.
    pq.write_table(pa.table({
        "shop_id": [1], "revenue": [99.0],
        "ts": pa.array([NOW], pa.timestamp("us", tz="UTC")),
    }), sales / "b-partial.parquet")


def test_entityless_nanosecond_and_partial_files_materialize_and_serve(
    repo: Any, client: TestClient, redis_url: str,
) -> None:
    _write(repo)
    connection = redis.Redis.from_url(redis_url)
    reports = materialize(load_definitions(open_store(repo)), connection)
    connection.close()
    assert {r.view: r.written for r in reports} == {"fx_rates": 1, "shop_sales": 2}

    alone = client.post("/get-online-features",
                        json={"features": ["fx_rates:usd_eur", "fx_rates:usd_gbp"],
                              "entities": {}}).json()
    assert [r["values"] for r in alone["results"]] == [[0.93], [0.78]]
    assert alone["results"][0]["statuses"] == ["PRESENT"]

    mixed = client.post("/get-online-features", json={
        "features": ["shop_sales:revenue", "shop_sales:orders", "fx_rates:usd_eur"],
        "entities": {"shop_id": [1, 2, 3]}}).json()
    values = {name: r["values"] for name, r in zip(mixed["metadata"]["feature_names"],
                                                   mixed["results"], strict=True)}
    # Shop 1's newest row came from the partial file: its missing columns are nulls.
    assert values["revenue"] == [99.0, 20.0, None]
    assert values["orders"] == [None, 4, None]
    assert values["usd_eur"] == [0.93, 0.93, 0.93]
    statuses = dict(zip(mixed["metadata"]["feature_names"],
                        [r["statuses"] for r in mixed["results"]], strict=True))
    assert statuses["orders"] == ["NULL_VALUE", "PRESENT", "NOT_FOUND"]


def test_files_that_do_not_match_the_definition_are_a_clear_error(
    repo: Any, redis_url: str,
) -> None:
    _write(repo)
    pq.write_table(pa.table({"usd_eur": [1.0], "when": [NOW]}),
                   repo.data_path / "fx" / "wrong.parquet")
    (repo.data_path / "fx" / "rates.parquet").unlink()
    connection = redis.Redis.from_url(redis_url)
    try:
        with pytest.raises(InvalidInput, match=r"fx_rates.*columns \['usd_eur', 'when'\]"):
            materialize(load_definitions(open_store(repo)), connection, views=["fx_rates"])
    finally:
        connection.close()


def test_an_unknown_feature_suggests_close_names(client: TestClient) -> None:
    typo = client.post("/get-online-features", json={
        "features": ["shop_sales:revenu"], "entities": {"shop_id": [1]}})
    assert typo.status_code == 422
    assert "did you mean: shop_sales:revenue" in typo.json()["error"]["message"]


def test_an_on_demand_failure_names_the_request_fields(repo: Any, client: TestClient,
                                                       redis_url: str) -> None:
    _write(repo)
    connection = redis.Redis.from_url(redis_url)
    materialize(load_definitions(open_store(repo)), connection)
    connection.close()
    ok = client.post("/get-online-features", json={
        "features": ["net:net_revenue"], "entities": {"shop_id": [2], "discount": [0.5]}})
    assert ok.json()["results"][1]["values"] == [10.0]
    bad = client.post("/get-online-features", json={
        "features": ["net:net_revenue"], "entities": {"shop_id": [2], "discount": ["half"]}})
    assert bad.status_code == 422
    message = bad.json()["error"]["message"]
    assert "'net'" in message
    assert "'discount': ['str']" in message


def test_the_catalog_page_of_a_view_whose_files_do_not_match_still_loads(
    repo: Any, client: TestClient,
) -> None:
    _write(repo)
    (repo.data_path / "fx" / "rates.parquet").unlink()
    pq.write_table(pa.table({"usd_eur": [1.0], "when": [NOW]}),
                   repo.data_path / "fx" / "wrong.parquet")
    detail = client.get("/catalog/feature-views/fx_rates")
    assert detail.status_code == 200, detail.text
    assert "do not match" in detail.text
    assert client.get("/ui/feature-views/fx_rates").status_code == 200
