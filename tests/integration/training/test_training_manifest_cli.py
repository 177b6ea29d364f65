"""Reproducibility: manifests re-run byte-identically, and say what changed when data did."""

from __future__ import annotations

import csv
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from featurebank.cli.main import app
from featurebank.training import manifest as manifests
from featurebank.training.features import select_features
from featurebank.training.spine import as_table, prepare_spine
from tests.integration.training.test_training_feast_parity import T0, _entities, _fill
from tests.integration.training.training_repo import TrainingRepo

pytestmark = pytest.mark.integration


def test_rerun_is_byte_identical_then_names_the_change(training_repo: TrainingRepo,
                                                       tmp_path: Path) -> None:
    _fill(training_repo)
    selection = select_features(training_repo.definitions,
                                features=["stats:rate", "profile:tier", "adjusted:rate_plus_bonus"])
    spine = prepare_spine(as_table(_entities()), selection, max_rows=100)
    built = manifests.build(tmp_path / "set", "a" * 32, training_repo.definitions, selection,
                            spine, timestamp_column="event_timestamp")
    path = tmp_path / "set" / manifests.MANIFEST_FILE
    again = manifests.rerun(path, training_repo.definitions, tmp_path / "again.parquet")
    assert again.identical
    assert again.changes == []
    original = (tmp_path / "set" / "data.parquet").read_bytes()
    assert (tmp_path / "again.parquet").read_bytes() == original
    assert built.output_sha256 == again.output_sha256

    late = training_repo.write("stats", pa.table({
        "driver_id": [1], "ts": [T0], "created": [T0], "raw_rate": [9.9], "trips": [99]}),
        name="part-2.parquet")
    changed = manifests.rerun(path, training_repo.definitions, tmp_path / "third.parquet")
    assert not changed.identical
    assert f"added {late}" in changed.changes
    assert any(c.startswith("output differs") for c in changed.changes)


def test_cli_builds_and_reruns(training_repo: TrainingRepo, tmp_path: Path,
                               monkeypatch: pytest.MonkeyPatch) -> None:
    _fill(training_repo)
    monkeypatch.setenv("FEATUREBANK_REPO", str(training_repo.settings.repo))
    monkeypatch.setenv("FEATUREBANK_DATA_DIR", str(training_repo.settings.data_dir))
    entities = tmp_path / "entities.csv"
    frame = _entities()
    frame["event_timestamp"] = [t.isoformat() for t in frame["event_timestamp"]]
    frame.to_csv(entities, index=False)
    out = tmp_path / "train.parquet"
    runner = CliRunner()
    result = runner.invoke(app, ["training-set", "--entities", str(entities), "--features",
                                 "stats:rate", "--feature", "profile:tier", "--out", str(out)])
    assert result.exit_code == 0, result.output
    table = pq.read_table(out)
    assert table.num_rows == len(frame)
    assert table.column("rate").to_pylist()[:3] == [None, 0.1, 0.25]
    manifest = tmp_path / "train.training-set" / manifests.MANIFEST_FILE
    rerun = runner.invoke(app, ["training-set", "--rerun", str(manifest),
                                "--out", str(tmp_path / "again.parquet")])
    assert rerun.exit_code == 0, rerun.output
    assert (tmp_path / "again.parquet").read_bytes() == out.read_bytes()

    bad = runner.invoke(app, ["training-set", "--entities", str(entities), "--features",
                              "stats:missing", "--out", str(out)])
    assert bad.exit_code == 2
    assert "stats:missing" in bad.output


def test_cli_writes_the_format_its_out_extension_names(training_repo: TrainingRepo,
                                                       tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    _fill(training_repo)
    monkeypatch.setenv("FEATUREBANK_REPO", str(training_repo.settings.repo))
    monkeypatch.setenv("FEATUREBANK_DATA_DIR", str(training_repo.settings.data_dir))
    entities = tmp_path / "entities.parquet"
    pq.write_table(as_table(_entities()), entities)
    runner = CliRunner()
    texts = {}
    for name in ("train.csv", "train.json", "train.parquet"):
        result = runner.invoke(app, ["training-set", "--entities", str(entities), "--features",
                                     "stats:rate", "--out", str(tmp_path / name)])
        assert result.exit_code == 0, result.output
        texts[name] = (tmp_path / name).read_bytes()
    assert texts["train.parquet"].startswith(b"PAR1")
    csv_rows = texts["train.csv"].decode().splitlines()
    assert csv_rows[0].split(",")[:2] == ['"driver_id"', '"event_timestamp"']
    json_rows = orjson.loads(texts["train.json"])
    assert len(csv_rows) - 1 == len(json_rows) == len(_entities())
    stamp = json_rows[0]["event_timestamp"]  # the same ISO-8601 form in both, as over HTTP
    assert stamp == "2024-04-30T23:00:00.000000Z"
    assert next(csv.DictReader(csv_rows))["event_timestamp"] == stamp
    assert not (tmp_path / "train.training-set" / manifests.OUTPUT_FILE).exists()

    again = runner.invoke(app, ["training-set", "--rerun",
                                str(tmp_path / "train.training-set" / manifests.MANIFEST_FILE),
                                "--out", str(tmp_path / "again.json")])
    assert again.exit_code == 0, again.output
    assert (tmp_path / "again.json").read_bytes() == texts["train.json"]

    refused = runner.invoke(app, ["training-set", "--entities", str(entities), "--features",
                                  "stats:rate", "--out", str(tmp_path / "other.txt")])
    assert refused.exit_code == 2
    assert "use .parquet, .csv or .json" in refused.output
    assert not (tmp_path / "other.txt").exists()
    assert not (tmp_path / "other.training-set").exists()  # refused before any work
