"""Zone supply, demand and context, used by surge pricing and ETA models."""

from datetime import timedelta

from data_sources import zone_hourly_stats_source, zone_profile_source
from entities import zone, zone_id_field
from feast import FeatureView, Field
from feast.types import Bool, Float32, Float64, Int32, Int64, String
from teams import PRICING_ML, owner, tags

zone_hourly_stats = FeatureView(
    name="zone_hourly_stats",
    entities=[zone],
    ttl=timedelta(hours=2),
    schema=[
        zone_id_field(),
        Field(
            name="zone_ride_requests_1h",
            dtype=Int64,
            description="Ride requests opened in the zone during the hour (demand).",
        ),
        Field(
            name="zone_active_drivers_1h",
            dtype=Int64,
            description="Distinct drivers online in the zone during the hour (supply).",
        ),
        Field(
            name="zone_surge_multiplier_1h",
            dtype=Float32,
            description="Time-weighted mean surge multiplier applied in the zone (>= 1.0).",
        ),
        Field(
            name="zone_avg_eta_s_1h",
            dtype=Float32,
            description="Mean quoted pickup ETA in the zone during the hour, in seconds.",
        ),
        Field(
            name="zone_unfulfilled_rate_1h",
            dtype=Float32,
            description="Share of requests that expired without a driver (0-1).",
        ),
    ],
    source=zone_hourly_stats_source,
    online=True,
    description="Hourly zone supply and demand balance, the core input of surge pricing.",
    owner=owner(PRICING_ML),
    tags=tags(PRICING_ML, "zone", pii=False, cadence="hourly"),
)

zone_profile = FeatureView(
    name="zone_profile",
    entities=[zone],
    ttl=timedelta(days=7),
    schema=[
        zone_id_field(),
        Field(
            name="zone_city",
            dtype=String,
            description="IATA-style code of the city the zone belongs to, e.g. 'sfo'.",
        ),
        Field(
            name="zone_type",
            dtype=String,
            description="Dominant land use: downtown, residential, nightlife or airport.",
        ),
        Field(
            name="zone_is_airport",
            dtype=Bool,
            description="Whether the zone contains an airport pickup area with a queue.",
        ),
        Field(
            name="zone_area_km2",
            dtype=Float32,
            description="Area of the zone polygon in square kilometres.",
        ),
        Field(
            name="zone_avg_fare_usd_30d",
            dtype=Float64,
            description="Mean fare of trips starting in the zone over 30 days, in USD.",
        ),
        Field(
            name="zone_peak_hour_utc",
            dtype=Int32,
            description="Hour of day (UTC) with the most requests over 30 days (0-23).",
        ),
    ],
    source=zone_profile_source,
    online=True,
    description="Mostly static zone context, refreshed daily; pricing normalizes by it.",
    owner=owner(PRICING_ML),
    tags=tags(PRICING_ML, "zone", pii=False, cadence="daily"),
)
