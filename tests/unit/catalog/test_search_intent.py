"""What a query means beyond its words: an entity named exactly, a model's service, a flag tag."""

from __future__ import annotations

import pytest

from featurebank.catalog.index import build_index
from featurebank.catalog.records import FeatureRecord, Records, ViewRecord
from featurebank.catalog.search import Query, Searcher
from featurebank.catalog.service import Catalog
from tests.unit.catalog.shop_repo import shop_definitions

pytestmark = [
    pytest.mark.filterwarnings("ignore:Stream feature views are experimental:RuntimeWarning"),
]


@pytest.fixture(scope="module")
def shop() -> Catalog:
    catalog = Catalog()
    catalog.rebuild(shop_definitions())
    return catalog


def names(catalog: Catalog, text: str, **filters: str) -> list[str]:
    return [h["name"] for h in catalog.search(Query(text, limit=50, **filters))["hits"]]


@pytest.mark.parametrize("text", ["customer", "Customer ", "customer_id"])
def test_an_entity_named_exactly_comes_first_then_its_views(shop: Catalog, text: str) -> None:
    records = shop.snapshot.records
    views = set(records.entities["customer"].views)
    assert len(views) >= 4
    hits = shop.search(Query(text, limit=50))["hits"]
    assert (hits[0]["kind"], hits[0]["name"]) == ("entity", "customer")
    assert hits[0]["why"]["pinned"]
    following = hits[1:1 + len(views)]
    assert {h["name"] for h in following} == views
    assert all(h["kind"] == "feature_view" for h in following)


def test_a_word_inside_an_entity_name_is_not_pinned(shop: Catalog) -> None:
    hits = shop.search(Query("customer order value", limit=5))["hits"]
    assert hits[0]["name"] == "customer_order_stats:avg_order_value_30d"
    assert all("pinned" not in h["why"] for h in hits)


def test_a_services_name_finds_the_views_it_reads(shop: Catalog) -> None:
    found = names(shop, "screening")
    assert found[0] == "fraud_screening_v2"
    # checkout_activity_live never says "screening" itself: it is found through its service
    assert {"merchant_risk_daily", "checkout_activity_live", "basket_risk"} <= set(found)


def _flagged_records() -> Records:
    def view(name: str, pii: str) -> ViewRecord:
        return ViewRecord(name=name, type="batch", description="ledger totals", owner="o",
                          tags={"pii": pii, "team": "core"}, entities=[], join_keys=[],
                          features=[FeatureRecord(name, "total", "Int64", "a total")],
                          ttl_seconds=None, online=True, sources=[])

    views = {v.name: v for v in (view("personal", "True"), view("anonymous", "false"),
                                 view("masked", "no"))}
    return Records(version="v", project="p", entities={}, views=views, services={},
                   sources={})


def test_a_flag_tag_finds_only_objects_where_it_is_true() -> None:
    searcher = Searcher(build_index(_flagged_records()))
    by_word = {h["name"] for h in searcher.search(Query("pii", limit=50))}
    assert by_word == {"personal", "personal:total"}
    by_filter = {h["name"] for h in searcher.search(Query("", tag="pii", limit=50))}
    assert by_filter == {"personal", "personal:total"}
    exact = {h["name"] for h in searcher.search(Query("", tag="pii:false", limit=50))}
    assert exact == {"anonymous", "anonymous:total"}
    team = {h["name"] for h in searcher.search(Query("core", kind="feature_view", limit=50))}
    assert team == {"personal", "anonymous", "masked"}
