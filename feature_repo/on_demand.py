"""Request-time features: values only known when a request arrives, combined with stored ones.

Transformations run in pandas mode inside whichever process serves the request, so they are
vectorized, import only pandas/numpy, and treat a missing stored value as "unknown" (a neutral
default) instead of failing the whole lookup.

Output fields carry no `description`: Feast 0.67 drops it when it reads an on-demand view back
from the registry, after which any feature service that selects the view fails with "The
projection for <view> cannot be applied" (Field equality includes the description), and a
described output also breaks `feast apply`'s inference (feast-dev/feast#3617). Each output is
documented in its view's description instead, by `outputs()`.

A transformation must be self-contained: Feast stores its source text and serving processes
rebuild it with only `pd` and `np` in scope, so helpers are nested inside each function.
"""

import numpy as np
import pandas as pd
from driver_features import driver_hourly_stats
from feast import Field, RequestSource
from feast.on_demand_feature_view import on_demand_feature_view
from feast.types import Bool, Float32, Float64, PrimitiveFeastType
from rider_features import rider_profile, rider_risk_daily
from streams import driver_live_state, zone_live_demand
from teams import MAPPING_ML, MARKETPLACE_ML, TRUST_SAFETY_ML, owner, tags
from zone_features import zone_hourly_stats

trip_request = RequestSource(
    name="trip_request",
    schema=[
        Field(
            name="trip_distance_km",
            dtype=Float64,
            description="Planned route distance from pickup to drop-off, in km.",
        ),
        Field(
            name="trip_duration_min",
            dtype=Float64,
            description="Planned route duration without traffic, in minutes.",
        ),
    ],
    description="The route the rider asked a quote for, sent with the quote request.",
    owner=owner(MAPPING_ML),
    tags=tags(MAPPING_ML, "trip", pii=False, cadence="request"),
)

payment_request = RequestSource(
    name="payment_request",
    schema=[
        Field(
            name="payment_amount_usd",
            dtype=Float64,
            description="Amount about to be authorized, in USD.",
        ),
        Field(
            name="is_new_card",
            dtype=Bool,
            description="Whether the card was added to the account in the last 24 hours.",
        ),
    ],
    description="The authorization being scored, sent by the payments service.",
    owner=owner(TRUST_SAFETY_ML),
    tags=tags(TRUST_SAFETY_ML, "rider", pii=True, cadence="request"),
)

dispatch_request = RequestSource(
    name="dispatch_request",
    schema=[
        Field(
            name="pickup_distance_km",
            dtype=Float32,
            description="Road distance from the driver to the pickup point, in km.",
        ),
    ],
    description="The candidate driver-to-pickup leg being ranked by dispatch.",
    owner=owner(MARKETPLACE_ML),
    tags=tags(MARKETPLACE_ML, "driver", pii=False, cadence="request"),
)


def outputs(summary: str, **fields: tuple[PrimitiveFeastType, str]) -> dict[str, object]:
    """`schema` and a `description` that documents every output, for on_demand_feature_view."""
    documented = " ".join(f"{name}: {doc}" for name, (_, doc) in fields.items())
    return {
        "schema": [Field(name=name, dtype=dtype) for name, (dtype, _) in fields.items()],
        "description": f"{summary} Outputs: {documented}",
    }


@on_demand_feature_view(
    sources=[
        zone_hourly_stats[["zone_surge_multiplier_1h", "zone_avg_eta_s_1h"]],
        zone_live_demand[["demand_supply_ratio", "p50_pickup_eta_s"]],
        trip_request,
    ],
    mode="pandas",
    **outputs(
        "Fare and pickup ETA quoted to the rider before they confirm a trip.",
        quoted_fare_usd=(
            Float64,
            "Upfront fare in USD: base + distance + time rates, times the zone's surge.",
        ),
        pickup_eta_min=(
            Float64,
            "Expected pickup wait in minutes, inflated when the zone is undersupplied.",
        ),
    ),
    owner=owner(MAPPING_ML),
    tags=tags(MAPPING_ML, "trip", pii=False, cadence="request"),
)
def trip_quote(inputs: pd.DataFrame) -> pd.DataFrame:
    """Price the requested route and estimate the wait from live and hourly zone state."""

    def num(column: str, default: float) -> pd.Series:
        # Missing or expired stored values become a neutral default, not a failed lookup.
        return pd.to_numeric(inputs[column], errors="coerce").astype("float64").fillna(default)

    surge = num("zone_surge_multiplier_1h", 1.0).clip(lower=1.0)
    base_eta_s = num("p50_pickup_eta_s", np.nan).fillna(num("zone_avg_eta_s_1h", 300.0))
    shortage = (num("demand_supply_ratio", 1.0) - 1.0).clip(lower=0.0)
    out = pd.DataFrame(index=inputs.index)
    out["quoted_fare_usd"] = (
        2.50 + 1.15 * num("trip_distance_km", 0.0) + 0.32 * num("trip_duration_min", 0.0)
    ) * surge
    out["pickup_eta_min"] = base_eta_s / 60.0 * (1.0 + 0.15 * shortage)
    return out


