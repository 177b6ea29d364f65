"""Child processes of `featurebank up`: start, wait for a port, stop them all on exit."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_answers(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def wait_for_port(host: str, port: int, timeout: float, process: subprocess.Popen[bytes] | None
                  = None) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if port_answers(host, port, 0.2):
            return True
        if process is not None and process.poll() is not None:
            return False
        time.sleep(0.1)
    return False


@dataclass
class Children:
    """Processes started by this command, stopped in reverse order with SIGTERM then SIGKILL.

    Each child leads its own process group (its own session, away from the terminal), so a
    stop reaches whatever it forked too, and the terminal's signals reach only our process.
    `hold` defers a stop signal while a child is started and registered (supervisor.py).
    """

    log_dir: Path
    running: list[tuple[str, subprocess.Popen[bytes]]] = field(default_factory=list)
    hold: Callable[[], AbstractContextManager[None]] = contextlib.nullcontext

    def start(self, name: str, argv: Sequence[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        self.log_dir.mkdir(parents=True, exist_ok=True)

        def spawn() -> subprocess.Popen[bytes]:
            with (self.log_dir / f"{name}.log").open("ab") as log:
                return subprocess.Popen(list(argv), env=env, stdout=log,
                                        stderr=subprocess.STDOUT, start_new_session=True)

        return self.add(name, spawn)

    def add(self, name: str, spawn: Callable[[], subprocess.Popen[bytes]]
            ) -> subprocess.Popen[bytes]:
        """Start a child with `spawn` (its own session) and register it, as one step."""
        with self.hold():
            process = spawn()
            self.running.append((name, process))
        return process

    def log_path(self, name: str) -> Path:
        return self.log_dir / f"{name}.log"

    def exited(self) -> list[tuple[str, int]]:
        return [(n, p.returncode) for n, p in self.running if p.poll() is not None]

    def stop_all(self, grace: float = 10.0) -> None:
        for _, process in reversed(self.running):
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        for _, process in reversed(self.running):
            remaining = max(0.1, deadline - time.monotonic())
            try:
                process.wait(timeout=remaining)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=5)
        self.running.clear()
