"""A `unix://` REDIS_URL reaches the same Redis from our writers and from Feast's own client."""

from __future__ import annotations

import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from typer.testing import CliRunner

from featurebank.cli.main import app
from featurebank.feast_repo import apply_repo, open_store
from featurebank.settings import Settings
from tests.support.sample_repo import make_sample_repo, write_sample_data

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def socket_path(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A redis-server that listens on a Unix socket only (no TCP port at all)."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("redis-server is not installed; run `make setup`")
    workdir = tmp_path_factory.mktemp("unix-redis")
    path = workdir / "redis.sock"
    process = subprocess.Popen(
        [binary, "--port", "0", "--unixsocket", str(path), "--unixsocketperm", "700",
         "--save", "", "--appendonly", "no", "--dir", str(workdir)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 15
        while not path.exists():
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError("redis-server did not open its Unix socket")
            time.sleep(0.05)
        yield path
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_materialized_values_are_read_by_feast_over_the_socket(
        tmp_path: Path, socket_path: Path) -> None:
    url = f"unix://{socket_path}?db=2"
    repo = make_sample_repo(tmp_path, "u" + uuid.uuid4().hex[:10])
    env = {"FEATUREBANK_REPO": str(repo), "FEATUREBANK_DATA_DIR": str(tmp_path / "data"),
           "REDIS_URL": url}
    settings = Settings(_env_file=None, **env)  # type: ignore[call-arg, arg-type]
    write_sample_data(settings.data_path)
    apply_repo(settings)

    result = CliRunner().invoke(app, ["materialize", "--views", "region_stats"], env=env)
    assert result.exit_code == 0, result.output
    client = redis.Redis(unix_socket_path=str(socket_path), db=2)
    try:
        # The four regions and the views' freshness watermark, in the database the URL names.
        keys = client.keys()
        bookkeeping = [k for k in keys if k.startswith(b"featurebank:freshness:")]
        assert len(bookkeeping) == 1
        assert len(keys) - len(bookkeeping) == 4
    finally:
        client.close()

    # Feast's client comes from FEATUREBANK_REDIS_CONNECTION: it must use the socket too.
    values = open_store(settings).get_online_features(
        features=["region_stats:demand"],
        entity_rows=[{"region_code": "north"}, {"region_code": "wést"}]).to_dict()
    assert values["demand"] == [1.5, 4.5]
