"""Monitoring benchmark: one `run_monitoring` over N served-value log rows (default 1M).

    .venv/bin/python bench/monitor_bench.py [--rows 1000000] [--users 100000] [--repeats 3]

Generates, in a temp dir and with DuckDB: a view of 10 features (6 DOUBLE, 2 BIGINT, a string,
a bool; TTL 1 day) with a week of history (one row per user every 8 hours), and N logged
lookups spread over the last hour whose served values are history's point-in-time values (so
consistency finds ~100% matches, as in production). Then it times whole runs: consistency
(the training join at each request time), drift against the week before (deciles + PSI/JS for
every feature) and freshness, and prints logged rows per second with per-phase times.

There is no Feast equivalent to compare with: Feast 0.67 writes feature logs but has no
consistency, drift or freshness job over them.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from featurebank.feast_repo import apply_repo  # noqa: E402
from featurebank.monitoring import log_layout  # noqa: E402
from featurebank.monitoring.run import run_monitoring  # noqa: E402
from featurebank.settings import Settings  # noqa: E402

DEFS = '''
import os
from datetime import timedelta
from feast import Entity, FeatureView, Field, FileSource
from feast.types import Bool, Float64, Int64, String
D = os.environ["FEATUREBANK_DATA_DIR"]
user = Entity(name="user", join_keys=["user_id"])
src = FileSource(name="usage_src", path=f"{D}/usage/*.parquet", timestamp_field="ts")
usage = FeatureView(name="usage", entities=[user], ttl=timedelta(days=1), source=src,
                    online=True, schema=[Field(name="user_id", dtype=Int64)]
                    + [Field(name=f"x{i}", dtype=Float64) for i in range(6)]
                    + [Field(name=f"n{i}", dtype=Int64) for i in range(2)]
                    + [Field(name="plan", dtype=String), Field(name="active", dtype=Bool)])
'''
YAML = """project: monitorbench
provider: local
registry: {path: REG, cache_ttl_seconds: 0}
online_store: {type: sqlite, path: ONLINE}
offline_store: {type: duckdb}
entity_key_serialization_version: 3
"""
FEATURES = [*(f"x{i}" for i in range(6)), "n0", "n1", "plan", "active"]
FILES = 8


def generate(work: Path, rows: int, users: int, now: datetime) -> Settings:
    data = work / "data"
    (data / "usage").mkdir(parents=True, exist_ok=True)
    repo = work / "repo"
    repo.mkdir(exist_ok=True)
    (repo / "feature_store.yaml").write_text(
        YAML.replace("REG", str(data / "registry.db")).replace("ONLINE", str(work / "o.db")))
    (repo / "definitions.py").write_text(DEFS)
    con = duckdb.connect()
    con.execute("SET TimeZone='UTC'")
    start = now - timedelta(days=8)
    con.execute(f"""COPY (SELECT u.range AS user_id,
        $start::TIMESTAMPTZ + to_seconds(h.range * 28800 + hash(u.range) % 28800) AS ts,
        {", ".join(f"random() * 100 + {i} AS x{i}" for i in range(6))},
        (random() * 50)::BIGINT AS n0, (random() * 5)::BIGINT AS n1,
        ['free', 'pro', 'team'][1 + (hash(u.range * 7 + h.range) % 3)::INT] AS plan,
        random() < 0.3 AS active
        FROM range({users}) u, range(8 * 3) h)
        TO '{data}/usage/part-0.parquet' (FORMAT parquet)""", {"start": start})
    day = (now - timedelta(minutes=30)).date()
    logs = log_layout.partition_dir(data, log_layout.ADHOC_LOG, day)
    logs.mkdir(parents=True)
    served = ", ".join(
        f"h.{f} AS usage__{f}, h.ts AS usage__{f}__timestamp, 1::INTEGER AS usage__{f}__status"
        for f in FEATURES)
    per_file = rows // FILES
    for part in range(FILES):
        con.execute(f"""COPY (
            WITH req AS (SELECT (hash(range + {part * per_file}) % {users})::BIGINT AS user_id,
                $now::TIMESTAMPTZ - to_microseconds((3600000000 * random())::BIGINT)
                    + INTERVAL 0 SECOND AS at
                FROM range({per_file}))
            SELECT r.user_id, {served}, r.at AS __log_timestamp, r.at::DATE AS __log_date,
                   md5(random()::VARCHAR) AS __request_id, 'bench' AS __consumer,
                   '' AS __feature_service
            FROM req r ASOF LEFT JOIN read_parquet('{data}/usage/*.parquet') h
              ON r.user_id = h.user_id AND r.at >= h.ts)
            TO '{logs}/part-{part}.parquet' (FORMAT parquet)""", {"now": now})
    con.close()
    settings = _settings(work)
    apply_repo(settings)
    return settings


def _settings(work: Path) -> Settings:
    """Redis on a closed port: freshness falls back to the logs at once (no watermarks here)."""
    return Settings(_env_file=None, FEATUREBANK_REPO=str(work / "repo"),  # type: ignore[call-arg]
                    FEATUREBANK_DATA_DIR=str(work / "data"), REDIS_URL="redis://127.0.0.1:1/0",
                    FEATUREBANK_REDIS_TIMEOUT_S=0.2)


def prepare(work: Path, rows: int, users: int) -> tuple[Settings, datetime]:
    """Generate into `work`, or reuse what an earlier run with the same sizes left there."""
    stamp = work / f"generated-{rows}-{users}.txt"
    if stamp.is_file():
        return _settings(work), datetime.fromisoformat(stamp.read_text().strip())
    now = datetime.now(UTC)
    settings = generate(work, rows, users, now)
    stamp.write_text(now.isoformat())
    return settings, now


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--work", type=Path, help="keep the generated data here and reuse it")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="monitor-bench-") as tmp:
        work = args.work or Path(tmp)
        t0 = time.perf_counter()
        settings, now = prepare(work, args.rows, args.users)
        print(f"{args.rows:,} log rows, {args.users * 24:,} history rows ready "
              f"in {time.perf_counter() - t0:.1f}s")
        totals, cpus = [], []
        for _ in range(args.repeats):
            marks: dict[str, float] = {}
            started = time.perf_counter()
            cpu0 = time.process_time()

            def progress(phase: str, fraction: float, marks: dict[str, float] = marks,
                         started: float = started) -> None:
                marks.setdefault(phase, time.perf_counter() - started)

            report = run_monitoring(settings, window=timedelta(hours=1), now=now,
                                    progress=progress)
            total = time.perf_counter() - started
            cpu = time.process_time() - cpu0  # every thread of the process, DuckDB's included
            totals.append(total)
            cpus.append(cpu)
            rows = max((c.rows for c in report.consistency), default=0)
            matched = min((c.match_rate or 0 for c in report.consistency), default=0)
            phases = ", ".join(f"{p} at {s:.2f}s" for p, s in marks.items())
            print(f"run: {total:.2f}s ({cpu:.1f} CPU-s), {rows / total:,.0f} logged rows/s "
                  f"(consistency rows {rows:,}, lowest match rate {matched:.4f}, "
                  f"{len(report.drift)} drift entries, {len(report.breaches)} breaches; "
                  f"{phases})")
        best, median = min(totals), statistics.median(totals)
        print(f"monitor run over {args.rows:,} logged rows: median {median:.2f}s "
              f"({args.rows / median:,.0f} rows/s), best {best:.2f}s, median CPU "
              f"{statistics.median(cpus):.1f} s; load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
