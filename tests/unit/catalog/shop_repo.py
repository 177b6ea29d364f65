"""A realistic test-time catalog (an online shop), independent of the demo repo.

`SOURCE` is a Feast definitions module: unit tests exec it and compile `Definitions` in-process
(no registry, no Redis); integration tests write it into a throwaway repo and `feast apply` it.
Parquet paths come from FEATUREBANK_DATA_DIR so the integration fixture can write data there.
"""

from __future__ import annotations

import importlib.util
import tempfile
import warnings
from pathlib import Path
from typing import Any

from featurebank.definitions import Definitions, compile_view

SOURCE = '''
import os
from datetime import timedelta

import pandas as pd
from feast import (Entity, FeatureService, FeatureView, Field, FileSource, KafkaSource,
                   PushSource, RequestSource, ValueType)
from feast.data_format import JsonFormat, ParquetFormat
from feast.on_demand_feature_view import on_demand_feature_view
from feast.stream_feature_view import StreamFeatureView
from feast.types import Bool, Float32, Float64, Int32, Int64, String

DATA = os.environ.get("FEATUREBANK_DATA_DIR", "/tmp/shop-data")
GROWTH = "growth-ml@shop.example"
RISK = "risk-ml@shop.example"
SUPPLY = "supply-chain@shop.example"


def tags(team, domain, cadence):
    return {"team": team, "domain": domain, "cadence": cadence}


def parquet(name, rel, description, owner, team, domain, cadence):
    return FileSource(name=name, path=f"{DATA}/{rel}", file_format=ParquetFormat(),
                      timestamp_field="event_timestamp", description=description,
                      owner=owner, tags=tags(team, domain, cadence))


customer = Entity(name="customer", join_keys=["customer_id"], value_type=ValueType.INT64,
                  description="A shopper account, keyed by the numeric account id.",
                  owner=GROWTH, tags=tags("growth", "customer", "static"))
merchant = Entity(name="merchant", join_keys=["merchant_id"], value_type=ValueType.STRING,
                  description="A seller on the marketplace, keyed like 'm-0042'.",
                  owner=RISK, tags=tags("risk", "merchant", "static"))
product = Entity(name="product", join_keys=["product_id"], value_type=ValueType.INT64,
                 description="A catalog item (SKU) sold by a merchant.",
                 owner=SUPPLY, tags=tags("supply", "product", "static"))

customer_orders_src = parquet("customer_orders_daily", "customer_order_stats.parquet",
                              "Nightly roll-up of orders per customer from the order ledger.",
                              GROWTH, "growth", "customer", "daily")
customer_profile_src = parquet("customer_profile_snapshot", "customer_profile.parquet",
                               "Daily snapshot of customer account attributes.",
                               GROWTH, "growth", "customer", "daily")
merchant_risk_src = parquet("merchant_risk_ledger", "merchant_risk.parquet",
                            "Chargebacks and disputes per merchant from the payments ledger.",
                            RISK, "risk", "merchant", "daily")
inventory_src = parquet("warehouse_inventory", "inventory.parquet",
                        "Stock counts per SKU reported by the warehouse system every hour.",
                        SUPPLY, "supply", "product", "hourly")
web_sessions_src = parquet("web_sessions_log", "web_sessions.parquet",
                           "Session counts per customer.", GROWTH, "growth", "customer", "daily")
app_sessions_src = parquet("app_sessions_log", "app_sessions.parquet",
                           "Session counts per customer.", GROWTH, "growth", "customer", "daily")

checkout_events = KafkaSource(
    name="checkout_events", topic="shop-checkout-events", kafka_bootstrap_servers="localhost:9092",
    timestamp_field="event_timestamp",
    message_format=JsonFormat(schema_json="customer_id BIGINT, carts_open_5m INT, "
                              "checkout_attempts_5m INT, payment_failures_5m INT, "
                              "event_timestamp TIMESTAMP"),
    batch_source=parquet("checkout_events_history", "checkout/*.parquet",
                         "Offline history of checkout events.", RISK, "risk", "customer",
                         "streaming"),
    description="Checkout funnel events from the web and app storefronts.",
    owner=RISK, tags=tags("risk", "customer", "streaming"),
)
price_push = PushSource(
    name="price_updates_push",
    batch_source=parquet("price_updates_history", "prices/*.parquet",
                         "Offline history of pushed price changes.", SUPPLY, "supply",
                         "product", "realtime"),
    description="Price changes pushed by the pricing service.", owner=SUPPLY,
    tags=tags("supply", "product", "realtime"),
)
basket_request = RequestSource(name="basket_request",
                               schema=[Field(name="basket_total_usd", dtype=Float64)],
                               description="The basket being checked out.")

customer_order_stats = FeatureView(
    name="customer_order_stats", entities=[customer], ttl=timedelta(days=2),
    schema=[
        Field(name="customer_id", dtype=Int64),
        Field(name="orders_count_7d", dtype=Int64, description="Orders placed in the last 7 days."),
        Field(name="avg_order_value_30d", dtype=Float64,
              description="Mean order value in USD over 30 days."),
        Field(name="refund_rate_90d", dtype=Float32,
              description="Share of orders refunded over 90 days (0-1)."),
        Field(name="days_since_last_order", dtype=Int32,
              description="Days since the customer last placed an order."),
    ],
    source=customer_orders_src, online=True,
    description="How much and how often a customer buys; the core retention signal.",
    owner=GROWTH, tags=tags("growth", "customer", "daily"),
)
customer_profile = FeatureView(
    name="customer_profile", entities=[customer], ttl=timedelta(days=30),
    schema=[
        Field(name="customer_id", dtype=Int64),
        Field(name="signup_channel", dtype=String,
              description="Acquisition channel: organic, paid_search, referral or affiliate."),
        Field(name="loyalty_tier", dtype=String,
              description="Loyalty programme tier: bronze, silver, gold or platinum."),
        Field(name="is_email_verified", dtype=Bool,
              description="Whether the customer confirmed their email address."),
        Field(name="account_age_days", dtype=Int32, description="Days since sign-up."),
    ],
    source=customer_profile_src, online=True,
    description="Slowly changing customer account attributes.",
    owner=GROWTH, tags=tags("growth", "customer", "daily"),
)
merchant_risk_daily = FeatureView(
    name="merchant_risk_daily", entities=[merchant], ttl=timedelta(days=2),
    schema=[
        Field(name="merchant_id", dtype=String),
        Field(name="chargeback_rate_30d", dtype=Float32,
              description="Share of card payments charged back over 30 days (0-1)."),
        Field(name="dispute_count_30d", dtype=Int32,
              description="Payment disputes opened against the merchant in 30 days."),
        Field(name="fraud_score", dtype=Float32,
              description="Probability the merchant is fraudulent, from the risk model."),
    ],
    source=merchant_risk_src, online=True,
    description="Merchant payment risk: chargebacks, disputes and a fraud score.",
    owner=RISK, tags=tags("risk", "merchant", "daily"),
)
product_inventory = FeatureView(
    name="product_inventory", entities=[product], ttl=timedelta(hours=3),
    schema=[
        Field(name="product_id", dtype=Int64),
        Field(name="stock_level", dtype=Int32, description="Units on hand across warehouses."),
        Field(name="restock_eta_days", dtype=Float32,
              description="Expected days until the next restock arrives."),
        Field(name="warehouse_id", dtype=String, description="Warehouse holding most stock."),
    ],
    source=inventory_src, online=True,
    description="Stock availability per SKU, hourly from the warehouse management system.",
    owner=SUPPLY, tags=tags("supply", "product", "hourly"),
)
web_sessions_daily = FeatureView(
    name="web_sessions_daily", entities=[customer], ttl=timedelta(days=2),
    schema=[Field(name="customer_id", dtype=Int64),
            Field(name="session_count_7d", dtype=Int32, description="Sessions in 7 days.")],
    source=web_sessions_src, online=True, description="Sessions per customer.",
    owner=GROWTH, tags=tags("growth", "customer", "daily"),
)
app_sessions_daily = FeatureView(
    name="app_sessions_daily", entities=[customer], ttl=timedelta(days=2),
    schema=[Field(name="customer_id", dtype=Int64),
            Field(name="session_count_7d", dtype=Int32, description="Sessions in 7 days.")],
    source=app_sessions_src, online=True, description="Sessions per customer.",
    owner=GROWTH, tags=tags("growth", "customer", "daily"),
)
checkout_activity_live = StreamFeatureView(
    name="checkout_activity_live", entities=[customer], ttl=timedelta(minutes=30),
    schema=[
        Field(name="customer_id", dtype=Int64),
        Field(name="carts_open_5m", dtype=Int32, description="Carts opened in 5 minutes."),
        Field(name="checkout_attempts_5m", dtype=Int32,
              description="Checkout attempts in the last 5 minutes."),
        Field(name="payment_failures_5m", dtype=Int32,
              description="Declined or failed payments in the last 5 minutes."),
    ],
    source=checkout_events, online=True,
    description="Live checkout behaviour; bursts of failed payments signal card testing.",
    owner=RISK, tags=tags("risk", "customer", "streaming"),
)
product_price_live = FeatureView(
    name="product_price_live", entities=[product], ttl=timedelta(days=1),
    schema=[
        Field(name="product_id", dtype=Int64),
        Field(name="current_price_usd", dtype=Float64, description="Listed price in USD."),
        Field(name="discount_pct", dtype=Float32, description="Active discount percentage."),
    ],
    source=price_push, online=True, description="Current price and discount per SKU.",
    owner=SUPPLY, tags=tags("supply", "product", "realtime"),
)


@on_demand_feature_view(
    sources=[merchant_risk_daily[["fraud_score"]], basket_request],
    schema=[Field(name="basket_fraud_probability", dtype=Float64)],
    mode="pandas",
    description="Scores a basket for fraud from merchant risk and its total. Outputs: "
                "basket_fraud_probability: fraud probability of the basket at checkout.",
    owner=RISK, tags=tags("risk", "merchant", "realtime"),
)
def basket_risk(inputs: pd.DataFrame) -> pd.DataFrame:
    out = pd.DataFrame(index=inputs.index)
    score = pd.to_numeric(inputs["fraud_score"], errors="coerce").astype("float64").fillna(0.0)
    out["basket_fraud_probability"] = (score * inputs["basket_total_usd"] / 500.0).clip(upper=1.0)
    return out


fraud_screening_v2 = FeatureService(
    name="fraud_screening_v2",
    features=[merchant_risk_daily, checkout_activity_live, basket_risk],
    description="Features of the checkout fraud screening model, version 2.",
    owner=RISK, tags=tags("risk", "customer", "realtime"),
)
recommendations_v1 = FeatureService(
    name="recommendations_v1",
    features=[customer_order_stats, customer_profile[["loyalty_tier"]], product_inventory],
    description="Inputs of the home page product recommender.",
    owner=GROWTH, tags=tags("growth", "customer", "daily"),
)
'''


def shop_objects() -> dict[str, Any]:
    """Import the definitions from a file (Feast reads on-demand UDF source from it)."""
    folder = Path(tempfile.mkdtemp(prefix="shop-repo-"))
    path = folder / "shop_definitions.py"
    path.write_text(SOURCE)
    spec = importlib.util.spec_from_file_location(f"shop_definitions_{folder.name}", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        spec.loader.exec_module(module)
    return vars(module)


def shop_definitions(project: str = "shop", version: str = "v1") -> Definitions:
    """`Definitions` compiled in-process from the shop catalog (no registry involved)."""
    from feast import Entity, FeatureService, FeatureView, OnDemandFeatureView
    from feast.data_source import DataSource

    objects = shop_objects()
    entities = {o.name: o for o in objects.values() if isinstance(o, Entity)}
    views = {o.name: compile_view(o, project, entities) for o in objects.values()
             if isinstance(o, FeatureView)}
    return Definitions(
        project=project, version=version, views=views,
        on_demand={o.name: o for o in objects.values() if isinstance(o, OnDemandFeatureView)},
        services={o.name: o for o in objects.values() if isinstance(o, FeatureService)},
        entities=entities,
        data_sources={o.name: o for o in objects.values() if isinstance(o, DataSource)},
    )


