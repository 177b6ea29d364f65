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
           "FEATUREBANK_API_KEYS": ""}  # and no COLUMNS: piped output must not wrap
    process = subprocess.Popen(
        [sys.executable, "-m", "featurebank.cli.main", "up", "--port", str(port), "--rate", "50"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT,
    )
    lines: list[str] = []
    children: list[int] = []
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
        assert "Warning" not in output, output  # Feast's and DuckDB's notes are not for users
        curl = next(i for i, line in enumerate(lines) if "curl -s" in line)
        assert lines[curl].rstrip().endswith("\\"), lines[curl]
        body = json.loads(re.fullmatch(r"\s*-d '(\{.*\})'\s*",  # type: ignore[union-attr]
                                       lines[curl + 1]).group(1))
        response = httpx.post(f"http://127.0.0.1:{port}/get-online-features", json=body,
                              timeout=10)
        assert response.status_code == 200, response.text
        statuses = [s for result in response.json()["results"] for s in result["statuses"]]
        assert statuses.count("PRESENT") > len(statuses) // 2
        assert_stream_reaches_lookups(port, started=time.time() - ready_after)
        health = httpx.get(f"http://127.0.0.1:{port}/health", timeout=10).json()
        assert health["dependencies"]["kafka"]["status"] == "ok"
        broker = health["dependencies"]["kafka"]["bootstrap"]
        children = process_tree(process.pid)
        assert len(children) >= 4  # broker, API, processor, producer (and what they fork)
    finally:
        # Ctrl-C on `up | tee log`: the reader is gone before `up` prints its goodbye.
        assert process.stdout is not None
        process.stdout.close()
        process.send_signal(signal.SIGINT)
        code = process.wait(timeout=60)
    assert code == 0, (tmp_path / "data" / "logs")
    deadline = time.monotonic() + 5
    while [pid for pid in children if alive(pid)] and time.monotonic() < deadline:
        time.sleep(0.1)
    assert [pid for pid in children if alive(pid)] == []
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{port}/health", timeout=2)
    host, _, broker_port = broker.rpartition(":")
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://{host}:{broker_port}/", timeout=2)


def process_tree(root: int) -> list[int]:
    """Every process below `root` (children in their own sessions, and what they fork)."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            parents[int(entry)] = int(stat.rpartition(")")[2].split()[1])
    found: list[int] = []
    frontier = [root]
    while frontier:
        parent = frontier.pop()
        below = [pid for pid, ppid in parents.items() if ppid == parent]
        found += below
        frontier += below
    return found


def alive(pid: int) -> bool:
    """Running; a zombie left for a container's init that does not reap is not."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


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
