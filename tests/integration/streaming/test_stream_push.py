"""`POST /push`: Feast's body, write-scoped key, monotonic online writes, offline appends."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest
import redis
from fastapi.testclient import TestClient

from featurebank.codec.values import decode_value
from featurebank.definitions import load_definitions
from featurebank.feast_repo import apply_repo, open_store
from featurebank.freshness import read_watermarks_sync
from featurebank.settings import Settings
from server.app import create_app
from tests.support.repos import write_repo

DEFINITIONS = '''
import os
from datetime import timedelta
from feast import Entity, FeatureView, Field, FileSource, PushSource, ValueType
from feast.types import Float64, Int64, String

DATA = os.environ["FEATUREBANK_DATA_DIR"]
store = Entity(name="store", join_keys=["store_id"], value_type=ValueType.INT64)
history = FileSource(name="sales_history", path=f"{DATA}/sales/*.parquet",
                     timestamp_field="event_timestamp")
sales_push = PushSource(name="sales_push", batch_source=history)
store_sales = FeatureView(
    name="store_sales", entities=[store], ttl=timedelta(days=1), online=True, source=sales_push,
    schema=[Field(name="store_id", dtype=Int64), Field(name="revenue", dtype=Float64),
            Field(name="orders", dtype=Int64), Field(name="region", dtype=String)],
)
'''
WRITER, READER = "w-secret-0123456789", "r-secret-0123456789"


@pytest.fixture
def push_app(tmp_path: Path, unique_name: str,
             settings_factory: Callable[..., Settings]) -> Iterator[tuple[TestClient, Settings]]:
    repo = write_repo(tmp_path, unique_name, DEFINITIONS)
    settings = settings_factory(
        repo, FEATUREBANK_API_KEYS=f"writer:{WRITER}:write,reader:{READER}:read")
    apply_repo(settings)
    with TestClient(create_app(settings)) as client:
        yield client, settings


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def test_push_online_and_offline(push_app: tuple[TestClient, Settings], redis_url: str) -> None:
    client, settings = push_app
    now = datetime.now(UTC).replace(microsecond=0)
    body = {"push_source_name": "sales_push", "to": "online_and_offline", "df": {
        "store_id": [1, 2, 1], "revenue": [10.5, 20.0, 99.0], "orders": [3, 4, 9],
        "region": ["n", "s", "n"],
        "event_timestamp": [iso(now), iso(now), iso(now - timedelta(minutes=5))]}}
    response = client.post("/push", json=body, headers={"x-api-key": WRITER})
    assert response.status_code == 200, response.text

    view = load_definitions(open_store(settings)).views["store_sales"]
    stored = redis.Redis.from_url(redis_url).hgetall(view.codec.key([1]))
    assert decode_value(stored[view.features["revenue"].field]) == 10.5  # the older row lost
    assert decode_value(stored[view.features["orders"].field]) == 3
    feast = open_store(settings).get_online_features(
        features=["store_sales:revenue"], entity_rows=[{"store_id": 2}]).to_dict()
    assert feast["revenue"] == [20.0]

    files = list((settings.data_path / "sales").glob("*.parquet"))
    assert len(files) == 1
    rows = duckdb.connect().execute(
        "SELECT store_id, revenue FROM read_parquet(?) ORDER BY revenue",
        [str(files[0])]).fetchall()
    assert rows == [(1, 10.5), (2, 20.0), (1, 99.0)]
    marks = read_watermarks_sync(redis.Redis.from_url(redis_url), open_store(settings).project)
    assert marks["store_sales"] == now.timestamp()


@pytest.mark.parametrize(("df", "named"), [
    ({"store_id": [1], "revenue": ["lots"], "event_timestamp": ["2024-01-01T00:00:00Z"]},
     "revenue"),
    ({"revenue": [1.0], "event_timestamp": ["2024-01-01T00:00:00Z"]}, "store_id"),
    ({"store_id": [1, 2], "revenue": [1.0, 2.0], "event_timestamp": ["2024-01-01", "nope"]},
     "event_timestamp"),
    ({"store_id": [1.5], "event_timestamp": ["2024-01-01T00:00:00Z"]}, "store_id"),
    ({"store_id": [1], "bogus_col": [1], "event_timestamp": ["2024-01-01T00:00:00Z"]},
     "['bogus_col']"),
])
def test_bad_push_is_422_and_writes_nothing(push_app: tuple[TestClient, Settings],
                                            df: dict[str, list[object]], named: str) -> None:
    client, settings = push_app
    response = client.post("/push", json={"push_source_name": "sales_push", "df": df,
                                          "to": "online_and_offline"},
                           headers={"x-api-key": WRITER})
    assert response.status_code == 422, response.text
    assert named in response.json()["error"]["message"]
    assert not list((settings.data_path / "sales").glob("*.parquet"))


def test_push_needs_a_write_key(push_app: tuple[TestClient, Settings]) -> None:
    client, _ = push_app
    body = {"push_source_name": "sales_push",
            "df": {"store_id": [1], "event_timestamp": ["2024-01-01T00:00:00Z"]}}
    assert client.post("/push", json=body).status_code == 401
    assert client.post("/push", json=body, headers={"x-api-key": READER}).status_code == 403
    unknown = client.post("/push", json={**body, "push_source_name": "nope"},
                          headers={"x-api-key": WRITER})
    assert unknown.status_code == 422
    assert "nope" in unknown.json()["error"]["message"]


def test_one_row_push_writes_and_advances_in_one_trip_even_after_a_script_flush(
        push_app: tuple[TestClient, Settings], redis_url: str) -> None:
    client, settings = push_app
    view = load_definitions(open_store(settings)).views["store_sales"]
    project = open_store(settings).project
    server = redis.Redis.from_url(redis_url)  # this test session's private redis-server
    now = datetime.now(UTC).replace(microsecond=0)
    for index, moment in enumerate([now - timedelta(minutes=1), now]):
        if index:
            server.script_flush()  # the next push meets NOSCRIPT, reloads and replays
        body = {"push_source_name": "sales_push", "to": "online", "df": {
            "store_id": [7], "revenue": [float(index)], "event_timestamp": [iso(moment)]}}
        response = client.post("/push", json=body, headers={"x-api-key": WRITER})
        assert response.status_code == 200, response.text
        assert response.json()["online_written"] == 1
        stored = server.hget(view.codec.key([7]), view.features["revenue"].field)
        assert decode_value(stored) == float(index)
        assert read_watermarks_sync(server, project)["store_sales"] >= moment.timestamp()


def test_partial_push_writes_whole_rows_offline(push_app: tuple[TestClient, Settings]) -> None:
    """Absent features are typed nulls in the file, so any reader (Feast's too) sees the same
    columns in every file of the directory."""
    client, settings = push_app
    body = {"push_source_name": "sales_push", "to": "offline",
            "df": {"store_id": [7], "revenue": [1.5], "event_timestamp": [iso(datetime.now(UTC))]}}
    assert client.post("/push", json=body, headers={"x-api-key": WRITER}).status_code == 200
    (file,) = list((settings.data_path / "sales").glob("*.parquet"))
    rows = duckdb.connect().execute(
        "SELECT store_id, revenue, orders, region FROM read_parquet(?)", [str(file)]).fetchall()
    assert rows == [(7, 1.5, None, None)]


def test_redis_down_is_a_503_and_appends_nothing(tmp_path: Path, unique_name: str,
                                                 settings_factory: Callable[..., Settings]) -> None:
    """Online goes first: a failed online write leaves no offline rows a retry would repeat."""
    repo = write_repo(tmp_path, unique_name, DEFINITIONS)
    settings = settings_factory(repo, FEATUREBANK_API_KEYS=f"writer:{WRITER}:write")
    apply_repo(settings)
    down = settings.model_copy(update={"redis_url": "redis://127.0.0.1:1/0"})
    body = {"push_source_name": "sales_push", "to": "online_and_offline",
            "df": {"store_id": [1, 2], "revenue": [1.0, 2.0],
                   "event_timestamp": [iso(datetime.now(UTC))] * 2}}
    with TestClient(create_app(down)) as client:
        for small in (True, False):  # the Arrow-free one-row path and the general one
            request = body if not small else {**body, "to": "online", "df": {
                k: v[:1] for k, v in body["df"].items()}}
            response = client.post("/push", json=request, headers={"x-api-key": WRITER})
            assert response.status_code == 503, response.text
            assert response.json()["error"]["code"] == "dependency_unavailable"
    assert not list((settings.data_path / "sales").glob("*.parquet"))
