"""Stream feature views: live marketplace state written online by the stream processor.

No transformation is attached: each message's fields already are the features, which keeps the
processor generic (decode, validate against this schema, write online and to the history).
"""

from datetime import timedelta

from entities import driver, driver_id_field, rider, rider_id_field, zone, zone_id_field
from feast import Field
from feast.stream_feature_view import StreamFeatureView
from feast.types import Bool, Float32, Float64, Int32, String
from stream_sources import driver_state_events, payment_events, zone_demand_events
from teams import MARKETPLACE_ML, PRICING_ML, TRUST_SAFETY_ML, owner, tags

driver_live_state = StreamFeatureView(
    name="driver_live_state",
    entities=[driver],
    ttl=timedelta(hours=1),
    schema=[
        driver_id_field(),
        Field(
            name="trips_in_progress",
            dtype=Int32,
            description="Trips the driver is currently on (0, or 1-2 with pooled rides).",
        ),
        Field(
            name="minutes_idle",
            dtype=Float32,
            description="Minutes since the driver's last trip ended while staying online.",
        ),
        Field(
            name="is_available",
            dtype=Bool,
            description="Whether the driver is online and can take a new dispatch offer now.",
        ),
        Field(
            name="current_zone_id",
            dtype=String,
            description="Zone the driver's last location ping fell in.",
        ),
    ],
    source=driver_state_events,
    online=True,
    description=(
        "Live driver state from the driver app, seconds old; dispatch skips busy drivers "
        "and favours long-idle ones."
    ),
    owner=owner(MARKETPLACE_ML),
    tags=tags(MARKETPLACE_ML, "driver", pii=True, cadence="streaming"),
)

zone_live_demand = StreamFeatureView(
    name="zone_live_demand",
    entities=[zone],
    ttl=timedelta(minutes=30),
    schema=[
        zone_id_field(),
        Field(
            name="open_requests",
            dtype=Int32,
            description="Ride requests in the zone still waiting for a driver.",
        ),
        Field(
            name="available_drivers",
            dtype=Int32,
            description="Online drivers in the zone without a trip.",
        ),
        Field(
            name="demand_supply_ratio",
            dtype=Float64,
            description="open_requests / max(available_drivers, 1); surge starts above ~1.2.",
        ),
        Field(
            name="p50_pickup_eta_s",
            dtype=Float32,
            description="Median pickup ETA quoted in the zone in the last two minutes, in seconds.",
        ),
    ],
    source=zone_demand_events,
    online=True,
    description="Zone supply and demand every two minutes, from the dispatch engine.",
    owner=owner(PRICING_ML),
    tags=tags(PRICING_ML, "zone", pii=False, cadence="streaming"),
)

rider_payment_activity = StreamFeatureView(
    name="rider_payment_activity",
    entities=[rider],
    ttl=timedelta(days=1),
    schema=[
        rider_id_field(),
        Field(
            name="last_payment_amount_usd",
            dtype=Float64,
            description="Amount of the rider's most recent card authorization, in USD.",
        ),
        Field(
            name="last_payment_failed",
            dtype=Bool,
            description="Whether the most recent authorization was declined.",
        ),
        Field(
            name="failed_payments_1h",
            dtype=Int32,
            description="Declined authorizations for the rider over the trailing hour.",
        ),
        Field(
            name="card_country",
            dtype=String,
            description="ISO country code of the card used most recently.",
        ),
    ],
    source=payment_events,
    online=True,
    description=(
        "The rider's latest payment attempt from the payments service; bursts of declines on "
        "new cards are the strongest card-testing signal."
    ),
    owner=owner(TRUST_SAFETY_ML),
    tags=tags(TRUST_SAFETY_ML, "rider", pii=True, cadence="streaming"),
)
