"""The docs promise a drift reference from a set built with `featurebank training-set`, by the
path of its manifest (or its directory). That command moves the rows out of the manifest's
directory to its --out file, so the reference must find them there, and naming such a set by
its id (only the manifest is recorded) must say what to pass instead."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from featurebank.cli.main import app
from featurebank.errors import InvalidInput
from featurebank.monitoring.run import run_monitoring
from featurebank.settings import Settings
from featurebank.training import manifest as manifests
from tests.integration.monitoring.monitoring_repo import (
    MonitoringRepo,
    activity_table,
    build_monitoring_repo,
)

pytestmark = pytest.mark.integration

NOW = datetime.now(UTC).replace(microsecond=0)
USERS = range(1, 41)


@pytest.fixture
def repo(tmp_path: Path, settings_factory: Callable[..., Settings], unique_name: str,
         redis_url: str, monkeypatch: pytest.MonkeyPatch) -> MonitoringRepo:
    built = build_monitoring_repo(tmp_path, settings_factory, unique_name)
    monkeypatch.setenv("FEATUREBANK_REPO", str(built.settings.repo))
    monkeypatch.setenv("FEATUREBANK_DATA_DIR", str(built.settings.data_dir))
    monkeypatch.setenv("REDIS_URL", redis_url)
    return built


def test_a_cli_built_training_set_is_a_drift_reference_by_its_manifest(
        repo: MonitoringRepo, tmp_path: Path) -> None:
    built_at = NOW - timedelta(days=1)
    repo.write_history("activity", activity_table([
        {"user_id": u, "amount": float(u), "clicks": u, "segment": "a", "flag": True,
         "ts": built_at - timedelta(hours=1)} for u in USERS]))
    entities = tmp_path / "entities.parquet"
    pq.write_table(pa.table({"user_id": pa.array(list(USERS), pa.int64()),
                             "event_timestamp": pa.array([built_at] * len(USERS),
                                                         pa.timestamp("us", tz="UTC"))}),
                   entities)
    out = tmp_path / "sets" / "train.parquet"
    result = CliRunner().invoke(app, ["training-set", "--out", str(out), "--entities",
                                      str(entities), "--features", "activity:amount"])
    assert result.exit_code == 0, result.output
    manifest = out.parent / "train.training-set" / manifests.MANIFEST_FILE
    assert manifest.is_file()
    assert out.is_file()

    for reference in (manifest, manifest.parent):
        report = run_monitoring(repo.settings, window=timedelta(hours=1), now=NOW,
                                reference=f"training-set:{reference}", parts=("drift",),
                                definitions=repo.definitions, save=False)
        amount = {(d.view, d.feature): d for d in report.drift}[("activity", "amount")]
        assert amount.rows_reference == len(USERS)

    set_id = manifests.Manifest.load(manifest).id
    with pytest.raises(InvalidInput, match="pass the path of its manifest"):
        run_monitoring(repo.settings, window=timedelta(hours=1), now=NOW,
                       reference=f"training-set:{set_id}", parts=("drift",),
                       definitions=repo.definitions, save=False)
