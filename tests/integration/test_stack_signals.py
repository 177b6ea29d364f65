"""Every child `up` starts stops on SIGINT, SIGTERM, SIGHUP and SIGPIPE, piped or not.

`up`'s supervisor runs here with the children that hold ports (redis-server, the Tansu broker
and a process group with a grandchild); tests/e2e/test_local_stack.py stops the real `up`.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from featurebank.stack.processes import port_answers

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.integration


def alive(pid: int) -> bool:
    """Running (a zombie waiting for a reaper that never comes, in a container, is not)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rpartition(")")[2].split()[0] != "Z"
    except FileNotFoundError:
        return False


def group_members(pgid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.getpgid(int(entry)) == pgid:
                    found.append(int(entry))
            except ProcessLookupError:
                continue
    return found


@pytest.mark.parametrize(("signum", "close_pipe"), [
    (signal.SIGINT, False),
    (signal.SIGTERM, False),
    (signal.SIGHUP, False),
    (signal.SIGPIPE, False),
    (signal.SIGINT, True),  # `up | tee log` and Ctrl-C: tee is gone when `up` says goodbye
])
def test_a_stop_signal_stops_every_child_and_frees_its_port(
        tmp_path: Path, signum: signal.Signals, close_pipe: bool) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.support.stack_stand_in", str(tmp_path)], cwd=ROOT,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert process.stdout is not None
    try:
        lines = []
        for line in process.stdout:
            lines.append(line)
            if line.startswith("Press Ctrl-C"):
                break
        assert lines, "the stand-in printed nothing"
        assert lines[-1].startswith("Press Ctrl-C"), lines
        ports = [int(p) for p in lines[-3].split()[1:]]
        pids = [int(p) for p in lines[-2].split()[1:]]
        members = [pid for leader in pids for pid in group_members(leader)]
        assert len(members) > len(pids)  # the shell's HTTP server is a grandchild
        assert all(port_answers("127.0.0.1", port) for port in ports)
        if close_pipe:
            process.stdout.close()
        process.send_signal(signum)
        code = process.wait(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    stderr = process.stderr.read() if process.stderr else ""
    assert code == 0, stderr
    assert "Traceback" not in stderr, stderr
    deadline = time.monotonic() + 5
    while any(alive(pid) for pid in members) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert [pid for pid in members if alive(pid)] == []
    assert [port for port in ports if port_answers("127.0.0.1", port)] == []
