"""The demo generator: reproducible bytes, sizes that follow `scale`, and believable values."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from featurebank.demo import generate_demo_data
from featurebank.demo.generate import DATASETS

NOW = datetime(2025, 3, 14, 9, 26, 53, tzinfo=UTC)
END = NOW.replace(minute=0, second=0)
SCALE = 0.04  # 20 drivers, 40 riders, 4 zones
DAYS = 3
UTC_MICROS = pa.timestamp("us", tz="UTC")


def _read(root: Path, relative: str) -> pa.Table:
    """A dataset's rows, whether it is one file or a directory of files."""
    path = root / relative
    if path.is_dir():
        return pa.concat_tables(pq.read_table(p) for p in sorted(path.glob("*.parquet")))
    return pq.read_table(path)


def _bytes(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*.parquet"))}


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, int]]:
    root = tmp_path_factory.mktemp("demo")
    return root, generate_demo_data(root, scale=SCALE, days=DAYS, now=NOW)


def test_same_seed_and_scale_give_identical_bytes(
    demo: tuple[Path, dict[str, int]], tmp_path: Path
) -> None:
    root, _ = demo
    again = generate_demo_data(tmp_path, scale=SCALE, days=DAYS, now=NOW)
    assert _bytes(tmp_path) == _bytes(root)
    assert again == demo[1]


def test_another_seed_gives_other_values(demo: tuple[Path, dict[str, int]], tmp_path: Path) -> None:
    root, _ = demo
    generate_demo_data(tmp_path, scale=SCALE, days=DAYS, now=NOW, seed=8)
    ours = _read(root, "offline/driver_daily_stats.parquet")
    theirs = _read(tmp_path, "offline/driver_daily_stats.parquet")
    assert ours.column("avg_rating_30d") != theirs.column("avg_rating_30d")


def test_counts_name_every_file_written(demo: tuple[Path, dict[str, int]]) -> None:
    root, counts = demo
    on_disk = {str(p.relative_to(root)) for p in root.rglob("*.parquet")}
    assert set(counts) == on_disk
    assert not list(root.rglob("*.tmp")), "temporary files must be renamed into place"
    for relative, rows in counts.items():
        assert pq.ParquetFile(root / relative).metadata.num_rows == rows
    hourly = sorted(k for k in counts if k.startswith("offline/driver_hourly_stats/"))
    assert hourly == [f"offline/driver_hourly_stats/day-{i:03d}.parquet" for i in range(DAYS)]
    for stream in ("driver_state_events", "zone_demand_events", "payment_events"):
        assert f"streams/{stream}/history-000.parquet" in counts
    assert "push/rider_app_activity/history-000.parquet" in counts


def test_scale_sets_the_number_of_entities(tmp_path: Path) -> None:
    small = generate_demo_data(tmp_path / "small", scale=0.02, days=1, now=NOW)
    large = generate_demo_data(tmp_path / "large", scale=0.08, days=1, now=NOW)
    for root, drivers in ((tmp_path / "small", 10), (tmp_path / "large", 40)):
        hourly = _read(root, "offline/driver_hourly_stats")
        assert pc.count_distinct(hourly.column("driver_id")).as_py() == drivers
        # Every driver has a row for every hour; the extra rows are re-issued corrections.
        grid = {
            (d, t)
            for d, t in zip(
                *(hourly.column(c).to_pylist() for c in ("driver_id", "event_timestamp")),
                strict=True,
            )
        }
        assert len(grid) == drivers * 24
    for daily in ("offline/driver_daily_stats.parquet", "offline/rider_profile.parquet"):
        assert large[daily] == 4 * small[daily]  # one row per entity on the only day


def test_every_dataset_has_its_declared_schema(demo: tuple[Path, dict[str, int]]) -> None:
    root, _ = demo
    for dataset, _generate in DATASETS:
        table = _read(root, dataset.path)
        assert table.schema == dataset.schema, dataset.name
        assert table.schema.field("event_timestamp").type == UTC_MICROS
        assert table.schema.field("created").type == UTC_MICROS
        assert table.num_rows > 0, dataset.name


def test_timestamps_end_at_the_hour_and_rows_are_written_after_their_events(
    demo: tuple[Path, dict[str, int]],
) -> None:
    root, _ = demo
    for dataset, _generate in DATASETS:
        table = _read(root, dataset.path)
        event, created = table.column("event_timestamp"), table.column("created")
        assert pc.max(event).as_py() <= END, dataset.name
        assert pc.min(event).as_py() >= END - timedelta(days=DAYS), dataset.name
        assert pc.all(pc.greater_equal(created, event)).as_py(), dataset.name
        assert pc.max(created).as_py() <= NOW, dataset.name
        assert pc.max(event).as_py().tzinfo is not None
    for hourly_or_daily in ("offline/driver_hourly_stats", "offline/zone_profile.parquet"):
        assert pc.max(_read(root, hourly_or_daily).column("event_timestamp")).as_py() == END


