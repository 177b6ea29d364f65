"""Seeded, reproducible demo history for every FileSource of the demo Feast repo.

Sizes (rows are about 1% more than the grid, from re-issued rows):

    scale    drivers  riders  zones  driver_hourly_stats (30 days)   all files
    1            500    1000     40       361,800 rows               0.55M rows,  ~2 s
    20        10,000  20,000    800     7,236,000 rows              10.9M rows, ~20 s, 146 MB

`scale=20` (`LARGE_SCALE`) is the 10,000-driver x 30-day hourly history; it is generated a day
at a time (one Parquet file per day for the hourly driver view, one row group per day elsewhere),
so memory stays at one day's rows (about 380 MB peak RSS at scale 20). Everything is a pure
function of (seed, scale, days, now): the same inputs give byte-identical files.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import pyarrow as pa

from featurebank.demo import drivers, events, layout, riders, zones
from featurebank.demo.context import DemoContext, seeded_rng
from featurebank.demo.layout import Dataset
from featurebank.demo.population import build_population
from featurebank.demo.timeline import Timeline
from featurebank.demo.writer import remove_stale, write_parquet

DEFAULT_DAYS = 30
LARGE_SCALE = 20.0

ProgressCallback = Callable[[str, int], None]
"""Called after each file is written with its path relative to the data dir and its rows."""

Generator = Callable[[DemoContext], Iterator[pa.Table]]

DATASETS: tuple[tuple[Dataset, Generator], ...] = (
    (layout.DRIVER_HOURLY_STATS, drivers.driver_hourly_stats),
    (layout.DRIVER_DAILY_STATS, drivers.driver_daily_stats),
    (layout.DRIVER_PROFILE, drivers.driver_profile),
    (layout.DRIVER_ZONE_STATS, drivers.driver_zone_stats),
    (layout.RIDER_PROFILE, riders.rider_profile),
    (layout.RIDER_RISK_DAILY, riders.rider_risk_daily),
    (layout.ZONE_HOURLY_STATS, zones.zone_hourly_stats),
    (layout.ZONE_PROFILE, zones.zone_profile),
    (layout.DRIVER_STATE_EVENTS, events.driver_state_events),
    (layout.ZONE_DEMAND_EVENTS, events.zone_demand_events),
    (layout.PAYMENT_EVENTS, events.payment_events),
    (layout.RIDER_APP_ACTIVITY, events.rider_app_activity),
)


def generate_demo_data(
    data_dir: Path,
    scale: float = 1.0,
    seed: int = 7,
    days: int | None = None,
    progress: ProgressCallback | None = None,
    now: datetime | None = None,
) -> dict[str, int]:
    """Write the demo history under `data_dir` and return rows written per file.

    Keys are paths relative to `data_dir` (e.g. `offline/driver_profile.parquet`). The newest
    rows sit at `now` floored to the hour (default: the current hour), so the data is fresh
    enough to serve; pass `now` to make a run reproducible across hours.
    """
    if not (math.isfinite(scale) and scale > 0):
        raise ValueError(f"scale must be a positive number, got {scale!r}")
    timeline = Timeline.ending_at(now, DEFAULT_DAYS if days is None else days)
    population = build_population(scale, seeded_rng(seed, "population"))
    context = DemoContext(population=population, timeline=timeline, seed=seed)
    root = Path(data_dir).expanduser().resolve()
    counts: dict[str, int] = {}

    def record(relative: str, rows: int) -> None:
        counts[relative] = rows
        if progress is not None:
            progress(relative, rows)

    for dataset, generate in DATASETS:
        chunks = generate(context)
        if not dataset.is_directory:
            record(dataset.path, write_parquet(root / dataset.path, dataset.schema, chunks))
            continue
        written: set[Path] = set()
        for index, chunk in enumerate(chunks):
            relative = dataset.file_name(index)
            record(relative, write_parquet(root / relative, dataset.schema, [chunk]))
            written.add(root / relative)
        remove_stale(root / dataset.path, dataset.file_prefix, written)
    return counts
