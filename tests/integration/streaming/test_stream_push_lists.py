"""List (array) features pushed with `POST /push` and streamed from a KafkaSource.

They land online in Feast's layout (`Value` with `int64_list_val` and so on, read back equal by
stock Feast and by our lookup API) and offline as Parquet list columns. A feature whose type
cannot be pushed (a list of timestamps) does not block the view: pushes without it work, and
one that sends it is refused naming it.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import StreamRepo, create_topic, produce
from fastapi.testclient import TestClient

from featurebank.feast_repo import apply_repo, open_store
from featurebank.settings import Settings
from server.app import create_app
from tests.support.repos import write_repo

PUSH_DEFINITIONS = '''
import os
from datetime import timedelta
from feast import Entity, FeatureView, Field, FileSource, PushSource, ValueType
from feast.types import Array, Bool, Bytes, Float32, Float64, Int32, Int64, String, UnixTimestamp

DATA = os.environ["FEATUREBANK_DATA_DIR"]
basket = Entity(name="basket", join_keys=["basket_id"], value_type=ValueType.INT64)
history = FileSource(name="basket_history", path=f"{DATA}/baskets/*.parquet",
                     timestamp_field="event_timestamp")
basket_push = PushSource(name="basket_push", batch_source=history)
basket_items = FeatureView(
    name="basket_items", entities=[basket], ttl=timedelta(days=1), online=True,
    source=basket_push,
    schema=[Field(name="basket_id", dtype=Int64), Field(name="total", dtype=Float64),
            Field(name="skus", dtype=Array(Int64)), Field(name="counts", dtype=Array(Int32)),
            Field(name="weights", dtype=Array(Float32)),
            Field(name="prices", dtype=Array(Float64)), Field(name="tags", dtype=Array(String)),
            Field(name="flags", dtype=Array(Bool)), Field(name="blobs", dtype=Array(Bytes)),
            Field(name="seen_at", dtype=Array(UnixTimestamp))],
)
'''

STREAM_DEFINITIONS = '''
import os
from datetime import timedelta
from feast import Entity, Field, FileSource, KafkaSource, ValueType
from feast.data_format import JsonFormat
from feast.stream_feature_view import StreamFeatureView
from feast.types import Array, Float64, Int64, String

DATA = os.environ["FEATUREBANK_DATA_DIR"]
BOOTSTRAP = os.environ["KAFKA_BOOTSTRAP_SERVERS"]
device = Entity(name="device", join_keys=["device_id"], value_type=ValueType.INT64)
readings = KafkaSource(
    name="readings", topic="{topic}", kafka_bootstrap_servers=BOOTSTRAP,
    timestamp_field="event_ts", message_format=JsonFormat(schema_json=""),
    batch_source=FileSource(name="readings_history", path=f"{{DATA}}/readings/*.parquet",
                            timestamp_field="event_ts"),
)
device_readings = StreamFeatureView(
    name="device_readings", entities=[device], ttl=timedelta(days=3650), source=readings,
    online=True,
    schema=[Field(name="device_id", dtype=Int64), Field(name="samples", dtype=Array(Float64)),
            Field(name="codes", dtype=Array(Int64)), Field(name="labels", dtype=Array(String))],
)
'''
WRITER = "w-secret-0123456789"
FEATURES = ["skus", "counts", "weights", "prices", "tags", "flags", "blobs"]


@pytest.fixture
def list_app(tmp_path: Path, unique_name: str,
             settings_factory: Callable[..., Settings]) -> Iterator[tuple[TestClient, Settings]]:
    repo = write_repo(tmp_path, unique_name, PUSH_DEFINITIONS)
    settings = settings_factory(repo, FEATUREBANK_API_KEYS=f"writer:{WRITER}:write")
    apply_repo(settings)
    with TestClient(create_app(settings)) as client:
        yield client, settings


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _df(rows: int) -> dict[str, list[Any]]:
    """Row 0 has every list filled, row 1 empty lists, any later row null lists."""
    now = _iso(datetime.now(UTC).replace(microsecond=0))
    full: dict[str, Any] = {"skus": [7, -2, 2**40], "counts": [1, 2], "weights": [0.5, 1.25],
                            "prices": [9.99, 0.0], "tags": ["a", "b c"], "flags": [True, False],
                            "blobs": ["xy", ""]}
    df: dict[str, list[Any]] = {"basket_id": list(range(1, rows + 1)),
                                "total": [1.0] * rows, "event_timestamp": [now] * rows}
    for name in FEATURES:
        df[name] = [full[name], [], *([None] * (rows - 2))]
    return df


def _lookup(client: TestClient, ids: list[int]) -> dict[str, list[Any]]:
    body = {"features": [f"basket_items:{name}" for name in FEATURES],
            "entities": {"basket_id": ids}}
    response = client.post("/get-online-features", json=body)
    assert response.status_code == 200, response.text
    reply = response.json()
    names = reply["metadata"]["feature_names"]
    return {name: result["values"] for name, result in zip(names, reply["results"], strict=True)}


@pytest.mark.parametrize("rows", [3, 80])  # under and over the small-push row limit
def test_list_features_push_online_and_offline(list_app: tuple[TestClient, Settings],
                                               rows: int) -> None:
    client, settings = list_app
    df = _df(rows)
    response = client.post("/push", json={"push_source_name": "basket_push", "df": df,
                                          "to": "online_and_offline"},
                           headers={"x-api-key": WRITER})
    assert response.status_code == 200, response.text
    assert response.json()["online_written"] == rows

    # Stock Feast reads every list back equal (and a null list as None).
    online = open_store(settings).get_online_features(
        features=[f"basket_items:{name}" for name in FEATURES],
        entity_rows=[{"basket_id": 1}, {"basket_id": 2}, {"basket_id": 3}]).to_dict()
    assert online["skus"] == [[7, -2, 2**40], [], None]
    assert online["counts"] == [[1, 2], [], None]
    assert online["weights"] == [[0.5, 1.25], [], None]
    assert online["prices"] == [[9.99, 0.0], [], None]
    assert online["tags"] == [["a", "b c"], [], None]
    assert online["flags"] == [[True, False], [], None]
    assert online["blobs"] == [[b"xy", b""], [], None]

    # Our lookup API renders them as Feast's feature server does (bytes as base64).
    served = _lookup(client, [1, 2, 3])
    assert served["skus"] == [[7, -2, 2**40], [], None]
    assert served["weights"] == [[0.5, 1.25], [], None]
    assert served["flags"] == [[True, False], [], None]
    assert served["blobs"] == [[base64.b64encode(b"xy").decode(), ""], [], None]

    # Offline: Parquet list columns; the unsupported column is simply absent.
    (file,) = list((settings.data_path / "baskets").glob("*.parquet"))
    table = pq.read_table(file).sort_by("basket_id")
    assert "seen_at" not in table.column_names
    assert table.column("skus").to_pylist()[:3] == [[7, -2, 2**40], [], None]
    assert table.column("blobs").to_pylist()[:2] == [[b"xy", b""], []]
    assert table.schema.field("counts").type.value_type == pa.int32()

    # A later push appends a file of the same list types beside it.
    again = client.post("/push", json={"push_source_name": "basket_push", "df": _df(rows),
                                       "to": "offline"}, headers={"x-api-key": WRITER})
    assert again.status_code == 200, again.text
    both = pq.read_table(settings.data_path / "baskets")
    assert both.num_rows == 2 * rows
    assert both.column("tags").to_pylist().count(["a", "b c"]) == 2


def test_an_unsupported_list_is_refused_only_when_sent(
    list_app: tuple[TestClient, Settings],
) -> None:
    client, _ = list_app
    df = _df(2)
    df["seen_at"] = [[1_700_000_000], None]
    response = client.post("/push", json={"push_source_name": "basket_push", "df": df},
                           headers={"x-api-key": WRITER})
    assert response.status_code == 422, response.text
    message = response.json()["error"]["message"]
    assert "'seen_at'" in message
    assert "UNIX_TIMESTAMP_LIST" in message


def test_a_bad_list_names_its_column_and_element(list_app: tuple[TestClient, Settings]) -> None:
    client, _ = list_app
    df = _df(2)
    df["skus"] = [[1, 2.5], 3]
    response = client.post("/push", json={"push_source_name": "basket_push", "df": df},
                           headers={"x-api-key": WRITER})
    assert response.status_code == 422, response.text
    problems = response.json()["error"]["detail"]
    assert [(p["row"], p["column"]) for p in problems] == [(0, "skus"), (1, "skus")]
    assert "skus[1]: 2.5 is not a whole number" in problems[0]["message"]
    assert "expected a list" in problems[1]["message"]


def test_stream_message_with_list_fields(
    tmp_path: Path, unique_name: str, bootstrap: str,
    settings_factory: Callable[..., Settings],
) -> None:
    topic = f"{unique_name}.readings"
    create_topic(bootstrap, topic)
    repo = write_repo(tmp_path, unique_name, STREAM_DEFINITIONS.format(topic=topic))
    settings = settings_factory(
        repo, KAFKA_BOOTSTRAP_SERVERS=bootstrap, FEATUREBANK_CONSUMER_GROUP=f"{unique_name}-g",
        FEATUREBANK_MAX_EVENT_SKEW_S=300)
    apply_repo(settings)
    stream = StreamRepo(settings, topic, repo, unique_name)
    now = _iso(datetime.now(UTC).replace(microsecond=0))
    messages = [
        {"device_id": 1, "samples": [1.5, -2.0], "codes": [3, 4], "labels": ["x"],
         "event_ts": now},
        {"device_id": 2, "samples": [], "codes": None, "labels": ["y", "z"], "event_ts": now},
    ]
    produce(bootstrap, topic, [(None, orjson.dumps(m), []) for m in messages])
    try:
        stream.start_processor()
        store = open_store(settings)
        deadline = time.monotonic() + 30
        online: dict[str, Any] = {}
        while time.monotonic() < deadline:
            online = store.get_online_features(
                features=["device_readings:samples", "device_readings:codes",
                          "device_readings:labels"],
                entity_rows=[{"device_id": 1}, {"device_id": 2}]).to_dict()
            if online["labels"][1] is not None:
                break
            time.sleep(0.2)
    finally:
        stream.stop_all()
    assert online["samples"] == [[1.5, -2.0], []]
    assert online["codes"] == [[3, 4], None]
    assert online["labels"] == [["x"], ["y", "z"]]


@pytest.mark.parametrize("rows", [3, 80])  # the Arrow-free small path and the general one
def test_online_only_push_of_lists(list_app: tuple[TestClient, Settings], rows: int) -> None:
    client, settings = list_app
    response = client.post("/push", json={"push_source_name": "basket_push", "df": _df(rows),
                                          "to": "online"}, headers={"x-api-key": WRITER})
    assert response.status_code == 200, response.text
    online = open_store(settings).get_online_features(
        features=[f"basket_items:{name}" for name in FEATURES],
        entity_rows=[{"basket_id": 1}, {"basket_id": 2}, {"basket_id": 3}]).to_dict()
    assert online["skus"] == [[7, -2, 2**40], [], None]
    assert online["weights"] == [[0.5, 1.25], [], None]
    assert online["tags"] == [["a", "b c"], [], None]
    assert online["blobs"] == [[b"xy", b""], [], None]
    assert _lookup(client, [1, 2, 3])["counts"] == [[1, 2], [], None]
