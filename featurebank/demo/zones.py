"""Zone history: hourly supply and demand, and a daily zone profile."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pyarrow as pa

from featurebank.demo import layout
from featurebank.demo.context import DemoContext
from featurebank.demo.noise import HOURLY_JOB, NIGHTLY_JOB, Columns, written
from featurebank.demo.population import demand_at, supply_at
from featurebank.demo.tables import to_table

TRIPS_PER_DRIVER_HOUR = 1.5


def surge_for(demand_to_capacity: np.ndarray) -> np.ndarray:
    """Surge rises 0.8x per unit of excess demand, capped at 4x, in 0.05 steps like the app."""
    raw = np.clip(1.0 + 0.8 * (demand_to_capacity - 1.0), 1.0, 4.0)
    return np.round(raw * 20.0) / 20.0


def zone_hourly_stats(ctx: DemoContext) -> Iterator[pa.Table]:
    """One row group per day: every zone, every hour."""
    z = ctx.population.zones
    spec = layout.ZONE_HOURLY_STATS
    for day in range(ctx.timeline.days):
        rng = ctx.rng(spec.name, day)
        hours = ctx.timeline.hours_of_day(day)
        where = np.tile(np.arange(z.count), len(hours))
        event = np.repeat(hours, z.count)
        n = len(event)
        requests = rng.poisson(z.requests_per_hour[where] * demand_at(event))
        drivers = rng.poisson(z.drivers_per_hour[where] * supply_at(event)) + 1
        pressure = requests / (drivers * TRIPS_PER_DRIVER_HOUR)
        columns: Columns = {
            "zone_id": z.ids[where],
            "event_timestamp": event,
            "zone_ride_requests_1h": requests,
            "zone_active_drivers_1h": drivers,
            "zone_surge_multiplier_1h": surge_for(pressure),
            "zone_avg_eta_s_1h": np.round(
                (150.0 + 200.0 * np.minimum(pressure, 3.0)) * rng.lognormal(0.0, 0.1, n), 1
            ),
            "zone_unfulfilled_rate_1h": np.round(
                np.clip(0.01 + 0.25 * np.maximum(pressure - 1.0, 0.0) + rng.beta(1, 60, n), 0, 1), 4
            ),
        }
        columns = written(
            rng,
            columns,
            HOURLY_JOB,
            keys=("zone_id",),
            end_us=ctx.timeline.end_us,
            now_us=ctx.timeline.now_us,
        )
        yield to_table(
            spec.schema,
            columns,
            rng,
            {"zone_avg_eta_s_1h": 0.015, "zone_unfulfilled_rate_1h": 0.01},
        )


def zone_profile(ctx: DemoContext) -> Iterator[pa.Table]:
    """A daily snapshot per zone; only the trailing fare level drifts."""
    z = ctx.population.zones
    spec = layout.ZONE_PROFILE
    for days_ago in range(ctx.timeline.days - 1, -1, -1):
        rng = ctx.rng(spec.name, days_ago)
        n = z.count
        columns: Columns = {
            "zone_id": z.ids,
            "event_timestamp": np.full(n, ctx.timeline.snapshot(days_ago), dtype=np.int64),
            "zone_city": z.city,
            "zone_type": z.zone_type,
            "zone_is_airport": z.zone_type == "airport",
            "zone_area_km2": z.area_km2,
            "zone_avg_fare_usd_30d": np.round(z.avg_fare_usd * rng.normal(1.0, 0.02, n), 2),
            "zone_peak_hour_utc": z.peak_hour,
        }
        columns = written(
            rng,
            columns,
            NIGHTLY_JOB,
            keys=("zone_id",),
            end_us=ctx.timeline.end_us,
            now_us=ctx.timeline.now_us,
        )
        yield to_table(spec.schema, columns, rng, {"zone_avg_fare_usd_30d": 0.02})
