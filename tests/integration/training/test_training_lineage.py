"""Training sets in the catalog's lineage and usage whoever built them (issue 8, item 7): the
API (the Python client's jobs), the CLI, and sets that reach a view only through an on-demand
view."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from featurebank.cli.main import app
from featurebank.client import Client
from featurebank.training.registry_of_sets import sets_using
from featurebank.training.spine import as_table
from tests.integration.training.test_training_api import SECRET, _entities, api
from tests.integration.training.training_repo import TrainingRepo

pytestmark = pytest.mark.integration
__all__ = ["api"]
HEADERS = {"x-api-key": SECRET}


def _lineage_sets(api: TestClient, view: str) -> list[str]:
    body: dict[str, Any] = api.get(f"/catalog/feature-views/{view}", headers=HEADERS).json()
    return [t["id"] for t in body["lineage"]["downstream"]["training_sets"]]


def test_a_client_built_set_is_in_lineage_at_once_and_under_an_odfvs_sources(
        api: TestClient) -> None:
    assert _lineage_sets(api, "stats") == []  # the catalog has read the records once
    client = Client("http://testserver", api_key=SECRET, http=api)
    set_id = client.submit_training_set(_entities(), features=["adjusted:rate_plus_bonus"])
    client.wait(set_id)
    # No wait for the catalog's periodic re-read; and 'stats' is read through 'adjusted'.
    assert _lineage_sets(api, "stats") == [set_id]
    assert _lineage_sets(api, "adjusted") == [set_id]
    assert _lineage_sets(api, "profile") == []


def test_a_cli_built_set_is_recorded_where_the_catalog_reads(
        api: TestClient, training_repo: TrainingRepo, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    data_path = api.app.state.featurebank.settings.data_path  # type: ignore[attr-defined]
    assert data_path == training_repo.settings.data_path
    monkeypatch.setenv("FEATUREBANK_REPO", str(training_repo.settings.repo))
    monkeypatch.setenv("FEATUREBANK_DATA_DIR", str(training_repo.settings.data_dir))
    entities = tmp_path / "entities.parquet"
    pq.write_table(as_table(_entities()), entities)
    result = CliRunner().invoke(app, ["training-set", "--entities", str(entities), "--features",
                                      "profile:tier", "--out", str(tmp_path / "train.csv")])
    assert result.exit_code == 0, result.output

    [record] = sets_using(data_path, "profile:tier")
    assert record.status == "succeeded"
    assert record.rows == len(_entities())
    status = api.get(f"/training-sets/{record.id}", headers=HEADERS).json()
    assert status["origin"] == "cli"
    assert "data_url" not in status
    assert status["manifest"]["feature_refs"] == ["profile:tier"]
    data = api.get(f"/training-sets/{record.id}/data", headers=HEADERS)
    assert data.status_code == 404
    assert "built by the cli" in data.json()["error"]["message"]
    # The first catalog read starts reading the records in the background; one of the next
    # reads has them (a server already running re-reads them every SIGNAL_REFRESH_S).
    deadline = time.monotonic() + 5
    while _lineage_sets(api, "profile") != [record.id]:
        assert time.monotonic() < deadline, "the CLI-built set never reached the lineage"
        time.sleep(0.05)