def test_some_rows_are_late_and_some_are_reissued(demo: tuple[Path, dict[str, int]]) -> None:
    root, _ = demo
    hourly = _read(root, "offline/driver_hourly_stats")
    delay = pc.subtract(hourly.column("created"), hourly.column("event_timestamp"))
    late = pc.sum(pc.greater(delay, pa.scalar(timedelta(hours=1)))).as_py()
    assert 0.01 < late / hourly.num_rows < 0.08
    reissued = 0
    for dataset, _generate in DATASETS:
        table = _read(root, dataset.path)
        groups = table.group_by([*_keys(table.schema), "event_timestamp"]).aggregate(
            [("created", "count"), ("created", "count_distinct")]
        )
        repeated = groups.filter(pc.greater(groups.column("created_count"), 1))
        reissued += repeated.num_rows
        # A re-issued row is always strictly newer, so exactly one row per key and time wins.
        assert repeated.column("created_count") == repeated.column("created_count_distinct"), (
            dataset.name
        )
        # Re-issues are rare; anything more means two entities collided on one key.
        assert repeated.num_rows <= 0.01 * groups.num_rows + 1, dataset.name
    assert reissued > 0


def test_values_stay_in_their_ranges(demo: tuple[Path, dict[str, int]]) -> None:
    root, _ = demo
    ranges = {
        "offline/driver_hourly_stats": {
            "acceptance_rate_1h": (0, 1),
            "completion_rate_1h": (0, 1),
            "cancellation_rate_1h": (0, 1),
            "minutes_online_1h": (0, 60),
            "trips_completed_1h": (0, 50),
            "earnings_usd_1h": (0, 2000),
        },
        "offline/driver_daily_stats.parquet": {"avg_rating_30d": (4.0, 5.0)},
        "offline/rider_profile.parquet": {"rider_rating": (1, 5), "account_age_days": (1, 3650)},
        "offline/rider_risk_daily.parquet": {"payment_failure_rate_30d": (0, 1)},
        "offline/zone_hourly_stats.parquet": {
            "zone_surge_multiplier_1h": (1, 4),
            "zone_unfulfilled_rate_1h": (0, 1),
        },
        "streams/driver_state_events": {"trips_in_progress": (0, 2), "minutes_idle": (0, 1000)},
    }
    for relative, columns in ranges.items():
        table = _read(root, relative)
        for column, (low, high) in columns.items():
            bounds = pc.min_max(table.column(column)).as_py()
            assert low <= bounds["min"] <= bounds["max"] <= high, (relative, column, bounds)
    ratings = _read(root, "offline/driver_daily_stats.parquet").column("avg_rating_30d")
    assert 4.5 < pc.mean(ratings).as_py() < 5.0


def test_some_feature_values_are_missing_but_never_keys_or_times(
    demo: tuple[Path, dict[str, int]],
) -> None:
    root, _ = demo
    hourly = _read(root, "offline/driver_hourly_stats")
    share = hourly.column("acceptance_rate_1h").null_count / hourly.num_rows
    assert 0.005 < share < 0.03
    for dataset, _generate in DATASETS:
        table = _read(root, dataset.path)
        for column in ("event_timestamp", "created", *_keys(table.schema)):
            assert table.column(column).null_count == 0, (dataset.name, column)


def _keys(schema: pa.Schema) -> list[str]:
    return [name for name in schema.names if name in ("driver_id", "rider_id", "zone_id")]


def test_fewer_days_removes_the_older_day_files(tmp_path: Path) -> None:
    generate_demo_data(tmp_path, scale=0.01, days=3, now=NOW)
    (tmp_path / "streams/driver_state_events/processor-1.parquet").write_bytes(b"not ours")
    counts = generate_demo_data(tmp_path, scale=0.01, days=1, now=NOW)
    assert sorted(p.name for p in (tmp_path / "offline/driver_hourly_stats").iterdir()) == [
        "day-000.parquet"
    ]
    assert "offline/driver_hourly_stats/day-000.parquet" in counts
    assert (tmp_path / "streams/driver_state_events/processor-1.parquet").exists()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"scale": 0.0}, "scale"),
        ({"scale": float("nan")}, "scale"),
        ({"days": 0}, "days"),
        ({"now": datetime(2025, 1, 1, 12)}, "timezone-aware"),
    ],
)
def test_rejects_bad_arguments(tmp_path: Path, kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        generate_demo_data(tmp_path, **kwargs)  # type: ignore[arg-type]


def test_default_now_ends_at_the_current_hour(tmp_path: Path) -> None:
    before = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    generate_demo_data(tmp_path, scale=0.01, days=1)
    newest = pc.max(_read(tmp_path, "offline/zone_profile.parquet").column("event_timestamp"))
    assert newest.as_py() in (before, before + timedelta(hours=1))
