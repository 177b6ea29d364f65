"""`featurebank up`'s options: the port (flag, env, make), the demo rate, the printed lines."""

from __future__ import annotations

import math
import socket
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from featurebank.cli import stack_cmd
from featurebank.cli.main import app
from featurebank.settings import Settings
from featurebank.stack.up import StackOptions, service_commands

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield int(sock.getsockname()[1])


def test_a_busy_port_is_refused_before_anything_starts(tmp_path: Path, busy_port: int) -> None:
    env = {"FEATUREBANK_DATA_DIR": str(tmp_path / "data")}
    result = runner.invoke(app, ["up", "--port", str(busy_port)], env=env)
    assert result.exit_code == 2, result.output
    assert f"port {busy_port} on 127.0.0.1 is already in use" in result.output
    assert "make up PORT=N" in result.output
    assert not (tmp_path / "data").exists()


def test_the_port_comes_from_featurebank_port(tmp_path: Path, busy_port: int) -> None:
    env = {"FEATUREBANK_DATA_DIR": str(tmp_path / "data"), "FEATUREBANK_PORT": str(busy_port)}
    result = runner.invoke(app, ["up"], env=env)
    assert result.exit_code == 2, result.output
    assert f"port {busy_port} on 127.0.0.1 is already in use" in result.output


@pytest.mark.parametrize(("make_args", "expected"), [
    (["PORT=8123"], "featurebank up --port 8123"),
    ([], "featurebank up"),
])
def test_make_up_passes_the_port(make_args: list[str], expected: str) -> None:
    done = subprocess.run(["make", "-n", "up", *make_args], cwd=ROOT, capture_output=True,
                          text=True, check=True)
    up_line = [line for line in done.stdout.splitlines() if "featurebank up" in line]
    assert [line.split("/bin/", 1)[-1].strip() for line in up_line] == [expected]


def producer_argv(rate: float) -> list[str] | None:
    options = StackOptions(producer_rate=rate)
    for name, argv in service_commands(options, streaming=True):
        if name == "producer":
            return argv[argv.index("produce-demo") + 1:]
    return None


@pytest.mark.parametrize("rate", ["0", "0.1", "2.5", "100000"])
def test_every_rate_up_accepts_starts_a_producer_that_accepts_it(rate: str) -> None:
    parsed = float(rate)
    argv = producer_argv(parsed)
    if parsed == 0:
        assert argv is None  # 0: the processor runs, no demo events
        return
    assert argv is not None
    produce_demo = typer.main.get_command(app).commands["produce-demo"]  # type: ignore[attr-defined]
    context = produce_demo.make_context("produce-demo", argv)
    assert math.isclose(context.params["rate"], parsed)


@pytest.mark.parametrize("rate", ["0.05", "-1", "nan", "inf", "1e6"])
def test_up_refuses_a_rate_no_producer_could_run(rate: str) -> None:
    result = runner.invoke(app, ["up", "--rate", rate])
    assert result.exit_code == 2, result.output
    assert "--rate" in result.output


@pytest.mark.parametrize("rate", ["nan", "inf"])
def test_produce_demo_refuses_a_rate_that_is_not_a_number(rate: str) -> None:
    result = runner.invoke(app, ["produce-demo", "--rate", rate])
    assert result.exit_code == 2, result.output
    assert "--rate" in result.output


def test_up_prints_long_lines_whole_when_piped(monkeypatch: pytest.MonkeyPatch,
                                               tmp_path: Path) -> None:
    """The curl `up` prints must survive copy and paste from a log (no wrap at 80 columns)."""
    body = '{"features": ["' + '", "'.join(f"view:feature_{i}" for i in range(12)) + '"]}'
    line = f"      -d '{body}'"

    def fake_stack(settings: Settings, options: StackOptions, say: Callable[[str], None]) -> int:
        say(line)
        return 0

    monkeypatch.setattr(stack_cmd, "run_stack", fake_stack)
    result = runner.invoke(app, ["up"], env={"FEATUREBANK_DATA_DIR": str(tmp_path)})
    assert result.exit_code == 0, result.output
    assert line in result.output.splitlines()


def test_up_turns_monitoring_on_unless_the_user_chose() -> None:
    from featurebank.stack.up import demo_monitoring

    defaults = Settings(_env_file=None)  # type: ignore[call-arg]
    assert demo_monitoring(defaults) == {"FEATUREBANK_MONITOR_INTERVAL_S": 60,
                                         "FEATUREBANK_LOG_SAMPLE_RATE": 1.0}
    chosen = Settings(_env_file=None, FEATUREBANK_MONITOR_INTERVAL_S=0)  # type: ignore[call-arg]
    assert demo_monitoring(chosen) == {"FEATUREBANK_LOG_SAMPLE_RATE": 1.0}


def test_up_keeps_a_sample_rate_set_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from featurebank.stack.up import demo_monitoring

    monkeypatch.setenv("FEATUREBANK_LOG_SAMPLE_RATE", "0.1")
    assert demo_monitoring(Settings(_env_file=None)) == {  # type: ignore[call-arg]
        "FEATUREBANK_MONITOR_INTERVAL_S": 60}
