"""The last day of live events: what the stream processor (and pushes) would have written.

Each stream's history is one file, `history-000.parquet`, in the directory its KafkaSource's
`batch_source` globs; the processor adds its own files next to it, so training sets and
backfills see generated and streamed rows alike.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pyarrow as pa

from featurebank.demo import layout
from featurebank.demo.context import DemoContext
from featurebank.demo.noise import STREAM, Columns, written
from featurebank.demo.population import PLATFORMS, demand_at, supply_at
from featurebank.demo.tables import to_table
from featurebank.demo.timeline import US_PER_HOUR, US_PER_MINUTE, US_PER_SECOND

COUNTRIES = np.array(["US", "CA", "GB", "MX", "BR"])


def _slots(start_us: int, end_us: int, every_us: int) -> np.ndarray:
    return np.arange(start_us, end_us, every_us, dtype=np.int64)


def _written(ctx: DemoContext, rng: np.random.Generator, columns: Columns, key: str) -> Columns:
    return written(
        rng, columns, STREAM, keys=(key,), end_us=ctx.timeline.end_us, now_us=ctx.timeline.now_us
    )


def driver_state_events(ctx: DemoContext) -> Iterator[pa.Table]:
    """A heartbeat about every 15 minutes from each driver while online."""
    d = ctx.population.drivers
    spec = layout.DRIVER_STATE_EVENTS
    rng = ctx.rng(spec.name)
    slots = _slots(ctx.timeline.stream_start_us, ctx.timeline.end_us, 15 * US_PER_MINUTE)
    who = np.tile(np.arange(d.count), len(slots))
    slot = np.repeat(slots, d.count)
    online = rng.random(len(slot)) < d.online_share[who] * supply_at(slot)
    who, slot = who[online], slot[online]
    n = len(who)
    busy = rng.choice(3, size=n, p=[0.45, 0.5, 0.05])
    zone = np.where(rng.random(n) < 0.75, d.home_zone[who], d.second_zone[who])
    columns: Columns = {
        "driver_id": d.ids[who],
        "event_timestamp": slot + rng.integers(0, 15 * US_PER_MINUTE, n, dtype=np.int64),
        "trips_in_progress": busy,
        "minutes_idle": np.where(busy == 0, np.round(rng.exponential(10.0, n), 1), 0.0),
        "is_available": (busy == 0) & (rng.random(n) > 0.08),
        "current_zone_id": ctx.population.zones.ids[zone],
    }
    columns = _written(ctx, rng, columns, "driver_id")
    yield to_table(spec.schema, columns, rng, {"minutes_idle": 0.005, "current_zone_id": 0.005})


def zone_demand_events(ctx: DemoContext) -> Iterator[pa.Table]:
    """Every zone's open requests and idle drivers, every two minutes."""
    z = ctx.population.zones
    spec = layout.ZONE_DEMAND_EVENTS
    rng = ctx.rng(spec.name)
    slots = _slots(ctx.timeline.stream_start_us, ctx.timeline.end_us, 2 * US_PER_MINUTE)
    where = np.tile(np.arange(z.count), len(slots))
    slot = np.repeat(slots, z.count)
    n = len(slot)
    # Requests wait several minutes for a match, so ~1/8 of an hour's demand is open at once;
    # most drivers out are on a trip, so ~1/5 of them are idle.
    open_requests = rng.poisson(z.requests_per_hour[where] * demand_at(slot) / 8.0)
    available = rng.poisson(z.drivers_per_hour[where] * supply_at(slot) / 5.0)
    ratio = open_requests / np.maximum(available, 1)
    columns: Columns = {
        "zone_id": z.ids[where],
        "event_timestamp": slot + rng.integers(0, 20 * US_PER_SECOND, n, dtype=np.int64),
        "open_requests": open_requests,
        "available_drivers": available,
        "demand_supply_ratio": np.round(ratio, 3),
        "p50_pickup_eta_s": np.round(
            (120.0 + 90.0 * np.minimum(ratio, 4.0)) * rng.lognormal(0.0, 0.1, n), 1
        ),
    }
    columns = _written(ctx, rng, columns, "zone_id")
    yield to_table(spec.schema, columns, rng, {"p50_pickup_eta_s": 0.01})


def _per_rider_times(
    ctx: DemoContext, rng: np.random.Generator, rate_per_day: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Rider indices and uniform event times for a Poisson number of events per rider."""
    hours = ctx.timeline.stream_hours
    counts = rng.poisson(rate_per_day * hours / 24.0)
    who = np.repeat(np.arange(len(counts)), counts)
    start = ctx.timeline.stream_start_us
    event = rng.integers(start, start + hours * US_PER_HOUR, len(who), dtype=np.int64)
    return who, event


def payment_events(ctx: DemoContext) -> Iterator[pa.Table]:
    """Card authorizations at trip end; risky accounts pay more often, more, and get declined."""
    r = ctx.population.riders
    spec = layout.PAYMENT_EVENTS
    rng = ctx.rng(spec.name)
    who, event = _per_rider_times(ctx, rng, r.trips_per_day * np.where(r.risky, 4.0, 1.0))
    n = len(who)
    risky = r.risky[who]
    failed = rng.random(n) < np.where(risky, 0.3, 0.02)
    foreign = rng.random(n) < np.where(risky, 0.5, 0.06)
    columns: Columns = {
        "rider_id": r.ids[who],
        "event_timestamp": event,
        "last_payment_amount_usd": np.round(
            rng.lognormal(np.log(r.avg_fare_usd[who]), 0.4) * np.where(risky, 1.6, 1.0), 2
        ),
        "last_payment_failed": failed,
        "failed_payments_1h": failed + rng.poisson(np.where(risky, 1.0, 0.01)),
        "card_country": np.where(foreign, COUNTRIES[rng.integers(1, len(COUNTRIES), n)], "US"),
    }
    columns = _written(ctx, rng, columns, "rider_id")
    yield to_table(spec.schema, columns, rng, {"card_country": 0.01})


def rider_app_activity(ctx: DemoContext) -> Iterator[pa.Table]:
    """Session counters the rider app backend pushes; scripted accounts check prices a lot."""
    r = ctx.population.riders
    spec = layout.RIDER_APP_ACTIVITY
    rng = ctx.rng(spec.name)
    rate = (0.5 + 3.0 * r.trips_per_day) * np.where(r.risky, 3.0, 1.0)
    who, event = _per_rider_times(ctx, rng, rate)
    n = len(who)
    risky = r.risky[who]
    on_web = risky & (rng.random(n) < 0.4)
    columns: Columns = {
        "rider_id": r.ids[who],
        "event_timestamp": event,
        "app_sessions_15m": 1 + rng.poisson(np.where(risky, 2.0, 0.4)),
        "price_checks_15m": rng.poisson(np.where(risky, 10.0, 1.5)),
        "last_quoted_surge": np.round(np.clip(1.0 + rng.exponential(0.15, n), 1.0, 4.0) * 20) / 20,
        "app_platform": np.where(on_web, PLATFORMS[2], r.platform[who]),
        "on_vpn": rng.random(n) < np.where(risky, 0.35, 0.02),
    }
    columns = _written(ctx, rng, columns, "rider_id")
    yield to_table(spec.schema, columns, rng, {"last_quoted_surge": 0.01})
