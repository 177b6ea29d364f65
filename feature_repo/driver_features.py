"""Batch driver features used to rank drivers for a ride request."""

from datetime import timedelta

from data_sources import (
    driver_daily_stats_source,
    driver_hourly_stats_source,
    driver_profile_source,
    driver_zone_stats_source,
)
from entities import driver, driver_id_field, zone, zone_id_field
from feast import FeatureView, Field
from feast.types import Bool, Float32, Float64, Int32, Int64, String
from teams import MARKETPLACE_ML, owner, tags

driver_hourly_stats = FeatureView(
    name="driver_hourly_stats",
    entities=[driver],
    ttl=timedelta(hours=2),
    schema=[
        driver_id_field(),
        Field(
            name="acceptance_rate_1h",
            dtype=Float32,
            description="Share of dispatch offers the driver accepted in the hour (0-1).",
        ),
        Field(
            name="completion_rate_1h",
            dtype=Float32,
            description="Share of accepted trips completed rather than cancelled (0-1).",
        ),
        Field(
            name="cancellation_rate_1h",
            dtype=Float32,
            description="Share of accepted trips the driver cancelled in the hour (0-1).",
        ),
        Field(
            name="trips_completed_1h",
            dtype=Int32,
            description="Trips the driver completed during the hour.",
        ),
        Field(
            name="minutes_online_1h",
            dtype=Int32,
            description="Minutes the driver app was online during the hour (0-60).",
        ),
        Field(
            name="earnings_usd_1h",
            dtype=Float64,
            description="Driver earnings from fares and tips booked in the hour, in USD.",
        ),
        Field(
            name="online_at_hour_end",
            dtype=Bool,
            description="Whether the driver was online when the hour closed.",
        ),
    ],
    source=driver_hourly_stats_source,
    online=True,
    description=(
        "Driver activity over the last hour. Short TTL on purpose: an hour-old acceptance "
        "rate is what dispatch wants, a day-old one is misleading."
    ),
    owner=owner(MARKETPLACE_ML),
    tags=tags(MARKETPLACE_ML, "driver", pii=False, cadence="hourly"),
)

driver_daily_stats = FeatureView(
    name="driver_daily_stats",
    entities=[driver],
    ttl=timedelta(days=2),
    schema=[
        driver_id_field(),
        Field(
            name="avg_rating_30d",
            dtype=Float32,
            description="Mean rider rating of the driver's trips over 30 days (1-5 stars).",
        ),
        Field(
            name="trips_last_7d",
            dtype=Int64,
            description="Trips completed in the trailing 7 days.",
        ),
        Field(
            name="hours_online_7d",
            dtype=Float64,
            description="Hours the driver app was online in the trailing 7 days.",
        ),
        Field(
            name="acceptance_rate_7d",
            dtype=Float32,
            description="Share of dispatch offers accepted over the trailing 7 days (0-1).",
        ),
        Field(
            name="cancellation_rate_7d",
            dtype=Float32,
            description="Share of accepted trips cancelled by the driver over 7 days (0-1).",
        ),
        Field(
            name="completion_rate_7d",
            dtype=Float32,
            description="Share of accepted trips completed over the trailing 7 days (0-1).",
        ),
    ],
    source=driver_daily_stats_source,
    online=True,
    description="Trailing-window driver reliability and quality, refreshed nightly.",
    owner=owner(MARKETPLACE_ML),
    tags=tags(MARKETPLACE_ML, "driver", pii=False, cadence="daily"),
)

driver_profile = FeatureView(
    name="driver_profile",
    entities=[driver],
    ttl=timedelta(days=14),
    schema=[
        driver_id_field(),
        Field(
            name="vehicle_class",
            dtype=String,
            description="Product the vehicle qualifies for: economy, comfort, xl or premium.",
        ),
        Field(
            name="is_ev",
            dtype=Bool,
            description="Whether the registered vehicle is fully electric.",
        ),
        Field(
            name="tenure_days",
            dtype=Int32,
            description="Days since the driver's first completed trip.",
        ),
        Field(
            name="lifetime_trips",
            dtype=Int64,
            description="Trips completed since the driver joined.",
        ),
        Field(
            name="home_zone_id",
            dtype=String,
            description="Zone where the driver most often starts a shift.",
        ),
    ],
    source=driver_profile_source,
    online=True,
    description="Slowly changing driver and vehicle attributes, snapshotted weekly.",
    owner=owner(MARKETPLACE_ML),
    tags=tags(MARKETPLACE_ML, "driver", pii=False, cadence="weekly"),
)

driver_zone_stats = FeatureView(
    name="driver_zone_stats",
    entities=[driver, zone],
    ttl=timedelta(days=2),
    schema=[
        driver_id_field(),
        zone_id_field(),
        Field(
            name="trips_in_zone_30d",
            dtype=Int32,
            description="Trips the driver started in this zone over 30 days.",
        ),
        Field(
            name="acceptance_rate_in_zone_30d",
            dtype=Float32,
            description="Share of offers in this zone the driver accepted over 30 days (0-1).",
        ),
        Field(
            name="avg_pickup_eta_in_zone_s",
            dtype=Float32,
            description="Mean seconds from acceptance to pickup for the driver in this zone.",
        ),
    ],
    source=driver_zone_stats_source,
    online=True,
    description=(
        "How familiar a driver is with a zone. Keyed by driver and zone together, so only "
        "the zones a driver actually works in have rows."
    ),
    owner=owner(MARKETPLACE_ML),
    tags=tags(MARKETPLACE_ML, "driver", pii=False, cadence="daily"),
)
