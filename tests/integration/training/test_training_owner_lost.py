"""A training-set job outlives its server: kill -9 the process mid-join, start another.

Real processes (uvicorn via the same factory `featurebank serve` uses), real files, real Redis.
The first server runs with a 2 s lease so the test is quick; the second uses the default. The
second server must report the orphaned job as failed with `owner_lost` once the lease lapses
(not "running" forever), clean its partial output, and build the resubmitted request.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pyarrow as pa
import pytest

from featurebank.settings import Settings
from featurebank.training.jobs import RESULT_FILE, job_dir
from tests.integration.training.test_training_feast_parity import T0
from tests.integration.training.training_repo import TrainingRepo
from tests.support.services import free_port, wait_for_port

pytestmark = pytest.mark.integration
SECRET = "s3cret-key-0123456789"
SHORT_LEASE_S = 2.0
ROWS = 3_000_000  # the join takes seconds, so it is still running when the test kills it
_LAUNCH = (
    "import sys, uvicorn\n"
    "from featurebank.training import lease\n"
    "lease.LEASE_S = float(sys.argv[2])\n"
    "uvicorn.run('server.main:app_factory', factory=True, host='127.0.0.1',\n"
    "            port=int(sys.argv[1]), log_level='warning')\n"
)


def _fill_big(repo: TrainingRepo) -> None:
    """Many stats rows spread over drivers and a week, so a label spine over them is large."""
    rng = np.random.default_rng(7)
    seconds = rng.integers(0, 7 * 86_400, ROWS)
    times = pa.array(np.datetime64(T0.replace(tzinfo=None), "us")
                     + seconds.astype("timedelta64[s]"), pa.timestamp("us", tz="UTC"))
    repo.write("stats", pa.table({
        "driver_id": rng.integers(0, 50_000, ROWS), "ts": times, "created": times,
        "raw_rate": rng.random(ROWS), "trips": rng.integers(0, 100, ROWS)}))
    repo.write("profile", pa.table({
        "driver_id": np.arange(50_000), "ts": pa.array([T0] * 50_000),
        "tier": ["gold", "silver"] * 25_000}))


@contextmanager
def _server(env: dict[str, str], cwd: Path, lease_s: float | None = None
            ) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    port = free_port()
    args = [sys.executable, "-c", _LAUNCH, str(port), str(lease_s or 30.0)]
    process = subprocess.Popen(args, env=env, cwd=cwd, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE)
    try:
        wait_for_port(port, timeout=60)
        yield process, f"http://127.0.0.1:{port}"
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=30)
        assert process.stderr is not None
        process.stderr.close()


def _status(client: httpx.Client, set_id: str) -> dict[str, Any]:
    response = client.get(f"/training-sets/{set_id}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _poll(client: httpx.Client, set_id: str, until: Callable[[dict[str, Any]], bool],
          timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        body = _status(client, set_id)
        if until(body) or time.monotonic() > deadline:
            return body
        time.sleep(0.1)


@pytest.fixture
def big_repo(training_repo: TrainingRepo) -> TrainingRepo:
    _fill_big(training_repo)
    return training_repo


def test_job_of_a_killed_server_ends_failed_and_can_be_resubmitted(
        big_repo: TrainingRepo, settings_factory: Callable[..., Settings], tmp_path: Path) -> None:
    settings = settings_factory(big_repo.settings.repo, FEATUREBANK_API_KEYS=f"w:{SECRET}:write")
    env = {**os.environ, **settings.feast_environment(), "FEATUREBANK_REGISTRY_REFRESH_S": "0",
           "FEATUREBANK_API_KEYS": f"w:{SECRET}:read+write"}
    request = {"features": ["stats:rate", "profile:tier"], "plan": "asof",
               "full_feature_names": True,
               "spine": {"mode": "label", "view": "stats", "start": T0.isoformat(),
                         "end": (T0 + timedelta(days=7)).isoformat()}}
    headers = {"x-api-key": SECRET}

    with _server(env, tmp_path, lease_s=SHORT_LEASE_S) as (first, url):
        with httpx.Client(base_url=url, headers=headers, timeout=30) as client:
            created = client.post("/training-sets", json=request)
            assert created.status_code == 202, created.text
            set_id = created.json()["id"]
            running = _poll(client, set_id, lambda b: b["status"] != "queued", timeout=60)
            assert running["status"] == "running", running  # still joining: kill it now
            owner = running["owner"]
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
        killed_at = time.monotonic()

    directory = job_dir(settings.data_path, set_id)
    assert not (directory / RESULT_FILE).exists()
    with _server(env, tmp_path) as (_second, url), \
            httpx.Client(base_url=url, headers=headers, timeout=60) as client:
        body = _poll(client, set_id, lambda b: b["status"] != "running", timeout=30)
        waited = time.monotonic() - killed_at
        assert body["status"] == "failed", body
        assert body["error"]["code"] == "owner_lost"
        assert "submit the same request again" in body["error"]["message"]
        assert body["error"]["detail"]["owner"] == owner
        assert body["error"]["detail"]["status_then"] == "running"
        assert body["finished_at"] is not None
        assert waited < 60, waited  # bounded: lease (2 s) + a second server's start-up
        assert not (directory / "tmp").exists()
        assert not (directory / "data.parquet").exists()
        data = client.get(f"/training-sets/{set_id}/data")
        assert data.status_code == 409
        assert "failed" in data.text

        again = client.post("/training-sets", json=request)
        assert again.status_code == 202, again.text
        done = _poll(client, again.json()["id"], lambda b: b["status"] in ("succeeded", "failed"),
                     timeout=120)
        assert done["status"] == "succeeded", done
        assert done["rows"] == ROWS
        assert _status(client, set_id)["status"] == "failed"  # the verdict never flips back
