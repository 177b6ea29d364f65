"""docker-compose.yml cannot run here (no engine), so it is validated by Compose and by structure.

`docker-compose config -q` proves Compose accepts the file; the structural checks parse it
(PyYAML resolves the `<<` merges) and assert what a broken stack would get wrong: missing
healthchecks, services starting before their dependencies, environment variables that the
settings object would ignore, and commands or flags the CLI does not have.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import typer.main
import yaml  # type: ignore[import-untyped]

from featurebank.cli.main import app
from featurebank.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
FEATUREBANK_SERVICES = ("init", "api", "processor")
REQUIRED_ENV = {"FEATUREBANK_REPO", "FEATUREBANK_DATA_DIR", "REDIS_URL", "KAFKA_BOOTSTRAP_SERVERS"}
_DEFAULTED = re.compile(r"\$\{(\w+):-([^}]*)\}")


@pytest.fixture(scope="module")
def services() -> dict[str, Any]:
    document = yaml.safe_load(COMPOSE.read_text())
    assert isinstance(document, dict)
    return dict(document["services"])


def settings_aliases() -> set[str]:
    return {str(field.validation_alias) for field in Settings.model_fields.values()
            if field.validation_alias}


def command_words(service: dict[str, Any]) -> list[str]:
    command = service["command"]
    return command.split() if isinstance(command, str) else [str(w) for w in command]


def test_compose_accepts_the_file() -> None:
    binary = shutil.which("docker-compose")
    if binary is None:
        pytest.skip("docker-compose is not installed (apt-get install -y --no-install-recommends "
                    "docker-compose; `make setup` does it)")
    result = subprocess.run([binary, "-f", str(COMPOSE), "config", "-q"], cwd=ROOT,
                            capture_output=True, text=True, check=False, timeout=60)
    assert result.returncode == 0, result.stderr


def test_stack_has_kafka_in_kraft_mode_and_redis(services: dict[str, Any]) -> None:
    assert set(services) == {"kafka", "redis", "init", "api", "processor"}
    kafka = services["kafka"]
    assert kafka["image"].startswith("apache/kafka")
    env = kafka["environment"]
    assert set(env["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}
    assert env["KAFKA_CONTROLLER_QUORUM_VOTERS"] == f"{env['KAFKA_NODE_ID']}@kafka:9093"
    assert "PLAINTEXT://kafka:9092" in env["KAFKA_ADVERTISED_LISTENERS"]
    assert services["redis"]["image"].startswith("redis")


def test_every_long_running_service_has_a_healthcheck(services: dict[str, Any]) -> None:
    for name, service in services.items():
        if name == "init":
            assert service.get("restart") == "no", "the init job must run once"
            continue
        check = service.get("healthcheck") or {}
        assert check.get("test"), f"service {name!r} has no healthcheck"


def test_processes_wait_for_healthy_dependencies(services: dict[str, Any]) -> None:
    assert services["init"]["depends_on"]["redis"]["condition"] == "service_healthy"
    for name in ("api", "processor"):
        depends = services[name]["depends_on"]
        assert depends["redis"]["condition"] == "service_healthy", name
        assert depends["kafka"]["condition"] == "service_healthy", name
        assert depends["init"]["condition"] == "service_completed_successfully", name


def test_environment_names_are_settings_aliases(services: dict[str, Any]) -> None:
    aliases = settings_aliases()
    for name in FEATUREBANK_SERVICES:
        env = services[name]["environment"]
        missing = REQUIRED_ENV - set(env)
        assert not missing, f"{name} lacks {sorted(missing)}"
        ours = {k for k in env if k.startswith("FEATUREBANK_") or k in REQUIRED_ENV}
        assert ours <= aliases, f"{name} sets variables Settings ignores: {sorted(ours - aliases)}"


def test_environment_defaults_make_valid_settings(services: dict[str, Any]) -> None:
    """With no variables exported, Compose's defaults must pass Settings' own validation."""
    aliases = settings_aliases()
    for name in FEATUREBANK_SERVICES:
        env = services[name]["environment"]
        values: dict[str, Any] = {k: _DEFAULTED.sub(lambda m: m.group(2), str(v))
                                  for k, v in env.items() if k in aliases}
        settings = Settings(_env_file=None, **values)  # type: ignore[call-arg]
        assert settings.redis_url == "redis://redis:6379/0"
        assert settings.kafka_bootstrap_servers == "kafka:9092"


def test_commands_exist_in_the_cli(services: dict[str, Any]) -> None:
    cli = typer.main.get_command(app)
    commands: dict[str, Any] = cli.commands  # type: ignore[attr-defined]
    init = " ".join(command_words(services["init"]))
    for step in ("apply", "demo-data", "materialize"):
        assert f"featurebank {step}" in init
        assert step in commands
    for name, subcommand in (("api", "serve"), ("processor", "stream")):
        words = command_words(services[name])
        assert words[:2] == ["featurebank", subcommand]
        known = {opt for param in commands[subcommand].params for opt in param.opts}
        flags = [w for w in words if w.startswith("--")]
        assert set(flags) <= known, f"{name}: unknown flags {sorted(set(flags) - known)}"
    assert "0.0.0.0" in command_words(services["api"])


def test_image_is_built_from_the_project() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "FROM python:3.11-slim" in dockerfile
    assert "pip install ." in dockerfile
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert ".venv" in ignored
    assert "data" in ignored
