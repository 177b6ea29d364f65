"""`featurebank up`: everything a developer needs, started in order, stopped together.

Redis and the broker are reused when they answer and started as children when they do not,
so the same command works on a laptop with services running and on a bare machine.
"""

from __future__ import annotations

import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import orjson
import redis

from featurebank.auth import new_secret
from featurebank.definitions import Definitions, load_definitions
from featurebank.errors import DependencyUnavailable, InvalidInput
from featurebank.feast_repo import apply_repo, open_store
from featurebank.offline.sources import offline_source
from featurebank.redis_url import redis_display
from featurebank.settings import Settings
from featurebank.stack.processes import Children, free_port, port_answers, wait_for_port
from featurebank.stack.sample import sample_request
from featurebank.stack.supervisor import supervise

Say = Callable[[str], None]


@dataclass
class StackOptions:
    host: str = "127.0.0.1"
    port: int = 8000
    demo_data: bool = True
    scale: float = 1.0
    stream: bool = True
    producer_rate: float = 20.0
    """Demo events per second; 0 starts no demo producer (the processor still runs)."""


def redis_answers(url: str) -> bool:
    try:
        client = redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except (redis.exceptions.RedisError, ValueError):
        return False


def ensure_redis(settings: Settings, children: Children, say: Say) -> str:
    if redis_answers(settings.redis_url):
        say(f"Redis answers at {settings.redis_url}")
        return settings.redis_url
    binary = shutil.which("redis-server")
    if binary is None:
        raise DependencyUnavailable(
            f"Redis does not answer at {settings.redis_url} and redis-server is not installed: "
            "run `apt-get install -y redis-server` (or `make setup`), or set REDIS_URL"
        )
    port = free_port()
    workdir = settings.data_path / "redis"
    workdir.mkdir(parents=True, exist_ok=True)
    process = children.start("redis", [binary, "--port", str(port), "--bind", "127.0.0.1",
                                       "--save", "", "--appendonly", "no", "--dir", str(workdir)],
                             env={})
    if not wait_for_port("127.0.0.1", port, 15, process):
        raise DependencyUnavailable(f"redis-server did not start; see {children.log_path('redis')}")
    url = f"redis://127.0.0.1:{port}/0"
    say(f"started redis-server at {url}")
    return url


def ensure_broker(settings: Settings, children: Children, say: Say) -> str | None:
    first = settings.kafka_bootstrap_servers.split(",")[0].strip()
    host, _, port_text = first.rpartition(":")
    if port_text.isdigit() and port_answers(host or "127.0.0.1", int(port_text)):
        say(f"Kafka broker answers at {first}")
        return settings.kafka_bootstrap_servers
    try:
        from featurebank.stack.broker import start_broker
    except ImportError:
        say("no Kafka broker answers and none can be started here; streaming is off")
        return None
    port = free_port()
    process = children.add("broker", lambda: start_broker(
        port=port, data_dir=settings.data_path / "broker", log_path=children.log_path("broker")))
    if not wait_for_port("127.0.0.1", port, 20, process):
        raise DependencyUnavailable(f"the broker did not start; see {children.log_path('broker')}")
    say(f"started the Tansu broker at 127.0.0.1:{port}")
    return f"127.0.0.1:{port}"


def missing_history(definitions: Definitions) -> list[str]:
    missing = []
    for view in definitions.views.values():
        try:
            source = offline_source(view)
        except InvalidInput:  # a non-Parquet source simply has nothing to generate
            continue
        if not source.has_files():
            missing.append(view.name)
    return missing


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "featurebank.cli.main", *args]


def _has_command(name: str) -> bool:
    from featurebank.cli.main import app

    return any(
        (c.name or (c.callback.__name__ if c.callback else "").replace("_", "-")) == name
        for c in app.registered_commands
    )


def run_stack(settings: Settings, options: StackOptions, say: Say) -> int:
    """Start everything, print how to use it, and block until a stop signal or a child dies.

    Returns 0 after SIGINT, SIGTERM, SIGHUP or SIGPIPE and 1 when a child died; every child
    is stopped in both cases, and when start-up fails (supervisor.py).
    """
    if port_answers(options.host, options.port):
        raise InvalidInput(
            f"port {options.port} on {options.host} is already in use; choose another with "
            "`featurebank up --port N`, `make up PORT=N` or FEATUREBANK_PORT=N")
    children = Children(settings.data_path / "logs")
    return supervise(children, lambda: _start(settings, options, children, say), say)


