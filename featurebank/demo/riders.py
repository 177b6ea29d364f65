"""Rider history: a daily account snapshot and daily payment-risk counters."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pyarrow as pa

from featurebank.demo import layout
from featurebank.demo.context import DemoContext
from featurebank.demo.noise import NIGHTLY_JOB, Columns, written
from featurebank.demo.population import Riders
from featurebank.demo.tables import to_table


def _existing(riders: Riders, days_ago: int) -> np.ndarray:
    """Indices of riders whose account existed `days_ago` days before the end of the history."""
    return np.flatnonzero(riders.account_age_days > days_ago)


def rider_profile(ctx: DemoContext) -> Iterator[pa.Table]:
    r = ctx.population.riders
    spec = layout.RIDER_PROFILE
    for days_ago in range(ctx.timeline.days - 1, -1, -1):
        rng = ctx.rng(spec.name, days_ago)
        who = _existing(r, days_ago)
        n = len(who)
        earlier = np.round(days_ago * r.trips_per_day[who]).astype(np.int64)
        columns: Columns = {
            "rider_id": r.ids[who],
            "event_timestamp": np.full(n, ctx.timeline.snapshot(days_ago), dtype=np.int64),
            "rider_lifetime_trips": np.maximum(r.lifetime_trips[who] - earlier, 0),
            "account_age_days": r.account_age_days[who] - days_ago,
            "avg_fare_usd_90d": np.round(r.avg_fare_usd[who] * rng.normal(1.0, 0.03, n), 2),
            "preferred_payment_method": r.payment_method[who],
            "is_business_account": r.is_business[who],
            "rider_rating": np.round(np.clip(r.rating[who] + rng.normal(0.0, 0.02, n), 1, 5), 2),
        }
        columns = written(
            rng,
            columns,
            NIGHTLY_JOB,
            keys=("rider_id",),
            end_us=ctx.timeline.end_us,
            now_us=ctx.timeline.now_us,
        )
        yield to_table(spec.schema, columns, rng, {"avg_fare_usd_90d": 0.015, "rider_rating": 0.02})


def rider_risk_daily(ctx: DemoContext) -> Iterator[pa.Table]:
    """Risky accounts (about 3%) decline, charge back and switch cards far more often."""
    r = ctx.population.riders
    spec = layout.RIDER_RISK_DAILY
    for days_ago in range(ctx.timeline.days - 1, -1, -1):
        rng = ctx.rng(spec.name, days_ago)
        who = _existing(r, days_ago)
        n = len(who)
        risky = r.risky[who]
        failure_mean = np.where(risky, 0.25, 0.02)
        columns: Columns = {
            "rider_id": r.ids[who],
            "event_timestamp": np.full(n, ctx.timeline.snapshot(days_ago), dtype=np.int64),
            "payment_failure_rate_30d": np.round(
                rng.beta(failure_mean * 40.0, (1.0 - failure_mean) * 40.0), 4
            ),
            "chargebacks_90d": rng.poisson(np.where(risky, 1.2, 0.03)),
            "distinct_cards_30d": 1 + rng.poisson(np.where(risky, 2.0, 0.15)),
            "refund_requests_30d": rng.poisson(np.where(risky, 1.5, 0.15)),
            "devices_30d": 1 + rng.poisson(np.where(risky, 1.8, 0.2)),
        }
        columns = written(
            rng,
            columns,
            NIGHTLY_JOB,
            keys=("rider_id",),
            end_us=ctx.timeline.end_us,
            now_us=ctx.timeline.now_us,
        )
        yield to_table(
            spec.schema, columns, rng, {"payment_failure_rate_30d": 0.015, "devices_30d": 0.01}
        )