@on_demand_feature_view(
    sources=[
        rider_profile[["avg_fare_usd_90d"]],
        rider_risk_daily[["payment_failure_rate_30d", "distinct_cards_30d"]],
        payment_request,
    ],
    mode="pandas",
    **outputs(
        "Scores an authorization against the rider's own payment history.",
        amount_to_avg_fare=(
            Float64,
            "Authorization amount over the rider's 90-day mean fare (1.0 = usual).",
        ),
        payment_risk_score=(
            Float64,
            "Heuristic card-testing risk in [0, 1]; the baseline the model must beat.",
        ),
    ),
    owner=owner(TRUST_SAFETY_ML),
    tags=tags(TRUST_SAFETY_ML, "rider", pii=True, cadence="request"),
)
def payment_risk(inputs: pd.DataFrame) -> pd.DataFrame:
    """Unusual amounts, past declines, many cards and a new card all raise the score."""

    def num(column: str, default: float) -> pd.Series:
        # Missing or expired stored values become a neutral default, not a failed lookup.
        return pd.to_numeric(inputs[column], errors="coerce").astype("float64").fillna(default)

    ratio = num("payment_amount_usd", 0.0) / num("avg_fare_usd_90d", 20.0).clip(lower=1.0)
    new_card = inputs["is_new_card"].astype("boolean").fillna(False).astype("float64")
    logit = (
        -3.0
        + 0.8 * np.log1p(ratio)
        + 6.0 * num("payment_failure_rate_30d", 0.05)
        + 0.4 * num("distinct_cards_30d", 1.0)
        + 1.2 * new_card
    )
    out = pd.DataFrame(index=inputs.index)
    out["amount_to_avg_fare"] = ratio
    out["payment_risk_score"] = 1.0 / (1.0 + np.exp(-logit))
    return out


@on_demand_feature_view(
    sources=[
        driver_hourly_stats[["acceptance_rate_1h"]],
        driver_live_state[["minutes_idle", "trips_in_progress"]],
        dispatch_request,
    ],
    mode="pandas",
    **outputs(
        "How good a match one candidate driver is for one ride request.",
        expected_acceptance=(
            Float64,
            "Chance the driver accepts this offer: hourly rate discounted by distance.",
        ),
        pickup_minutes_est=(
            Float64,
            "Minutes to reach the pickup at city speed, plus any trip to finish first.",
        ),
    ),
    owner=owner(MARKETPLACE_ML),
    tags=tags(MARKETPLACE_ML, "driver", pii=False, cadence="request"),
)
def dispatch_fit(inputs: pd.DataFrame) -> pd.DataFrame:
    """Far pickups get declined more; a driver mid-trip needs ~8 minutes to free up."""

    def num(column: str, default: float) -> pd.Series:
        # Missing or expired stored values become a neutral default, not a failed lookup.
        return pd.to_numeric(inputs[column], errors="coerce").astype("float64").fillna(default)

    distance_km = num("pickup_distance_km", 2.0)
    idle_bonus = np.minimum(num("minutes_idle", 0.0), 30.0) / 300.0
    out = pd.DataFrame(index=inputs.index)
    out["expected_acceptance"] = (
        num("acceptance_rate_1h", 0.8) * np.exp(-distance_km / 8.0) + idle_bonus
    ).clip(0.0, 1.0)
    out["pickup_minutes_est"] = distance_km / 0.45 + 8.0 * num("trips_in_progress", 0.0)
    return out