def _start(settings: Settings, options: StackOptions, children: Children, say: Say) -> None:
    began = time.monotonic()
    settings.data_path.mkdir(parents=True, exist_ok=True)
    redis_url = ensure_redis(settings, children, say)
    bootstrap = ensure_broker(settings, children, say) if options.stream else None
    dev_key = None
    overrides: dict[str, object] = {"REDIS_URL": redis_url}
    if bootstrap:
        overrides["KAFKA_BOOTSTRAP_SERVERS"] = bootstrap
    if not settings.api_keys:
        dev_key = f"dev-{new_secret()}"
        overrides["FEATUREBANK_API_KEYS"] = f"dev:{dev_key}:admin"
    overrides.update(demo_monitoring(settings))
    settings = settings.model_copy(update={
        "redis_url": redis_url,
        "kafka_bootstrap_servers": bootstrap or settings.kafka_bootstrap_servers,
    })
    env = _child_env(settings, overrides)

    # A stop waits for the registry and the demo files to be whole: half-written, the next
    # `up` would find them present and keep them.
    say("applying the Feast repo…")
    with children.hold():
        apply_repo(settings)
    definitions = load_definitions(open_store(settings))
    missing = missing_history(definitions)
    if missing and options.demo_data:
        say(f"no offline history for {len(missing)} view(s); generating demo data "
            f"(scale {options.scale})…")
        from featurebank.demo.generate import generate_demo_data

        with children.hold():
            generate_demo_data(settings.data_path, scale=options.scale)
            apply_repo(settings)
        definitions = load_definitions(open_store(settings))
    say("materializing offline history into Redis…")
    _run_to_end(children, "materialize", _cli("materialize"), env)

    started = {name: children.start(name, argv, env)
               for name, argv in service_commands(options, streaming=bootstrap is not None)}
    if not wait_for_port(options.host, options.port, 60, started["api"]):
        raise DependencyUnavailable(f"the API did not start; see {children.log_path('api')}")
    _print_ready(settings, options, definitions, dev_key, time.monotonic() - began, say)


def demo_monitoring(settings: Settings) -> dict[str, object]:
    """Monitoring on by default in the local stack, so the demo shows drift and freshness.

    The stack serves demo data to one user, so every lookup is logged and the monitor runs each
    minute; a value the user set in the environment or `.env` is left alone.
    """
    defaults = {"monitor_interval_s": ("FEATUREBANK_MONITOR_INTERVAL_S", 60),
                "log_sample_rate": ("FEATUREBANK_LOG_SAMPLE_RATE", 1.0)}
    return {env: value for field, (env, value) in defaults.items()
            if field not in settings.model_fields_set}


def service_commands(options: StackOptions, streaming: bool) -> list[tuple[str, list[str]]]:
    """The long-running children: the API, and with a broker the processor and demo producer."""
    commands = [("api", _cli("serve", "--host", options.host, "--port", str(options.port)))]
    if streaming and _has_command("stream"):
        commands.append(("processor", _cli("stream")))
        if options.producer_rate > 0 and _has_command("produce-demo"):
            commands.append(("producer", _cli("produce-demo", "--rate",
                                              str(options.producer_rate))))
    return commands


def _run_to_end(children: Children, name: str, argv: list[str], env: dict[str, str]) -> None:
    process = children.start(name, argv, env)
    code = process.wait()
    children.running.remove((name, process))
    if code != 0:
        tail = children.log_path(name).read_text(errors="replace").strip().splitlines()[-5:]
        raise DependencyUnavailable(f"{name} failed (exit {code}):\n" + "\n".join(tail))


def _child_env(settings: Settings, overrides: dict[str, object]) -> dict[str, str]:
    import os

    env = {**os.environ, **settings.feast_environment()}
    env.update({k: str(v) for k, v in overrides.items()})
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _print_ready(settings: Settings, options: StackOptions, definitions: Definitions,
                 dev_key: str | None, elapsed: float, say: Say) -> None:
    base = f"http://{options.host}:{options.port}"
    body = sample_request(definitions)
    say("")
    say(f"Feature Bank is up in {elapsed:.0f}s — project {definitions.project!r}, "
        f"{len(definitions.views)} feature views")
    say(f"  web UI         {base}/")
    say(f"  API docs       {base}/docs")
    say(f"  health         {base}/health")
    say(f"  Redis          {redis_display(settings.redis_url)}")
    say(f"  monitoring     {base}/monitoring/summary   (`featurebank monitor run` by hand)")
    if dev_key:
        say(f"  dev API key    {dev_key}   (scopes read, write, admin; header X-API-Key)")
        say(f"  for the UI's snippets:  export FEATUREBANK_API_KEY={dev_key}")
    if body is not None:
        say("  try a lookup:")
        say(f"    curl -s {base}/get-online-features -H 'content-type: application/json' \\")
        say(f"      -d '{orjson.dumps(body).decode()}'")
    say(f"  logs           {Path(settings.data_path) / 'logs'}")
    say("Press Ctrl-C to stop everything started here.")
