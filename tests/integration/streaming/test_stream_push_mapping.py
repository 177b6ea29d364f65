"""`POST /push` to a source whose batch source renames columns (`field_mapping`).

As in Feast, the pushed df is in the batch source's naming; keys and features are mapped back
to the view's names online, and the Parquet file keeps the source's names.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest
from fastapi.testclient import TestClient

from featurebank.feast_repo import apply_repo, open_store
from featurebank.settings import Settings
from server.app import create_app
from tests.support.repos import write_repo

DEFINITIONS = '''
import os
from datetime import timedelta
from feast import Entity, FeatureView, Field, FileSource, PushSource, ValueType
from feast.types import Float64, Int64, String

DATA = os.environ["FEATUREBANK_DATA_DIR"]
shop = Entity(name="shop", join_keys=["shop_id"], value_type=ValueType.INT64)
history = FileSource(name="till_history", path=f"{DATA}/tills/*.parquet",
                     timestamp_field="event_timestamp",
                     field_mapping={"shop": "shop_id", "rev": "revenue"})
till_push = PushSource(name="till_push", batch_source=history)
shop_till = FeatureView(
    name="shop_till", entities=[shop], ttl=timedelta(days=1), online=True, source=till_push,
    schema=[Field(name="shop_id", dtype=Int64), Field(name="revenue", dtype=Float64),
            Field(name="region", dtype=String)],
)
'''
WRITER = "w-secret-0123456789"


@pytest.fixture
def mapped_app(tmp_path: Path, unique_name: str,
               settings_factory: Callable[..., Settings]) -> Iterator[tuple[TestClient, Settings]]:
    repo = write_repo(tmp_path, unique_name, DEFINITIONS)
    settings = settings_factory(repo, FEATUREBANK_API_KEYS=f"writer:{WRITER}:write")
    apply_repo(settings)
    with TestClient(create_app(settings)) as client:
        yield client, settings


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


@pytest.mark.parametrize("rows", [1, 100])  # the Arrow-free small path and the general one
def test_push_maps_source_columns_to_keys_and_features(
    mapped_app: tuple[TestClient, Settings], rows: int,
) -> None:
    client, settings = mapped_app
    now = datetime.now(UTC).replace(microsecond=0)
    df = {"shop": list(range(1, rows + 1)), "rev": [10.0 + i for i in range(rows)],
          "region": ["n"] * rows, "event_timestamp": [_iso(now)] * rows}
    response = client.post("/push", json={"push_source_name": "till_push", "df": df,
                                          "to": "online_and_offline"},
                           headers={"x-api-key": WRITER})
    assert response.status_code == 200, response.text
    assert response.json()["online_written"] == rows

    # Stock Feast reads the values under the view's own names.
    online = open_store(settings).get_online_features(
        features=["shop_till:revenue", "shop_till:region"],
        entity_rows=[{"shop_id": 1}, {"shop_id": rows}]).to_dict()
    assert online["revenue"] == [10.0, 10.0 + rows - 1]
    assert online["region"] == ["n", "n"]

    # Offline keeps the batch source's names, which its field_mapping reads back.
    (file,) = list((settings.data_path / "tills").glob("*.parquet"))
    stored = duckdb.connect().execute(
        "SELECT shop, rev FROM read_parquet(?) ORDER BY shop LIMIT 1", [str(file)]).fetchall()
    assert stored == [(1, 10.0)]


def test_push_in_the_views_naming_is_refused_naming_the_columns(
    mapped_app: tuple[TestClient, Settings],
) -> None:
    client, _ = mapped_app
    df = {"shop_id": [1], "revenue": [1.0],
          "event_timestamp": [_iso(datetime.now(UTC) - timedelta(minutes=1))]}
    response = client.post("/push", json={"push_source_name": "till_push", "df": df},
                           headers={"x-api-key": WRITER})
    assert response.status_code == 422, response.text
    assert "['shop']" in response.json()["error"]["message"]  # the key, in source naming
