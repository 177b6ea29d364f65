"""What every benchmark shares: the generated bench repo and data, private servers, statistics.

The benches run ours and stock Feast side by side on the same generated data and the same
private Redis, so everything that could differ between the two sides (data, Redis, machine)
is built here once. Nothing here depends on the demo catalog.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from bench import wrk
from featurebank.settings import Settings
from tests.support.repos import write_repo

ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = ROOT / "bench" / "results"
VENV_BIN = Path(sys.executable).parent

VIEW = "bench_stats"
JOIN_KEY = "entity_id"
# 20 features, mixed float and int widths, so every fixed-width and varint encoder is exercised.
FEATURES: tuple[tuple[str, str], ...] = tuple(
    [(f"f64_{i}", "Float64") for i in range(5)]
    + [(f"f32_{i}", "Float32") for i in range(5)]
    + [(f"i64_{i}", "Int64") for i in range(5)]
    + [(f"i32_{i}", "Int32") for i in range(5)]
)
_ARROW_TYPES = {"Float64": pa.float64(), "Float32": pa.float32(),
                "Int64": pa.int64(), "Int32": pa.int32()}

DEFINITIONS = '''
import os
from datetime import timedelta
from feast import Entity, FeatureView, Field, FileSource, ValueType
from feast.types import Float32, Float64, Int32, Int64

DATA = os.environ["FEATUREBANK_DATA_DIR"]

entity = Entity(name="bench_entity", join_keys=["{join_key}"], value_type=ValueType.INT64,
                description="A generated benchmark entity")
source = FileSource(name="bench_source", path=f"{{DATA}}/{view}/*.parquet",
                    timestamp_field="event_timestamp")
view = FeatureView(
    name="{view}", entities=[entity], ttl=timedelta(days=3650), online=True, source=source,
    description="20 generated features",
    schema=[Field(name="{join_key}", dtype=Int64)] + [
{fields}
    ],
)
'''


# --- the bench repo and its data -------------------------------------------------------------


def write_bench_repo(root: Path, project: str) -> Path:
    """A throwaway Feast repo with one 20-feature view over a glob of Parquet files."""
    fields = "\n".join(f'        Field(name="{name}", dtype={dtype}),' for name, dtype in FEATURES)
    source = DEFINITIONS.format(join_key=JOIN_KEY, view=VIEW, fields=fields)
    return write_repo(root, project, source)


def bench_settings(repo: Path, data_dir: Path, redis_url: str) -> Settings:
    values: dict[str, Any] = {"FEATUREBANK_REPO": str(repo),
                              "FEATUREBANK_DATA_DIR": str(data_dir), "REDIS_URL": redis_url}
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def child_env(settings: Settings) -> dict[str, str]:
    """The environment for our server, Feast's CLI and Feast's server on the same repo."""
    env = {**os.environ, **settings.feast_environment()}
    env.pop("FEATUREBANK_API_KEYS", None)
    return env


def history_end() -> datetime:
    """The last hour of generated history: an hour ago, so `end=now` covers every row."""
    return datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)


def _feature_column(rng: np.random.Generator, dtype: str, rows: int) -> pa.Array:
    if dtype.startswith("Float"):
        values: np.ndarray[Any, Any] = rng.normal(50.0, 20.0, rows)
    else:
        values = rng.integers(0, 100_000, rows)
    mask = rng.random(rows) < 0.01  # about 1% nulls, as real feature history has
    return pa.array(values, type=_ARROW_TYPES[dtype], mask=mask, from_pandas=False)


def write_history(data_dir: Path, *, entities: int, hours: int, seed: int = 11,
                  hours_per_file: int = 24) -> int:
    """An hourly history: every entity has one row per hour, `hours` hours back from an hour ago.

    Written in chunks of `hours_per_file` hours (one Parquet file each) so a 7M-row history is
    generated in seconds with bounded memory. Returns the number of rows written.
    """
    rng = np.random.default_rng(seed)
    out = data_dir / VIEW
    out.mkdir(parents=True, exist_ok=True)
    end_us = int(history_end().timestamp()) * 1_000_000
    ids = np.arange(1, entities + 1, dtype=np.int64)
    written = 0
    for first in range(0, hours, hours_per_file):
        span = min(hours_per_file, hours - first)
        rows = entities * span
        hour_index = np.repeat(np.arange(first, first + span, dtype=np.int64), entities)
        ts = pa.array(end_us - hour_index * 3_600_000_000, type=pa.timestamp("us", tz="UTC"))
        columns = {JOIN_KEY: pa.array(np.tile(ids, span)), "event_timestamp": ts}
        for name, dtype in FEATURES:
            columns[name] = _feature_column(rng, dtype, rows)
        pq.write_table(pa.table(columns), out / f"part-{first // hours_per_file:04d}.parquet",
                       compression="snappy")
        written += rows
    return written


# --- private processes -----------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, process: subprocess.Popen[bytes], name: str, log: Path,
                  timeout: float = 60.0) -> None:
    """Wait until `port` accepts connections; fail at once (with the log tail) if `name` died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise RuntimeError(f"{name} exited with code {process.returncode}:\n{tail}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{name} did not listen on 127.0.0.1:{port} within {timeout:.0f}s")


