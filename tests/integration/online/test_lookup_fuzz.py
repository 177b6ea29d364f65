"""Arbitrary bodies never crash the lookup endpoint: every answer is a 200 or a named 4xx."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import redis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from featurebank.materialize import materialize
from server.app import create_app
from tests.integration.online.conftest import SampleRepo

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False)
    | st.text(max_size=12) | st.sampled_from(["--5", "²", "1-", "١٢", "007"]),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                 max_size=4),
    max_leaves=12,
)
feature_refs = st.sampled_from(["account_stats:tier", "account_stats:balance",
                                "region_stats:demand", "pair_stats:spend", "nope:x",
                                "account_stats", ":", ""])
bodies = st.fixed_dictionaries(
    {},
    optional={
        "features": st.lists(feature_refs, max_size=4) | json_values,
        "feature_service": st.sampled_from(["scoring_v1", "ghost"]) | json_values,
        "entities": st.dictionaries(
            st.sampled_from(["account_id", "region_code", "other"]),
            st.lists(st.integers(-5, 5) | st.text(max_size=5) | st.none(), max_size=3)
            | json_values, max_size=3) | json_values,
        "full_feature_names": st.booleans() | json_values,
    },
) | json_values


@pytest.fixture(scope="module")
def client(sample_repo: SampleRepo, redis_url: str) -> Iterator[TestClient]:
    materialize(sample_repo.definitions, redis.Redis.from_url(redis_url))
    with TestClient(create_app(sample_repo.settings)) as test_client:
        yield test_client


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=bodies)
def test_any_body_gets_200_or_a_clear_4xx(client: TestClient, body: object) -> None:
    response = client.post("/get-online-features", content=json.dumps(body),
                           headers={"content-type": "application/json"})
    assert response.status_code in (200, 413, 422), response.text
    if response.status_code != 200:
        error = response.json()["error"]
        assert error["message"]
        assert error["code"] != "internal_error"
