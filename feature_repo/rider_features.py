"""Rider features: account history for growth models, payment risk for fraud detection."""

from datetime import timedelta

from data_sources import rider_app_activity_push, rider_profile_source, rider_risk_daily_source
from entities import rider, rider_id_field
from feast import FeatureView, Field
from feast.types import Bool, Float32, Float64, Int32, Int64, String
from teams import RIDER_GROWTH, TRUST_SAFETY_ML, owner, tags

rider_profile = FeatureView(
    name="rider_profile",
    entities=[rider],
    ttl=timedelta(days=3),
    schema=[
        rider_id_field(),
        Field(
            name="rider_lifetime_trips",
            dtype=Int64,
            description="Trips the rider has completed since signing up.",
        ),
        Field(
            name="account_age_days",
            dtype=Int32,
            description="Days since the rider account was created.",
        ),
        Field(
            name="avg_fare_usd_90d",
            dtype=Float64,
            description="Mean fare the rider paid over the trailing 90 days, in USD.",
        ),
        Field(
            name="preferred_payment_method",
            dtype=String,
            description="Most used payment method: card, wallet, paypal or cash.",
        ),
        Field(
            name="is_business_account",
            dtype=Bool,
            description="Whether trips are billed to an employer's business profile.",
        ),
        Field(
            name="rider_rating",
            dtype=Float32,
            description="Mean rating drivers gave the rider (1-5 stars).",
        ),
    ],
    source=rider_profile_source,
    online=True,
    description="Rider account snapshot, refreshed daily from the rider lifecycle mart.",
    owner=owner(RIDER_GROWTH),
    tags=tags(RIDER_GROWTH, "rider", pii=True, cadence="daily"),
)

rider_risk_daily = FeatureView(
    name="rider_risk_daily",
    entities=[rider],
    ttl=timedelta(days=2),
    schema=[
        rider_id_field(),
        Field(
            name="payment_failure_rate_30d",
            dtype=Float32,
            description="Share of the rider's card authorizations declined over 30 days (0-1).",
        ),
        Field(
            name="chargebacks_90d",
            dtype=Int32,
            description="Chargebacks filed against the rider's trips over 90 days.",
        ),
        Field(
            name="distinct_cards_30d",
            dtype=Int32,
            description="Distinct payment cards the rider used over 30 days.",
        ),
        Field(
            name="refund_requests_30d",
            dtype=Int32,
            description="Fare refund requests the rider opened over 30 days.",
        ),
        Field(
            name="devices_30d",
            dtype=Int32,
            description="Distinct devices that signed in to the account over 30 days.",
        ),
    ],
    source=rider_risk_daily_source,
    online=True,
    description=(
        "Daily payment-risk signals per rider. Counts over long windows change slowly, so a "
        "two-day TTL tolerates one missed nightly run."
    ),
    owner=owner(TRUST_SAFETY_ML),
    tags=tags(TRUST_SAFETY_ML, "rider", pii=True, cadence="daily"),
)

rider_app_activity = FeatureView(
    name="rider_app_activity",
    entities=[rider],
    ttl=timedelta(hours=1),
    schema=[
        rider_id_field(),
        Field(
            name="app_sessions_15m",
            dtype=Int32,
            description="App sessions the rider opened in the last 15 minutes.",
        ),
        Field(
            name="price_checks_15m",
            dtype=Int32,
            description="Fare quotes the rider requested in the last 15 minutes.",
        ),
        Field(
            name="last_quoted_surge",
            dtype=Float32,
            description="Surge multiplier on the rider's most recent fare quote.",
        ),
        Field(
            name="app_platform",
            dtype=String,
            description="Platform of the latest session: ios, android or web.",
        ),
        Field(
            name="on_vpn",
            dtype=Bool,
            description="Whether the latest session came through a known VPN or proxy range.",
        ),
    ],
    source=rider_app_activity_push,
    online=True,
    description=(
        "Fresh rider app activity pushed by the rider app backend (POST /push); scripted price "
        "checking and VPN use often precede account takeover."
    ),
    owner=owner(TRUST_SAFETY_ML),
    tags=tags(TRUST_SAFETY_ML, "rider", pii=True, cadence="realtime"),
)
