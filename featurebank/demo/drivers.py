"""Driver history: hourly activity, daily quality, weekly profile, and per-zone familiarity."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pyarrow as pa

from featurebank.demo import layout
from featurebank.demo.context import DemoContext
from featurebank.demo.noise import HOURLY_JOB, NIGHTLY_JOB, Columns, written
from featurebank.demo.population import Drivers, demand_at, supply_at
from featurebank.demo.tables import to_table


def _beta_around(
    rng: np.random.Generator, mean: np.ndarray, concentration: np.ndarray | float
) -> np.ndarray:
    """A rate near `mean`: the larger `concentration`, the closer (think: offers observed)."""
    mean = np.clip(mean, 0.005, 0.995)
    return np.round(rng.beta(mean * concentration, (1.0 - mean) * concentration), 4)


def _existing(drivers: Drivers, days_ago: int) -> np.ndarray:
    """Indices of drivers who had joined `days_ago` days before the end of the history."""
    return np.flatnonzero(drivers.tenure_days > days_ago)


def driver_hourly_stats(ctx: DemoContext) -> Iterator[pa.Table]:
    """One table per day: every driver, every hour. Rates are smoothed toward the driver's mean
    (so quiet hours still carry a value), and concentrate as more offers are observed."""
    d = ctx.population.drivers
    spec = layout.DRIVER_HOURLY_STATS
    for day in range(ctx.timeline.days):
        rng = ctx.rng(spec.name, day)
        hours = ctx.timeline.hours_of_day(day)
        who = np.tile(np.arange(d.count), len(hours))
        event = np.repeat(hours, d.count)
        n = len(event)
        online = rng.random(n) < d.online_share[who] * supply_at(event)
        minutes = np.where(online, rng.integers(10, 61, n), 0)
        busy_hours = minutes / 60.0 * demand_at(event)
        offers = rng.poisson(busy_hours * 3.0)
        trips = rng.poisson(busy_hours * d.trips_per_hour[who])
        completion = _beta_around(rng, d.completion[who], 30.0 + 10.0 * offers)
        cancel_share = rng.beta(6.0, 3.0, n)  # the rest of the non-completions: rider cancels
        columns: Columns = {
            "driver_id": d.ids[who],
            "event_timestamp": event,
            "acceptance_rate_1h": _beta_around(rng, d.acceptance[who], 12.0 + 4.0 * offers),
            "completion_rate_1h": completion,
            "cancellation_rate_1h": np.round((1.0 - completion) * cancel_share, 4),
            "trips_completed_1h": trips,
            "minutes_online_1h": minutes,
            "earnings_usd_1h": np.round(rng.gamma(trips * 3.0 + 1e-9, 4.8), 2),
            "online_at_hour_end": online & (rng.random(n) < 0.75),
        }
        columns = written(
            rng,
            columns,
            HOURLY_JOB,
            keys=("driver_id",),
            end_us=ctx.timeline.end_us,
            now_us=ctx.timeline.now_us,
        )
        yield to_table(
            spec.schema,
            columns,
            rng,
            {
                "acceptance_rate_1h": 0.015,
                "completion_rate_1h": 0.015,
                "cancellation_rate_1h": 0.01,
                "earnings_usd_1h": 0.01,
                "minutes_online_1h": 0.005,
            },
        )


def driver_daily_stats(ctx: DemoContext) -> Iterator[pa.Table]:
    """One snapshot per day of trailing 7- and 30-day quality, for drivers who had joined."""
    d = ctx.population.drivers
    spec = layout.DRIVER_DAILY_STATS
    for days_ago in range(ctx.timeline.days - 1, -1, -1):
        rng = ctx.rng(spec.name, days_ago)
        who = _existing(d, days_ago)
        n = len(who)
        trips_7d = rng.poisson(7.0 * d.trips_per_day[who])
        completion = _beta_around(rng, d.completion[who], 60.0 + trips_7d)
        columns: Columns = {
            "driver_id": d.ids[who],
            "event_timestamp": np.full(n, ctx.timeline.snapshot(days_ago), dtype=np.int64),
            "avg_rating_30d": np.round(np.clip(d.rating[who] + rng.normal(0, 0.04, n), 1, 5), 2),
            "trips_last_7d": trips_7d,
            "hours_online_7d": np.round(rng.gamma(4.0, 7.0 * d.hours_online_per_day[who] / 4.0), 1),
            "acceptance_rate_7d": _beta_around(rng, d.acceptance[who], 60.0 + trips_7d),
            "cancellation_rate_7d": _beta_around(rng, d.cancellation[who], 60.0 + trips_7d),
            "completion_rate_7d": completion,
        }
        columns = written(
            rng,
            columns,
            NIGHTLY_JOB,
            keys=("driver_id",),
            end_us=ctx.timeline.end_us,
            now_us=ctx.timeline.now_us,
        )
        yield to_table(spec.schema, columns, rng, {"avg_rating_30d": 0.02, "hours_online_7d": 0.01})


def driver_profile(ctx: DemoContext) -> Iterator[pa.Table]:
    """Weekly snapshots, oldest first; a driver appears from the first week after joining."""
    d = ctx.population.drivers
    zones = ctx.population.zones
    spec = layout.DRIVER_PROFILE
    weeks = -(-ctx.timeline.days // 7)
    for week_ago in range(weeks - 1, -1, -1):
        rng = ctx.rng(spec.name, week_ago)
        days_ago = 7 * week_ago
        who = _existing(d, days_ago)
        n = len(who)
        earlier = np.round(days_ago * d.trips_per_day[who]).astype(np.int64)
        columns: Columns = {
            "driver_id": d.ids[who],
            "event_timestamp": np.full(n, ctx.timeline.snapshot(days_ago), dtype=np.int64),
            "vehicle_class": d.vehicle_class[who],
            "is_ev": d.is_ev[who],
            "tenure_days": d.tenure_days[who] - days_ago,
            "lifetime_trips": np.maximum(d.lifetime_trips[who] - earlier, 0),
            "home_zone_id": zones.ids[d.home_zone[who]],
        }
        columns = written(
            rng,
            columns,
            NIGHTLY_JOB,
            keys=("driver_id",),
            end_us=ctx.timeline.end_us,
            now_us=ctx.timeline.now_us,
        )
        yield to_table(spec.schema, columns, rng, {"is_ev": 0.01, "vehicle_class": 0.005})


def driver_zone_stats(ctx: DemoContext) -> Iterator[pa.Table]:
    """Daily rows for each driver's two working zones; 70% of their trips start at home."""
    d = ctx.population.drivers
    zones = ctx.population.zones
    spec = layout.DRIVER_ZONE_STATS
    for days_ago in range(ctx.timeline.days - 1, -1, -1):
        rng = ctx.rng(spec.name, days_ago)
        existing = _existing(d, days_ago)
        who = np.concatenate([existing, existing])
        at_home = np.arange(len(who)) < len(existing)
        zone = np.where(at_home, d.home_zone[who], d.second_zone[who])
        n = len(who)
        base_eta = 150.0 + 200.0 * zones.requests_per_hour[zone] / zones.drivers_per_hour[zone] / 2
        columns: Columns = {
            "driver_id": d.ids[who],
            "zone_id": zones.ids[zone],
            "event_timestamp": np.full(n, ctx.timeline.snapshot(days_ago), dtype=np.int64),
            "trips_in_zone_30d": rng.poisson(
                30.0 * d.trips_per_day[who] * np.where(at_home, 0.7, 0.3)
            ),
            "acceptance_rate_in_zone_30d": _beta_around(
                rng, d.acceptance[who] + np.where(at_home, 0.03, -0.03), 80.0
            ),
            "avg_pickup_eta_in_zone_s": np.round(
                base_eta * np.where(at_home, 0.9, 1.05) * rng.lognormal(0.0, 0.12, n), 1
            ),
        }
        columns = written(
            rng,
            columns,
            NIGHTLY_JOB,
            keys=("driver_id", "zone_id"),
            end_us=ctx.timeline.end_us,
            now_us=ctx.timeline.now_us,
        )
        yield to_table(spec.schema, columns, rng, {"avg_pickup_eta_in_zone_s": 0.015})