@contextmanager
def background(name: str, command: Sequence[str], *, port: int, log: Path,
               env: Mapping[str, str] | None = None, cwd: Path | None = None,
               timeout: float = 60.0) -> Iterator[subprocess.Popen[bytes]]:
    """Run a server in its own process group until the block ends; its output goes to `log`."""
    with log.open("wb") as sink:
        process = subprocess.Popen(list(command), stdout=sink, stderr=subprocess.STDOUT,
                                   env=dict(env) if env is not None else None, cwd=cwd,
                                   start_new_session=True)
    try:
        wait_for_port(port, process, name, log, timeout)
        yield process
    finally:
        _stop(process)


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)  # the group: gunicorn/uvicorn workers too
        process.wait(timeout=15)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)


@contextmanager
def redis_server(workdir: Path) -> Iterator[str]:
    """A private `redis-server` on a free port, without persistence; yields its URL."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("redis-server is not installed; run `make setup`")
    port = free_port()
    command = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
               "--appendonly", "no", "--dir", str(workdir)]
    with background("redis-server", command, port=port, log=workdir / "redis.log"):
        yield f"redis://127.0.0.1:{port}/0"


# --- interleaved wrk runs --------------------------------------------------------------------

Runs = dict[str, dict[str, list[wrk.WrkResult]]]
"""Per case (a wrk script), per target (a server): the result of every repeat."""


def measure_interleaved(ports: Mapping[str, int], scripts: Mapping[str, Path], *, path: str,
                        warmup: float, duration: float, repeats: int, connections: int,
                        threads: int) -> Runs:
    """Every case against every target, repeat by repeat, so a shared machine's drift spreads
    over all targets instead of biasing the one measured while it lasted."""
    runs: Runs = {case: {t: [] for t in ports} for case in scripts}
    for script in scripts.values():
        for target in ports:  # warm every server and code path before timing anything
            wrk.run(f"http://127.0.0.1:{ports[target]}{path}", script, duration_s=warmup,
                    connections=connections, threads=threads)
    for repeat in range(repeats):
        for case, script in scripts.items():
            for target in ports:
                result = wrk.run(f"http://127.0.0.1:{ports[target]}{path}", script,
                                 duration_s=duration, connections=connections, threads=threads)
                if result.errors or result.non_2xx:
                    print(f"  warning: {target} {case}: {result.errors} socket errors, "
                          f"{result.non_2xx} non-2xx answers", file=sys.stderr)
                runs[case][target].append(result)
                print(f"  repeat {repeat + 1}/{repeats} {case:>6} {target:>5}: "
                      f"{result.rps:9,.0f} req/s  p50 {result.p50_ms:6.2f} ms  "
                      f"p99 {result.p99_ms:7.2f} ms")
    return runs


def target_stats(results: Sequence[wrk.WrkResult]) -> dict[str, Any]:
    """req/s, p50 and p99 of one target's repeats, and its failed requests."""
    return {"rps": spread([r.rps for r in results]), "p50_ms": spread([r.p50_ms for r in results]),
            "p99_ms": spread([r.p99_ms for r in results]),
            "errors": sum(r.errors + r.non_2xx for r in results)}


