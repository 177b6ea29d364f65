"""Wrong input to `POST /training-sets` is a 4xx naming the value, never a 500 or a failed job.

Each parametrized case is a bug a fuzzer found (schemathesis against a live server, plus the
hypothesis test at the bottom): before the fix it answered 500, or was accepted and then failed
in the worker with `internal_error`, or (`full_feature_names: "false"`) silently meant true.
A rejected request leaves nothing on disk.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st

from featurebank.training.jobs import jobs_root
from featurebank.training.registry_of_sets import list_training_sets
from tests.integration.training.test_training_api import SECRET, _json_body, api

__all__ = ["api"]
pytestmark = pytest.mark.integration
HEADERS = {"x-api-key": SECRET}
TS = ["2024-05-01T00:00:00Z"]
SPINE = {"mode": "active", "view": "stats", "start": "2024-05-01T00:00:00Z",
         "end": "2024-05-02T00:00:00Z"}


def _data_path(api: TestClient) -> Path:
    path: Path = api.app.state.featurebank.settings.data_path  # type: ignore[attr-defined]
    return path


def _job_dirs(api: TestClient) -> set[str]:
    root = jobs_root(_data_path(api))
    return {p.name for p in root.iterdir()} if root.is_dir() else set()


@pytest.mark.parametrize(("body", "named"), [
    ({"features": None, "feature_service": {}}, "'feature_service' must be a string, got {}"),
    ({"features": None, "feature_service": [1]}, "'feature_service' must be a string, got [1]"),
    ({"features": None, "feature_service": 5}, "'feature_service' must be a string, got 5"),
    ({"entities": None, "spine": {**SPINE, "every_seconds": "abc"}}, "every_seconds 'abc'"),
    ({"entities": None, "spine": {**SPINE, "every_seconds": 1e300}}, "every_seconds 1e+300"),
    ({"entities": None, "spine": {**SPINE, "every_seconds": [1]}}, "every_seconds [1]"),
    ({"entities": None, "spine": {**SPINE, "every_seconds": True}}, "every_seconds True"),
    ({"entities": None, "spine": {**SPINE, "view": {}}}, "spine view {}"),
    ({"entities": None, "spine": {**SPINE, "color": "red"}}, "unknown spine field(s) ['color']"),
    ({"full_feature_names": "false"}, "'full_feature_names' must be true or false, got 'false'"),
    ({"timestamp_column": 5}, "'timestamp_column' must be a string, got 5"),
    ({"plan": ["asof"]}, "'plan' must be a string"),
    ({"entities": {"driver_id": [1], "event_timestamp": [1e300]}},
     "'event_timestamp' has epoch seconds 1e+300 at row 0, outside years 1..9999"),
    ({"entities": {"driver_id": [1], "event_timestamp": [2**62]}},
     "'event_timestamp' has epoch seconds"),
    ({"entities": {"driver_id": [{}], "event_timestamp": TS}}, "column 'driver_id' has type"),
    ({"entities": {"driver_id": [1], "event_timestamp": TS, "label": [{}]}},
     "column 'label' holds empty objects"),
    ({"entities": {"driver_id": [], "event_timestamp": []}}, "no entity rows"),
    ({"entities": {"driver_id": [1], "event_timestamp": TS}, "timestamp_column": "driver_id"},
     "timestamp column 'driver_id' is also a join key"),
    ({"entities": {"driver_id": "1", "event_timestamp": "2"}}, "lists of equal length"),
    ({"entities": {"driver_id": [0, 2**63], "event_timestamp": TS * 2}},
     "entity column 'driver_id' holds an integer outside the 64-bit range"),
    ({"entities": {"driver_id": [2**63], "event_timestamp": TS}}, "driver_id"),
])
def test_wrong_json_is_a_422_naming_it(api: TestClient, body: dict[str, Any],
                                        named: str) -> None:
    request = {**_json_body(["stats:rate"]), **body}
    request = {k: v for k, v in request.items() if v is not None}
    before = _job_dirs(api)
    response = api.post("/training-sets", json=request, headers=HEADERS)
    assert response.status_code == 422, response.text
    assert named in response.json()["error"]["message"]
    assert _job_dirs(api) == before


CSV = b"driver_id,event_timestamp\n1,2024-05-01T00:00:00Z\n"


@pytest.mark.parametrize(("form", "named"), [
    ({"features": "[stats:rate"}, "form field 'features' '[stats:rate' is not a JSON list"),
    ({"features": "stats:rate", "full_feature_names": "maybe"},
     "'full_feature_names' must be true or false, got 'maybe'"),
    ({"features": "stats:rate", "colour": "red"}, "unknown form field(s) ['colour']"),
])
def test_wrong_form_fields_are_a_422_naming_them(api: TestClient, form: dict[str, str],
                                                 named: str) -> None:
    response = api.post("/training-sets", data=form, headers=HEADERS,
                        files={"entities": ("rows.csv", CSV, "text/csv")})
    assert response.status_code == 422, response.text
    assert named in response.json()["error"]["message"]


def test_form_flag_still_accepts_true_and_false(api: TestClient) -> None:
    for flag in ("true", "False"):
        response = api.post("/training-sets", headers=HEADERS,
                            data={"features": "stats:rate", "full_feature_names": flag},
                            files={"entities": ("rows.csv", CSV, "text/csv")})
        assert response.status_code == 202, response.text


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner,
                                                                max_size=3),
    max_leaves=8,
)
stamps = st.sampled_from(["2024-05-01T01:00:00Z", "2024-05-01", "soon", ""]) | json_values
columns = st.dictionaries(
    st.sampled_from(["driver_id", "event_timestamp", "bonus", "label", "ts"]),
    st.lists(st.integers(-3, 3) | stamps, min_size=0, max_size=3) | json_values, max_size=4)
spines = st.fixed_dictionaries(
    {"mode": st.sampled_from(["active", "label", "other"]) | json_values,
     "view": st.sampled_from(["stats", "profile", "empty", "ghost"]) | json_values},
    optional={"start": stamps, "end": stamps,
              "every_seconds": st.sampled_from([3600, 0.5, 0, -1]) | json_values})
random_bodies = st.fixed_dictionaries({}, optional={
    "features": st.lists(st.sampled_from(["stats:rate", "profile:tier", "adjusted:rate_plus_bonus",
                                          "stats", "nope:x", ":"]), max_size=3) | json_values,
    "feature_service": st.sampled_from(["training", "ghost"]) | json_values,
    "entities": columns | json_values,
    "spine": spines | json_values,
    "full_feature_names": st.booleans() | json_values,
    "timestamp_column": st.sampled_from(["event_timestamp", "ts", "driver_id"]) | json_values,
    "plan": st.sampled_from(["auto", "asof", "range", "fast"]) | json_values,
}) | json_values
VALID = {"features": ["stats:rate", "profile:tier"],
         "entities": {"driver_id": [1, 2], "event_timestamp": ["2024-05-01T01:00:00Z"] * 2}}
option_values = {
    "features": st.lists(st.sampled_from(["stats:rate", "stats:trips", "profile:tier",
                                          "adjusted:rate_plus_bonus", "nope:x"]),
                         min_size=1, max_size=3, unique=True),
    "feature_service": st.just("training") | json_values,
    "full_feature_names": st.booleans() | json_values,
    "timestamp_column": st.sampled_from(["event_timestamp", "driver_id", "ts"]) | json_values,
    "plan": st.sampled_from(["auto", "asof", "range"]) | json_values,
    "spine": spines,
}
one_option_changed = st.sampled_from(sorted(option_values)).flatmap(
    lambda name: option_values[name].map(lambda value: {**VALID, name: value}))
one_column_changed = st.tuples(
    st.sampled_from(["driver_id", "event_timestamp", "bonus", "label"]),
    st.lists(st.integers(-2**63, 2**63) | stamps, min_size=2, max_size=2) | json_values,
).map(lambda change: {**VALID, "entities": {**VALID["entities"], change[0]: change[1]}})
bodies = one_option_changed | one_column_changed | random_bodies


def test_any_body_is_accepted_or_a_clear_4xx_and_no_job_fails_internally(
        api: TestClient) -> None:
    accepted: list[str] = []

    @settings(max_examples=400, deadline=None, database=None)
    @given(body=bodies)
    def check(body: object) -> None:
        response = api.post("/training-sets", json=body, headers=HEADERS)
        assert response.status_code in (202, 413, 422), response.text
        if response.status_code == 202:
            accepted.append(response.json()["id"])
        else:
            error = response.json()["error"]
            assert error["message"]
            assert error["code"] != "internal_error"

    check()
    assert accepted, "no generated body was valid: the strategy needs fixing"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        records = {r.id: r for r in list_training_sets(_data_path(api))}
        if all(records[i].status in ("succeeded", "failed") for i in accepted):
            break
        time.sleep(0.1)
    for set_id in accepted:
        body = api.get(f"/training-sets/{set_id}").json()
        assert body["status"] in ("succeeded", "failed"), body
        assert (body["error"] or {}).get("code") != "internal_error", body
