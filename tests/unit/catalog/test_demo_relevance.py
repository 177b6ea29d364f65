"""The issue's relevance set over the demo catalog in feature_repo/ (skipped if it is absent).

This is the one catalog test that names demo objects, on purpose: it is the acceptance check
that real questions ("driver acceptance rate", "surge", "fraud", a typo) find the right
feature. The repo is parsed in-process (no registry) the way `feast apply` imports it.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from featurebank.catalog.search import Query
from featurebank.catalog.service import Catalog
from featurebank.definitions import Definitions, compile_view

REPO = Path(__file__).resolve().parents[3] / "feature_repo"

pytestmark = [
    pytest.mark.skipif(not (REPO / "feature_store.yaml").exists(), reason="no demo feature_repo/"),
    pytest.mark.filterwarnings("ignore::RuntimeWarning"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
]

DEMO_RELEVANCE = [
    ("driver acceptance rate", "driver_hourly_stats:acceptance_rate_1h", 1),
    ("driver acceptance rate", "driver_daily_stats:acceptance_rate_7d", 1),
    ("acceptnace rate", "driver_hourly_stats:acceptance_rate_1h", 1),  # typo
    ("surge", "surge_pricer_v1", 0),
    ("surge multiplier", "zone_hourly_stats:zone_surge_multiplier_1h", 0),
    ("fraud", "fraud_detector_v2", 0),
    ("pickup eta", "zone_live_demand:p50_pickup_eta_s", 2),
    ("cancellation rate", "driver_hourly_stats:cancellation_rate_1h", 1),
    ("driver rating", "driver_daily_stats:avg_rating_30d", 0),
    ("vehicle", "driver_profile:vehicle_class", 0),
    ("electric vehicle", "driver_profile:is_ev", 0),
    ("earnings", "driver_hourly_stats:earnings_usd_1h", 0),
    ("idle driver", "driver_live_state:minutes_idle", 0),
    ("open requests", "zone_live_demand:open_requests", 0),
    ("zone demand", "zone_live_demand", 0),
    ("rider risk", "rider_risk_daily", 0),
    ("trip quote", "trip_quote", 0),
    ("quoted fare", "trip_quote:quoted_fare_usd", 0),
    ("driver live state", "driver_live_state", 0),
    ("driver-state-events", "driver_state_events", 0),
    ("dispatch ranker", "dispatch_ranker_v1", 0),
    ("earnigns", "driver_hourly_stats:earnings_usd_1h", 0),  # typo: swap
]


@pytest.fixture(scope="module")
def demo() -> Catalog:
    from feast.repo_operations import parse_repo

    before = set(sys.modules)
    sys.path.insert(0, str(REPO))
    try:
        contents = parse_repo(REPO)
    finally:
        sys.path.remove(str(REPO))
        for name in set(sys.modules) - before:  # the repo's bare-named modules
            if getattr(sys.modules[name], "__file__", "") and \
                    str(sys.modules[name].__file__).startswith(str(REPO)):
                del sys.modules[name]
    entities = {e.name: e for e in contents.entities}
    views = {v.name: compile_view(v, "demo", entities)
             for v in [*contents.feature_views, *contents.stream_feature_views]}
    definitions = Definitions(
        project="demo", version="demo", views=views,
        on_demand={o.name: o for o in contents.on_demand_feature_views},
        services={s.name: s for s in contents.feature_services}, entities=entities,
        data_sources={s.name: s for s in contents.data_sources},
    )
    catalog = Catalog()
    catalog.rebuild(definitions)
    return catalog


@pytest.mark.parametrize(("query", "expected", "slack"), DEMO_RELEVANCE)
def test_demo_relevance(demo: Catalog, query: str, expected: str, slack: int) -> None:
    names = [h["name"] for h in demo.search(Query(query, limit=5))["hits"]]
    assert expected in names[:slack + 1], f"{query!r} → {names}"


def test_demo_set_is_large_enough() -> None:
    assert len({q for q, _, _ in DEMO_RELEVANCE}) >= 20


def test_demo_entity_name_then_its_views(demo: Catalog) -> None:
    hits = demo.search(Query("rider", limit=20))["hits"]
    views = set(demo.snapshot.records.entities["rider"].views)
    assert (hits[0]["kind"], hits[0]["name"]) == ("entity", "rider")
    assert {h["name"] for h in hits[1:1 + len(views)]} == views


def test_demo_fraud_finds_the_views_behind_the_service(demo: Catalog) -> None:
    found = {h["name"] for h in demo.search(Query("fraud", limit=30))["hits"]}
    service = demo.snapshot.records.services["fraud_detector_v2"]
    assert set(service.views) <= found


def test_demo_pii_finds_only_pii_true(demo: Catalog) -> None:
    hits = demo.search(Query("pii", limit=200))["hits"]
    assert hits
    assert all(h["tags"].get("pii") == "true" for h in hits)
