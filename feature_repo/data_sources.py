"""Batch Parquet sources and the push source.

Every batch file carries `event_timestamp` (when the value was true) and `created` (when the
pipeline wrote the row): rows can arrive late or be re-issued for the same event time, and
Feast keeps the row with the latest `created` for a given entity and event time.
"""

from feast import FileSource, PushSource
from feast.data_format import ParquetFormat
from paths import parquet_file, parquet_glob
from teams import (
    MARKETPLACE_ML,
    PRICING_ML,
    RIDER_GROWTH,
    TRUST_SAFETY_ML,
    owner,
    tags,
)

EVENT_TIMESTAMP = "event_timestamp"
CREATED = "created"


def parquet_source(
    *, name: str, path: str, description: str, team: str, domain: str, pii: bool, cadence: str
) -> FileSource:
    """A Parquet FileSource with the repo's standard timestamp columns."""
    return FileSource(
        name=name,
        path=path,
        file_format=ParquetFormat(),
        timestamp_field=EVENT_TIMESTAMP,
        created_timestamp_column=CREATED,
        description=description,
        owner=owner(team),
        tags=tags(team, domain, pii=pii, cadence=cadence),
    )


driver_hourly_stats_source = parquet_source(
    name="driver_hourly_stats_source",
    # A directory of per-day files: at full scale this is 10,000 drivers x 720 hours.
    path=parquet_glob("offline/driver_hourly_stats"),
    description="Hourly driver activity rolled up from the dispatch log, one file per day.",
    team=MARKETPLACE_ML,
    domain="driver",
    pii=False,
    cadence="hourly",
)

driver_daily_stats_source = parquet_source(
    name="driver_daily_stats_source",
    path=parquet_file("offline/driver_daily_stats.parquet"),
    description="Daily trailing-window driver quality metrics from the nightly warehouse job.",
    team=MARKETPLACE_ML,
    domain="driver",
    pii=False,
    cadence="daily",
)

driver_profile_source = parquet_source(
    name="driver_profile_source",
    path=parquet_file("offline/driver_profile.parquet"),
    description="Weekly snapshot of driver account and vehicle attributes from onboarding.",
    team=MARKETPLACE_ML,
    domain="driver",
    pii=False,
    cadence="weekly",
)

driver_zone_stats_source = parquet_source(
    name="driver_zone_stats_source",
    path=parquet_file("offline/driver_zone_stats.parquet"),
    description="Daily per driver and zone trip history, for the zones each driver works in.",
    team=MARKETPLACE_ML,
    domain="driver",
    pii=False,
    cadence="daily",
)

rider_profile_source = parquet_source(
    name="rider_profile_source",
    path=parquet_file("offline/rider_profile.parquet"),
    description="Daily rider account snapshot from the rider lifecycle mart.",
    team=RIDER_GROWTH,
    domain="rider",
    pii=True,
    cadence="daily",
)

rider_risk_daily_source = parquet_source(
    name="rider_risk_daily_source",
    path=parquet_file("offline/rider_risk_daily.parquet"),
    description="Daily payment and abuse signals per rider from the payments ledger.",
    team=TRUST_SAFETY_ML,
    domain="rider",
    pii=True,
    cadence="daily",
)

zone_hourly_stats_source = parquet_source(
    name="zone_hourly_stats_source",
    path=parquet_file("offline/zone_hourly_stats.parquet"),
    description="Hourly zone supply and demand rolled up from requests and driver pings.",
    team=PRICING_ML,
    domain="zone",
    pii=False,
    cadence="hourly",
)

zone_profile_source = parquet_source(
    name="zone_profile_source",
    path=parquet_file("offline/zone_profile.parquet"),
    description="Daily zone attributes: city, land use and trailing fare level.",
    team=PRICING_ML,
    domain="zone",
    pii=False,
    cadence="daily",
)

rider_app_activity_push = PushSource(
    name="rider_app_activity_push",
    batch_source=parquet_source(
        name="rider_app_activity_history",
        # Pushes sent with to="offline" land here as new files next to the generated history.
        path=parquet_glob("push/rider_app_activity"),
        description="Offline history of rider app activity pushed by the rider app backend.",
        team=TRUST_SAFETY_ML,
        domain="rider",
        pii=True,
        cadence="realtime",
    ),
    description=(
        "Rider app session counters pushed by the rider app backend every few minutes "
        "(POST /push), used to spot scripted price checking and account takeover."
    ),
    owner=owner(TRUST_SAFETY_ML),
    tags=tags(TRUST_SAFETY_ML, "rider", pii=True, cadence="realtime"),
)
