"""Relevance: each query's expected object must be the top hit (or within the top few)."""

from __future__ import annotations

import pytest

from featurebank.catalog.search import Query
from featurebank.catalog.service import Catalog
from tests.unit.catalog.shop_repo import shop_definitions

pytestmark = [
    pytest.mark.filterwarnings("ignore:Stream feature views are experimental:RuntimeWarning"),
]

# (query, expected top hit, how many top hits may precede it)
SHOP_RELEVANCE = [
    ("customer order value", "customer_order_stats:avg_order_value_30d", 0),
    ("average order value", "customer_order_stats:avg_order_value_30d", 0),
    ("orders last 7 days", "customer_order_stats:orders_count_7d", 0),
    ("refund rate", "customer_order_stats:refund_rate_90d", 0),
    ("refunds", "customer_order_stats:refund_rate_90d", 0),
    ("chargeback", "merchant_risk_daily:chargeback_rate_30d", 0),
    ("chargebak", "merchant_risk_daily:chargeback_rate_30d", 0),  # typo: one deletion
    ("chrageback rate", "merchant_risk_daily:chargeback_rate_30d", 0),  # typo: swap
    ("merchant fraud score", "merchant_risk_daily:fraud_score", 0),
    ("disputes", "merchant_risk_daily:dispute_count_30d", 0),
    ("fraud", "basket_risk:basket_fraud_probability", 2),
    ("fraud screening", "fraud_screening_v2", 0),
    ("stock level", "product_inventory:stock_level", 0),
    ("restock", "product_inventory:restock_eta_days", 0),
    ("inventory", "product_inventory", 0),
    ("warehouse", "product_inventory:warehouse_id", 1),
    ("loyalty tier", "customer_profile:loyalty_tier", 0),
    ("loyal", "customer_profile:loyalty_tier", 0),  # prefix
    ("email verified", "customer_profile:is_email_verified", 0),
    ("signup channel", "customer_profile:signup_channel", 0),
    ("payment failures", "checkout_activity_live:payment_failures_5m", 0),
    ("card testing", "checkout_activity_live", 0),
    ("checkout events topic", "checkout_events", 0),
    ("discount percentage", "product_price_live:discount_pct", 0),
    ("basket", "basket_risk", 0),
    ("recommender", "recommendations_v1", 0),
    ("accountAge", "customer_profile:account_age_days", 0),  # camelCase splits
    ("merchant", "merchant", 0),
]


@pytest.fixture(scope="module")
def shop() -> Catalog:
    catalog = Catalog()
    catalog.rebuild(shop_definitions())
    return catalog


@pytest.mark.parametrize(("query", "expected", "slack"), SHOP_RELEVANCE)
def test_shop_relevance(shop: Catalog, query: str, expected: str, slack: int) -> None:
    names = [h["name"] for h in shop.search(Query(query, limit=5))["hits"]]
    assert expected in names[:slack + 1], f"{query!r} → {names}"


def test_relevance_set_is_large_enough() -> None:
    assert len(SHOP_RELEVANCE) >= 20


def test_every_hit_explains_its_score(shop: Catalog) -> None:
    for hit in shop.search(Query("customer orders"))["hits"]:
        why = hit["why"]
        assert why["text"] > 0
        assert 0 < why["coverage"] <= 1
        assert why["usage"]["boost"] == 1.0
        assert why["freshness"] == 1.0


def test_ties_are_deterministic(shop: Catalog) -> None:
    first = shop.search(Query("session count", kind="feature"))["hits"]
    assert [h["name"] for h in first[:2]] == ["app_sessions_daily:session_count_7d",
                                              "web_sessions_daily:session_count_7d"]
    assert first[0]["score"] == first[1]["score"]
    for _ in range(3):
        assert shop.search(Query("session count", kind="feature"))["hits"] == first


def test_rebuild_swaps_the_index(shop: Catalog) -> None:
    definitions = shop_definitions(version="v2")
    del definitions.views["product_inventory"]
    catalog = Catalog()
    catalog.rebuild(definitions)
    names = {h["name"] for h in catalog.search(Query("inventory", limit=50))["hits"]}
    assert "product_inventory" not in names
    assert "warehouse_inventory" in names  # the source is still registered


def test_filters_and_empty_query(shop: Catalog) -> None:
    services = shop.search(Query("", kind="feature_service"))["hits"]
    assert [h["name"] for h in services] == ["fraud_screening_v2", "recommendations_v1"]
    assert shop.search(Query(""))["hits"] == []  # nothing to rank without words or usage
    tagged = shop.search(Query("rate", tag="domain=merchant"))["hits"]
    assert tagged
    assert all(h["tags"]["domain"] == "merchant" for h in tagged)