def target_rows(summary: Mapping[str, Any], cases: Sequence[str],
                targets: Sequence[str]) -> list[list[str]]:
    """Table rows (case, target, req/s, p50, p99, errors) of `target_stats` per case."""
    rows = []
    for case in cases:
        for target in targets:
            s = summary[case][target]
            rows.append([case, target, s["rps"].show(0), s["p50_ms"].show(), s["p99_ms"].show(),
                         str(s["errors"])])
    return rows


def runs_payload(bench: str, argv: list[str] | None, settings: Mapping[str, Any],
                 summary: dict[str, Any], runs: Runs, **extra: Any) -> dict[str, Any]:
    """The results file of an interleaved wrk bench: command, settings, machine, summary,
    `extra`, then every run."""
    command = " ".join([f"python -m bench.{bench}_bench", *(argv or sys.argv[1:])])
    return {"bench": bench, "command": command, "settings": settings,
            "machine": machine_info(), "summary": summary, **extra,
            "runs": {c: {t: [asdict(r) for r in rs] for t, rs in ts.items()}
                     for c, ts in runs.items()}}


# --- statistics and results ------------------------------------------------------------------


@dataclass(frozen=True)
class Spread:
    """A median with the noise around it: min, max and the interquartile range."""

    median: float
    minimum: float
    maximum: float
    q1: float
    q3: float
    samples: tuple[float, ...]

    def show(self, digits: int = 2) -> str:
        if len(self.samples) == 1:
            return f"{self.median:,.{digits}f}"
        return (f"{self.median:,.{digits}f} [{self.minimum:,.{digits}f}-"
                f"{self.maximum:,.{digits}f}]")


def spread(samples: Sequence[float]) -> Spread:
    if not samples:
        raise ValueError("no samples to summarise")
    values = sorted(float(s) for s in samples)
    if len(values) >= 2:
        q1, _, q3 = statistics.quantiles(values, n=4, method="inclusive")
    else:
        q1 = q3 = values[0]
    return Spread(statistics.median(values), values[0], values[-1], q1, q3, tuple(values))


def ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator else float("nan")


def machine_info() -> dict[str, Any]:
    """What the figures were measured on (nproc, CPU model, memory, versions)."""
    cpu = "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory_gib = None
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        first = meminfo.read_text().splitlines()[0].split()
        memory_gib = round(int(first[1]) / 1024 / 1024, 1)
    import feast

    redis_version = ""
    binary = shutil.which("redis-server")
    if binary:
        redis_version = subprocess.run([binary, "--version"], capture_output=True, text=True,
                                       check=False).stdout.strip()
    return {"nproc": os.cpu_count(), "cpu": cpu, "memory_gib": memory_gib,
            "python": platform.python_version(), "feast": feast.__version__,
            "redis": redis_version, "kernel": platform.release()}


def write_results(name: str, payload: dict[str, Any]) -> Path:
    """Write `bench/results/<name>-<utc time>.json` and `<name>-latest.json`; returns the first."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    text = json.dumps(payload, indent=2, default=_jsonable)
    path = RESULTS_DIR / f"{name}-{stamp}.json"
    path.write_text(text)
    (RESULTS_DIR / f"{name}-latest.json").write_text(text)
    return path


def _jsonable(value: object) -> object:
    if isinstance(value, Spread):
        return asdict(value)
    if isinstance(value, Path | datetime):
        return str(value)
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def print_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """A plain aligned table (copy-pastes into Markdown docs as is)."""
    widths = [max(len(str(c)) for c in column) for column in zip(headers, *rows, strict=False)]
    print("| " + " | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in rows:
        print("| " + " | ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)) + " |")
