"""On-demand features at lookup time equal stock Feast's, on the demo repo's services."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import redis
from fastapi.testclient import TestClient

from featurebank.definitions import load_definitions
from featurebank.demo.generate import generate_demo_data
from featurebank.feast_repo import apply_repo, open_store
from featurebank.materialize import materialize
from featurebank.settings import Settings
from featurebank.stack.sample import _sample_keys
from server.app import create_app

ROOT = Path(__file__).resolve().parents[3]


def close(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-6) or (math.isnan(a) and math.isnan(b))
    return a == b


@pytest.mark.slow
def test_services_with_on_demand_views_match_feast(tmp_path: Path, redis_url: str) -> None:
    settings = Settings(_env_file=None, FEATUREBANK_REPO=str(ROOT / "feature_repo"),  # type: ignore[call-arg]
                        FEATUREBANK_DATA_DIR=str(tmp_path / "data"), REDIS_URL=redis_url,
                        FEATUREBANK_REGISTRY_REFRESH_S=0)
    generate_demo_data(settings.data_path, scale=0.05)
    apply_repo(settings)
    store = open_store(settings)
    definitions = load_definitions(store)
    materialize(definitions, redis.Redis.from_url(redis_url))
    services = [name for name, service in sorted(definitions.services.items())
                if any(p.name in definitions.on_demand for p in service.feature_view_projections)]
    assert services, "the demo repo should have services with on-demand views"
    compared = 0
    with TestClient(create_app(settings)) as client:
        for name in services:
            service = definitions.services[name]
            entities: dict[str, list[object]] = {}
            for projection in service.feature_view_projections:
                if projection.name in definitions.views:
                    for key, values in _sample_keys(definitions.views[projection.name], 2).items():
                        entities.setdefault(key, values[:2])
                else:
                    odfv = definitions.on_demand[projection.name]
                    for source in odfv.source_request_sources.values():
                        for field in source.schema:
                            kind = str(field.dtype)
                            entities[field.name] = ([True, False] if "Bool" in kind
                                                    else [3.5, 12.0])
            ours = client.post("/get-online-features",
                               json={"feature_service": name, "entities": entities})
            assert ours.status_code == 200, ours.text
            payload = ours.json()
            rows = [dict(zip(entities, values, strict=True))
                    for values in zip(*entities.values(), strict=True)]
            theirs = store.get_online_features(features=store.get_feature_service(name),
                                               entity_rows=rows).to_dict()
            # Feast ignores TTLs online; rows where we withheld a stale value (and so fed the
            # on-demand view a null) legitimately differ, so only the other rows are compared.
            fresh = [row for row in range(len(rows))
                     if all(r["statuses"][row] != "OUTSIDE_MAX_AGE" for r in payload["results"])]
            compared += len(fresh)
            for index, column in enumerate(payload["metadata"]["feature_names"]):
                if column in entities:
                    continue
                got = payload["results"][index]["values"]
                for row in fresh:
                    assert close(got[row], theirs[column][row]), (name, column, row, got,
                                                                   theirs[column])
    assert compared > 0
