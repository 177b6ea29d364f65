"""Training-set benchmark: ours vs Feast's DuckDB offline store vs raw DuckDB ASOF/range SQL.

    .venv/bin/python bench/training_bench.py [--work DIR] [--sizes 10000,100000] [--methods ...]

Data (generated, like the Feast baseline): an hourly view (drivers x hours rows, 10 features,
TTL 2 h, created column), a daily view (8 features, TTL 2 d) and a profile view (10 features,
no TTL): 28 features. Each (method, size) runs in a fresh child process so its peak RSS is its
own; medians over --repeats, with min-max and the CPU seconds of the timed part (all threads),
which a shared machine disturbs far less than wall time. Raw plans read the same files and
write Parquet with COPY. `--work` keeps the generated data for the next run.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DEFS = '''
import os
from datetime import timedelta
from feast import Entity, FeatureView, Field, FileSource
from feast.types import Float64, Int64
D = os.environ["FEATUREBANK_DATA_DIR"]
driver = Entity(name="driver", join_keys=["driver_id"])
def view(name, n, ttl):
    src = FileSource(name=name + "_src", path=f"{D}/{name}/*.parquet",
                     timestamp_field="event_timestamp", created_timestamp_column="created")
    return FeatureView(name=name, entities=[driver], ttl=ttl, source=src,
                       schema=[Field(name="driver_id", dtype=Int64)] +
                              [Field(name=f"{name}_f{i}", dtype=Float64) for i in range(n)])
hourly = view("hourly", 10, timedelta(hours=2))
daily = view("daily", 8, timedelta(days=2))
profile = view("profile", 10, None)
'''
YAML = """project: bench
provider: local
registry: {path: REG, cache_ttl_seconds: 0}
online_store: {type: sqlite, path: ONLINE}
offline_store: {type: duckdb}
entity_key_serialization_version: 3
"""
VIEWS = {"hourly": (10, 3600, 2 * 3600), "daily": (8, 86400, 2 * 86400), "profile": (10, 0, None)}
T0 = "2024-01-01 00:00:00+00"


def generate(work: Path, drivers: int, hours: int) -> None:
    con = duckdb.connect()
    con.execute("SET TimeZone='UTC'")
    for name, (n, step, _) in VIEWS.items():
        (work / "data" / name).mkdir(parents=True, exist_ok=True)
        steps = max(1, hours * 3600 // step) if step else 1
        feats = ", ".join(f"random() AS {name}_f{i}" for i in range(n))
        con.execute(f"""COPY (SELECT d.range AS driver_id,
            TIMESTAMPTZ '{T0}' + to_seconds(h.range * {step or 0}) AS event_timestamp,
            TIMESTAMPTZ '{T0}' + to_seconds(h.range * {step or 0} + 300) AS created, {feats}
            FROM range({drivers}) d, range({steps}) h)
            TO '{work}/data/{name}/part-0.parquet' (FORMAT parquet)""")
    repo = work / "repo"
    repo.mkdir(exist_ok=True)
    (repo / "feature_store.yaml").write_text(
        YAML.replace("REG", str(work / "registry.db")).replace("ONLINE", str(work / "o.db")))
    (repo / "definitions.py").write_text(DEFS)


def entities(drivers: int, hours: int, size: int) -> pd.DataFrame:
    rng = np.random.default_rng(size)
    seconds = rng.integers(0, hours * 3600, size)
    return pd.DataFrame({
        "driver_id": rng.integers(0, drivers, size),
        "event_timestamp": pd.Timestamp(T0) + pd.to_timedelta(seconds, unit="s"),
    })


FEATURES = [f"{v}:{v}_f{i}" for v, (n, _, _) in VIEWS.items() for i in range(n)]


def raw_sql(work: Path, plan: str) -> str:
    ctes, joins, cols = [], [], []
    for name, (n, _, ttl) in VIEWS.items():
        feats = ", ".join(f"{name}_f{i}" for i in range(n))
        src = f"read_parquet('{work}/data/{name}/*.parquet')"
        ttl_ok = (f"{name}.event_timestamp >= e.event_timestamp - INTERVAL {ttl} SECOND"
                  if ttl else "TRUE")
        if plan == "asof":
            ctes.append(f"{name} AS (SELECT driver_id, event_timestamp, {feats} FROM {src})")
            joins.append(f"ASOF LEFT JOIN {name} ON e.driver_id = {name}.driver_id "
                         f"AND e.event_timestamp >= {name}.event_timestamp")
            cols += [f"CASE WHEN {ttl_ok} THEN {name}.{name}_f{i} END" for i in range(n)]
        else:
            picked = ", ".join(f"v.{name}_f{i}" for i in range(n))
            ctes.append(f"{name} AS (SELECT e.rid, {picked} "
                        f"FROM e JOIN {src} v ON e.driver_id = v.driver_id AND "
                        f"v.event_timestamp <= e.event_timestamp AND "
                        f"{ttl_ok.replace(name + '.', 'v.')} QUALIFY row_number() OVER "
                        "(PARTITION BY e.rid ORDER BY v.event_timestamp DESC, "
                        "v.created DESC) = 1)")
            joins.append(f"LEFT JOIN {name} ON e.rid = {name}.rid")
            cols += [f"{name}.{name}_f{i}" for i in range(n)]
    return (f"WITH {', '.join(ctes)} SELECT e.driver_id, e.event_timestamp, {', '.join(cols)} "
            f"FROM e {' '.join(joins)} ORDER BY e.rid")


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def run_one(work: Path, method: str, drivers: int, hours: int, size: int) -> dict[str, float]:
    warnings.simplefilter("ignore")
    frame = entities(drivers, hours, size)
    out = work / f"out-{method}-{size}.parquet"
    if method.startswith("ours"):
        from featurebank.definitions import load_definitions
        from featurebank.feast_repo import open_store
        from featurebank.settings import Settings
        from featurebank.training.engine import retrieve
        from featurebank.training.features import select_features
        from featurebank.training.spine import as_table, prepare_spine
        settings = Settings(_env_file=None, FEATUREBANK_REPO=str(work / "repo"),  # type: ignore[call-arg]
                            FEATUREBANK_DATA_DIR=str(work / "data"))
        definitions = load_definitions(open_store(settings))
        cpu, start = cpu_seconds(), time.perf_counter()
        selection = select_features(definitions, features=FEATURES)
        spine = prepare_spine(as_table(frame), selection, max_rows=100_000_000)
        result = retrieve(selection, spine, out, plan=method.split("-")[1], temp_dir=work / "tmp")
        seconds = time.perf_counter() - start
        plan = result.plan
    elif method == "feast":
        from featurebank.feast_repo import open_store
        from featurebank.settings import Settings
        settings = Settings(_env_file=None, FEATUREBANK_REPO=str(work / "repo"),  # type: ignore[call-arg]
                            FEATUREBANK_DATA_DIR=str(work / "data"))
        store = open_store(settings)
        cpu, start = cpu_seconds(), time.perf_counter()
        store.get_historical_features(entity_df=frame, features=FEATURES).to_arrow()
        seconds, plan = time.perf_counter() - start, "feast"
    else:
        con = duckdb.connect()
        con.execute("SET TimeZone='UTC'")
        cpu, start = cpu_seconds(), time.perf_counter()
        frame["rid"] = np.arange(size)
        con.register("e", frame)
        con.execute(f"COPY ({raw_sql(work, method.split('-')[1])}) TO '{out}' (FORMAT parquet)")
        seconds, plan = time.perf_counter() - start, method
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"seconds": seconds, "cpu_s": cpu_seconds() - cpu, "peak_mib": peak,
            "plan": plan}  # type: ignore[dict-item]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--drivers", type=int, default=9500)
    parser.add_argument("--hours", type=int, default=720)
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--methods",
                        default="ours-auto,ours-asof,ours-range,raw-asof,raw-range,feast")
    parser.add_argument("--feast-max", type=int, default=100_000)
    parser.add_argument("--range-max", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--one", nargs=3, metavar=("WORK", "METHOD", "SIZE"))
    parser.add_argument("--work", help="keep generated data here and reuse it across runs")
    args = parser.parse_args()
    if args.one:
        work, method, size = Path(args.one[0]), args.one[1], int(args.one[2])
        print(json.dumps(run_one(work, method, args.drivers, args.hours, size)))
        return
    with tempfile.TemporaryDirectory() as temp:
        work = Path(args.work or temp)
        t = time.perf_counter()
        if not (work / "repo" / "definitions.py").exists():
            generate(work, args.drivers, args.hours)
        import os
        os.environ["FEATUREBANK_DATA_DIR"] = str(work / "data")
        from featurebank.feast_repo import apply_repo
        from featurebank.settings import Settings
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            apply_repo(Settings(_env_file=None, FEATUREBANK_REPO=str(work / "repo"),  # type: ignore[call-arg]
                                FEATUREBANK_DATA_DIR=str(work / "data")))
        rows = duckdb.connect().execute(
            f"SELECT count(*) FROM '{work}/data/hourly/*.parquet'").fetchall()[0][0]
        print(f"data: hourly view {rows:,} rows, {len(FEATURES)} features "
              f"({time.perf_counter() - t:.1f}s to generate)")
        print(f"{'size':>10} {'method':<10} {'plan':<18} {'median s':>8} {'min-max s':>11} "
              f"{'cpu s':>6} {'peak MiB':>8} {'x raw':>6} {'x raw cpu':>9}", flush=True)
        for size in [int(s) for s in args.sizes.split(",")]:
            results: dict[str, dict[str, Any]] = {}
            for method in args.methods.split(","):
                if method == "feast" and size > args.feast_max:
                    continue
                if method.endswith("range") and size > args.range_max:
                    continue
                runs = [run_child(work, method, args.drivers, args.hours, size)
                        for _ in range(args.repeats if method != "feast" else 1)]
                times = [r["seconds"] for r in runs]
                results[method] = {
                    "s": statistics.median(times), "lo": min(times), "hi": max(times),
                    "cpu": statistics.median(r["cpu_s"] for r in runs),
                    "peak": max(r["peak_mib"] for r in runs), "plan": runs[0]["plan"]}
            raw = [v for k, v in results.items() if k.startswith("raw")]
            best = min((v["s"] for v in raw), default=float("nan"))
            best_cpu = min((v["cpu"] for v in raw), default=float("nan"))
            for method, r in results.items():
                print(f"{size:>10,} {method:<10} {r['plan']:<18} {r['s']:>8.3f} "
                      f"{r['lo']:>5.2f}-{r['hi']:<5.2f} {r['cpu']:>6.2f} {r['peak']:>8.0f} "
                      f"{r['s'] / best:>6.2f} {r['cpu'] / best_cpu:>9.2f}", flush=True)


def run_child(work: Path, method: str, drivers: int, hours: int, size: int) -> dict[str, Any]:
    """One (method, size) in a fresh process, so its peak RSS is its own."""
    child = subprocess.run(
        [sys.executable, __file__, "--drivers", str(drivers), "--hours", str(hours),
         "--one", str(work), method, str(size)], capture_output=True, text=True, check=True)
    result: dict[str, Any] = json.loads(child.stdout.strip().splitlines()[-1])
    return result

if __name__ == "__main__":
    main()
