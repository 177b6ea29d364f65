"""What we write, stock Feast reads; what Feast writes, our API serves — 0 mismatches."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pandas as pd
import pyarrow.parquet as pq
import redis
from fastapi.testclient import TestClient

from featurebank.materialize import materialize
from server.app import create_app
from tests.integration.online.conftest import SampleRepo

FEATURES = ["account_stats:balance", "account_stats:score", "account_stats:visits",
            "account_stats:age_days", "account_stats:tier", "account_stats:is_vip"]


def expected_latest(sample: SampleRepo) -> pd.DataFrame:
    frame = pq.read_table(sample.settings.data_path / "account.parquet").to_pandas()
    frame = frame.sort_values(["account_id", "ts", "created"])
    return frame.groupby("account_id").tail(1).set_index("account_id")


def same(a: object, b: object) -> bool:
    if a is None or (isinstance(a, float) and math.isnan(a)):
        return b is None or (isinstance(b, float) and math.isnan(b))
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-6)
    return a == b


def test_feast_reads_every_value_we_materialize(sample_repo: SampleRepo,
                                                redis_client: redis.Redis) -> None:
    reports = materialize(sample_repo.definitions, redis_client)
    assert {r.view for r in reports} >= {"account_stats", "region_stats", "pair_stats"}
    accounts = sample_repo.facts["accounts"]
    got = sample_repo.store.get_online_features(
        features=FEATURES, entity_rows=[{"account_id": a} for a in accounts]
    ).to_df().set_index("account_id")
    want = expected_latest(sample_repo)
    mismatches = [
        (account, column)
        for account in accounts
        for column in ["balance", "score", "visits", "age_days", "tier", "is_vip"]
        if not same(_py(want.at[account, column]), _py(got.at[account, column]))
    ]
    assert mismatches == []
    regions = sample_repo.store.get_online_features(
        features=["region_stats:demand", "pair_stats:spend"],
        entity_rows=[{"region_code": "wést", "account_id": 1},
                     {"region_code": "north", "account_id": 2}],
    ).to_dict()
    assert regions["demand"] == [4.5, 1.5]
    assert regions["spend"] == [None, 30.0]


def _py(value: object) -> object:
    if hasattr(value, "item"):
        return value.item()  # type: ignore[union-attr]
    if value is pd.NA:
        return None
    return value


def test_our_api_serves_every_value_feast_writes(sample_repo: SampleRepo) -> None:
    now = datetime.now(UTC).replace(microsecond=250_000)
    rows = pd.DataFrame({
        "account_id": [901, 902, 903],
        "balance": [1.25, None, -3.5],
        "score": [0.5, 0.25, 0.125],
        "visits": [7, 2**40, -1],
        "age_days": [1, 2, -3],
        "tier": ["gold", "", None],
        "is_vip": [True, False, True],
        "ts": [now, now - timedelta(minutes=1), now],
        "created": [now, now, now],
    })
    sample_repo.store.write_to_online_store("account_stats", rows)
    body = {"features": FEATURES, "entities": {"account_id": [901, 902, 903, 999]}}
    with TestClient(create_app(sample_repo.settings)) as client:
        response = client.post("/get-online-features", json=body)
    assert response.status_code == 200, response.text
    payload = response.json()
    feast = sample_repo.store.get_online_features(
        features=FEATURES, entity_rows=[{"account_id": a} for a in [901, 902, 903]]
    ).to_dict()
    names = payload["metadata"]["feature_names"]
    assert names == ["account_id", "balance", "score", "visits", "age_days", "tier", "is_vip"]
    for index, name in enumerate(names[1:], start=1):
        ours = payload["results"][index]["values"][:3]
        assert all(same(a, b) for a, b in zip(feast[name], ours, strict=True)), name
        assert payload["results"][index]["statuses"][3] == "NOT_FOUND"
    assert payload["results"][1]["statuses"][:3] == ["PRESENT", "NULL_VALUE", "PRESENT"]
    stamp = payload["results"][1]["event_timestamps"][0]
    assert stamp == now.strftime("%Y-%m-%dT%H:%M:%S.250Z")
