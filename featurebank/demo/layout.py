"""Where each demo dataset lives under the data directory, and its exact Arrow schema.

This is the generator's half of a contract whose other half is `feature_repo/data_sources.py`
and `feature_repo/stream_sources.py`: a FileSource path is `<data dir>/<path>` for a single file,
or `<data dir>/<path>/*.parquet` for a directory (the stream processor and offline pushes add
files there). Columns are the join keys, `event_timestamp`, `created`, then the view's features,
with `timestamp[us, tz=UTC]` times and the Arrow type matching each Feast dtype.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

from featurebank.demo.tables import TIMESTAMP

DRIVER_ID = ("driver_id", pa.int64())
RIDER_ID = ("rider_id", pa.int64())
ZONE_ID = ("zone_id", pa.string())


@dataclass(frozen=True)
class Dataset:
    """One FileSource's worth of history."""

    name: str
    path: str
    schema: pa.Schema
    file_prefix: str = ""  # set for directory datasets: files are `<prefix>-NNN.parquet`

    @property
    def is_directory(self) -> bool:
        return bool(self.file_prefix)

    def file_name(self, index: int) -> str:
        return f"{self.path}/{self.file_prefix}-{index:03d}.parquet"


def _schema(keys: list[tuple[str, pa.DataType]], *features: tuple[str, pa.DataType]) -> pa.Schema:
    return pa.schema([*keys, ("event_timestamp", TIMESTAMP), ("created", TIMESTAMP), *features])


F32, F64, I32, I64 = pa.float32(), pa.float64(), pa.int32(), pa.int64()
STR, BOOL = pa.string(), pa.bool_()

DRIVER_HOURLY_STATS = Dataset(
    name="driver_hourly_stats",
    path="offline/driver_hourly_stats",
    file_prefix="day",  # one file per day keeps memory flat at 10,000 drivers
    schema=_schema(
        [DRIVER_ID],
        ("acceptance_rate_1h", F32),
        ("completion_rate_1h", F32),
        ("cancellation_rate_1h", F32),
        ("trips_completed_1h", I32),
        ("minutes_online_1h", I32),
        ("earnings_usd_1h", F64),
        ("online_at_hour_end", BOOL),
    ),
)
DRIVER_DAILY_STATS = Dataset(
    name="driver_daily_stats",
    path="offline/driver_daily_stats.parquet",
    schema=_schema(
        [DRIVER_ID],
        ("avg_rating_30d", F32),
        ("trips_last_7d", I64),
        ("hours_online_7d", F64),
        ("acceptance_rate_7d", F32),
        ("cancellation_rate_7d", F32),
        ("completion_rate_7d", F32),
    ),
)
DRIVER_PROFILE = Dataset(
    name="driver_profile",
    path="offline/driver_profile.parquet",
    schema=_schema(
        [DRIVER_ID],
        ("vehicle_class", STR),
        ("is_ev", BOOL),
        ("tenure_days", I32),
        ("lifetime_trips", I64),
        ("home_zone_id", STR),
    ),
)
DRIVER_ZONE_STATS = Dataset(
    name="driver_zone_stats",
    path="offline/driver_zone_stats.parquet",
    schema=_schema(
        [DRIVER_ID, ZONE_ID],
        ("trips_in_zone_30d", I32),
        ("acceptance_rate_in_zone_30d", F32),
        ("avg_pickup_eta_in_zone_s", F32),
    ),
)
RIDER_PROFILE = Dataset(
    name="rider_profile",
    path="offline/rider_profile.parquet",
    schema=_schema(
        [RIDER_ID],
        ("rider_lifetime_trips", I64),
        ("account_age_days", I32),
        ("avg_fare_usd_90d", F64),
        ("preferred_payment_method", STR),
        ("is_business_account", BOOL),
        ("rider_rating", F32),
    ),
)
RIDER_RISK_DAILY = Dataset(
    name="rider_risk_daily",
    path="offline/rider_risk_daily.parquet",
    schema=_schema(
        [RIDER_ID],
        ("payment_failure_rate_30d", F32),
        ("chargebacks_90d", I32),
        ("distinct_cards_30d", I32),
        ("refund_requests_30d", I32),
        ("devices_30d", I32),
    ),
)
ZONE_HOURLY_STATS = Dataset(
    name="zone_hourly_stats",
    path="offline/zone_hourly_stats.parquet",
    schema=_schema(
        [ZONE_ID],
        ("zone_ride_requests_1h", I64),
        ("zone_active_drivers_1h", I64),
        ("zone_surge_multiplier_1h", F32),
        ("zone_avg_eta_s_1h", F32),
        ("zone_unfulfilled_rate_1h", F32),
    ),
)
ZONE_PROFILE = Dataset(
    name="zone_profile",
    path="offline/zone_profile.parquet",
    schema=_schema(
        [ZONE_ID],
        ("zone_city", STR),
        ("zone_type", STR),
        ("zone_is_airport", BOOL),
        ("zone_area_km2", F32),
        ("zone_avg_fare_usd_30d", F64),
        ("zone_peak_hour_utc", I32),
    ),
)
DRIVER_STATE_EVENTS = Dataset(
    name="driver_state_events",
    path="streams/driver_state_events",
    file_prefix="history",
    schema=_schema(
        [DRIVER_ID],
        ("trips_in_progress", I32),
        ("minutes_idle", F32),
        ("is_available", BOOL),
        ("current_zone_id", STR),
    ),
)
ZONE_DEMAND_EVENTS = Dataset(
    name="zone_demand_events",
    path="streams/zone_demand_events",
    file_prefix="history",
    schema=_schema(
        [ZONE_ID],
        ("open_requests", I32),
        ("available_drivers", I32),
        ("demand_supply_ratio", F64),
        ("p50_pickup_eta_s", F32),
    ),
)
PAYMENT_EVENTS = Dataset(
    name="payment_events",
    path="streams/payment_events",
    file_prefix="history",
    schema=_schema(
        [RIDER_ID],
        ("last_payment_amount_usd", F64),
        ("last_payment_failed", BOOL),
        ("failed_payments_1h", I32),
        ("card_country", STR),
    ),
)
RIDER_APP_ACTIVITY = Dataset(
    name="rider_app_activity",
    path="push/rider_app_activity",
    file_prefix="history",
    schema=_schema(
        [RIDER_ID],
        ("app_sessions_15m", I32),
        ("price_checks_15m", I32),
        ("last_quoted_surge", F32),
        ("app_platform", STR),
        ("on_vpn", BOOL),
    ),
)
