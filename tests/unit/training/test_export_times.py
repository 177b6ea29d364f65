"""CSV and JSON renderings of a training set write every time in one ISO-8601 form (issue 8,
item 6): Arrow's CSV writer said `2024-05-01 12:00:00.000000Z` where orjson said
`2024-05-01T12:00:00+00:00`."""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from featurebank.errors import InvalidInput
from featurebank.training import export

UTC = dt.UTC
MOMENT = dt.datetime(2024, 5, 1, 12, 0, 0, 5, tzinfo=UTC)
NEW_YORK = pa.timestamp("us", tz="America/New_York")


def _file(tmp_path: Path) -> Path:
    path = tmp_path / "data.parquet"
    pq.write_table(pa.table({
        "event_timestamp": pa.array([MOMENT, MOMENT.replace(microsecond=0)],
                                    pa.timestamp("us", tz="UTC")),
        "naive": pa.array([MOMENT.replace(tzinfo=None), None], pa.timestamp("us")),
        "local": pa.array([MOMENT, MOMENT], NEW_YORK),
        "seconds": pa.array([MOMENT.replace(microsecond=0)] * 2,  # Parquet keeps it as ms
                            pa.timestamp("s", tz="UTC")),
        "day": pa.array([MOMENT.date()] * 2),
        "clock": pa.array([dt.time(1, 2, 3)] * 2, pa.time64("us")),
        "seen": pa.array([[MOMENT], None], pa.list_(pa.timestamp("us", tz="UTC"))),
    }), path)
    return path


EXPECTED = [
    {"event_timestamp": "2024-05-01T12:00:00.000005Z", "naive": "2024-05-01T12:00:00.000005Z",
     "local": "2024-05-01T12:00:00.000005Z", "seconds": "2024-05-01T12:00:00.000Z",
     "day": "2024-05-01", "clock": "01:02:03.000000", "seen": ["2024-05-01T12:00:00.000005Z"]},
    {"event_timestamp": "2024-05-01T12:00:00.000000Z", "naive": None,
     "local": "2024-05-01T12:00:00.000005Z", "seconds": "2024-05-01T12:00:00.000Z",
     "day": "2024-05-01", "clock": "01:02:03.000000", "seen": None},
]


def test_json_and_csv_write_times_in_the_same_form(tmp_path: Path) -> None:
    path = _file(tmp_path)
    rows = orjson.loads(b"".join(export.chunks(path, "json")))
    assert rows == EXPECTED
    text = b"".join(export.chunks(path, "csv")).decode()
    cells = list(csv.DictReader(io.StringIO(text)))
    for row in EXPECTED:
        row["seen"] = orjson.dumps(row["seen"]).decode() if row["seen"] else None
    assert [{k: v or None for k, v in cell.items()} for cell in cells] == EXPECTED


def test_write_file_renders_the_format_and_leaves_nothing_on_refusal(tmp_path: Path) -> None:
    path = _file(tmp_path)
    out = tmp_path / "train.json"
    export.write_file(path, out, "json")
    assert orjson.loads(out.read_bytes())[0]["event_timestamp"] == "2024-05-01T12:00:00.000005Z"
    pq.write_table(pa.table({"gap": pa.array([dt.timedelta(1)])}), tmp_path / "gap.parquet")
    with pytest.raises(InvalidInput, match="'gap'"):
        export.write_file(tmp_path / "gap.parquet", tmp_path / "gap.csv", "csv")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data.parquet", "gap.parquet",
                                                          "train.json"]
