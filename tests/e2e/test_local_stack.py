"""`featurebank up` as a developer runs it: ready with a working lookup, then a clean stop."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.support.services import free_port

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def test_up_serves_the_printed_lookup_and_stops_everything(tmp_path: Path, redis_url: str) -> None:
    port = free_port()
    env = {**os.environ, "FEATUREBANK_REPO": str(ROOT / "feature_repo"),
           "FEATUREBANK_DATA_DIR": str(tmp_path / "data"), "REDIS_URL": redis_url,
           "KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{free_port()}",  # nothing there: start Tansu
           "FEATUREBANK_API_KEYS": "", "COLUMNS": "200"}
    process = subprocess.Popen(
        [sys.executable, "-m", "featurebank.cli.main", "up", "--port", str(port), "--rate", "50"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT,
    )
    lines: list[str] = []
    try:
        began = time.monotonic()
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line)
            if "Press Ctrl-C" in line:
                break
        ready_after = time.monotonic() - began
        output = "".join(lines)
        assert "Feature Bank is up" in output, output
        assert ready_after < 120, f"ready after {ready_after:.0f}s"
        assert "dev API key" in output
        body = json.loads(re.search(r"-d '(\{.*\})'", output).group(1))  # type: ignore[union-attr]
        response = httpx.post(f"http://127.0.0.1:{port}/get-online-features", json=body,
                              timeout=10)
        assert response.status_code == 200, response.text
        statuses = [s for result in response.json()["results"] for s in result["statuses"]]
        assert statuses.count("PRESENT") > len(statuses) // 2
        assert_stream_reaches_lookups(port, started=time.time() - ready_after)
        health = httpx.get(f"http://127.0.0.1:{port}/health", timeout=10).json()
        assert health["dependencies"]["kafka"]["status"] == "ok"
        broker = health["dependencies"]["kafka"]["bootstrap"]
    finally:
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=60)
    assert code == 0, "".join(lines[-20:])
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{port}/health", timeout=2)
    host, _, broker_port = broker.rpartition(":")
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://{host}:{broker_port}/", timeout=2)


def assert_stream_reaches_lookups(port: int, started: float) -> None:
    """The demo producer's events go through the processor into what lookups return."""
    from datetime import datetime

    body = {"features": ["zone_live_demand:open_requests"],
            "entities": {"zone_id": [f"sfo-{i:03d}" for i in range(1, 21)]}}
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        result = httpx.post(f"http://127.0.0.1:{port}/get-online-features", json=body,
                            timeout=10).json()["results"][1]
        stamps = [datetime.fromisoformat(t.replace("Z", "+00:00")).timestamp()
                  for t, s in zip(result["event_timestamps"], result["statuses"], strict=True)
                  if s == "PRESENT"]
        if any(t >= started for t in stamps):
            return
        time.sleep(1)
    raise AssertionError("no streamed event reached the lookup API within 60 s")
