"""Feature services: the exact feature set each production model version was trained on.

A service is named after the model version that reads it, so a model and its features are
versioned together: a new model version gets a new service and old ones keep serving.
"""

from driver_features import (
    driver_daily_stats,
    driver_hourly_stats,
    driver_profile,
    driver_zone_stats,
)
from feast import FeatureService
from on_demand import dispatch_fit, payment_risk, trip_quote
from rider_features import rider_app_activity, rider_profile, rider_risk_daily
from streams import driver_live_state, rider_payment_activity, zone_live_demand
from teams import MAPPING_ML, MARKETPLACE_ML, PRICING_ML, TRUST_SAFETY_ML, owner, tags
from zone_features import zone_hourly_stats, zone_profile

eta_model_v3 = FeatureService(
    name="eta_model_v3",
    features=[
        zone_hourly_stats[["zone_avg_eta_s_1h", "zone_ride_requests_1h", "zone_active_drivers_1h"]],
        zone_live_demand,
        driver_live_state[["trips_in_progress", "minutes_idle"]],
        trip_quote,
    ],
    description=(
        "Pickup ETA regressor v3 (gradient boosted); adds live zone demand over v2. "
        "Entities: zone_id, driver_id; request: trip_distance_km, trip_duration_min."
    ),
    owner=owner(MAPPING_ML),
    tags=tags(MAPPING_ML, "trip", pii=True, cadence="request", model="eta_model", stage="prod"),
)

fraud_detector_v2 = FeatureService(
    name="fraud_detector_v2",
    features=[
        rider_profile[["rider_lifetime_trips", "account_age_days", "avg_fare_usd_90d"]],
        rider_risk_daily,
        rider_app_activity,
        rider_payment_activity,
        payment_risk,
    ],
    description=(
        "Card-testing and account-takeover classifier v2, scored on every authorization. "
        "Entity: rider_id; request: payment_amount_usd, is_new_card."
    ),
    owner=owner(TRUST_SAFETY_ML),
    tags=tags(
        TRUST_SAFETY_ML, "rider", pii=True, cadence="request", model="fraud_detector", stage="prod"
    ),
)

dispatch_ranker_v1 = FeatureService(
    name="dispatch_ranker_v1",
    features=[
        driver_hourly_stats,
        driver_daily_stats,
        driver_profile[["vehicle_class", "is_ev", "tenure_days"]],
        driver_zone_stats,
        driver_live_state,
        dispatch_fit,
    ],
    description=(
        "Ranks candidate drivers for a ride request. "
        "Entities: driver_id, zone_id; request: pickup_distance_km."
    ),
    owner=owner(MARKETPLACE_ML),
    tags=tags(
        MARKETPLACE_ML, "driver", pii=True, cadence="request", model="dispatch_ranker", stage="prod"
    ),
)

surge_pricer_v1 = FeatureService(
    name="surge_pricer_v1",
    features=[zone_hourly_stats, zone_profile, zone_live_demand],
    description="Sets each zone's surge multiplier every minute. Entity: zone_id.",
    owner=owner(PRICING_ML),
    tags=tags(
        PRICING_ML, "zone", pii=False, cadence="minutely", model="surge_pricer", stage="prod"
    ),
)
