"""Materialization of a large hourly view: ours beside a raw redis-py pipeline and Feast.

The history is 10,000 entities x 30 days x 24 hours (7.2M rows, 20 features). Three writers
fill the same private Redis, flushed before each run:

- ours: `featurebank.materialize.materialize`, its query (DuckDB latest-per-entity) and write
  (monotonic Lua script, pipelined) phases timed separately;
- raw: the floor for the write phase: the exact key/field/value bytes we write (computed with
  our encoder, untimed), sent as plain HSETs through a redis-py pipeline, only the writes timed;
- Feast: `FeatureStore.materialize(start, end)` in a child process, capped by `--feast-timeout`.

    python -m bench.materialize_bench [--rows 7200000] [--repeats 3] [--feast-timeout 900]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pyarrow as pa
import redis

from bench.common import (
    VENV_BIN,
    VIEW,
    bench_settings,
    child_env,
    history_end,
    machine_info,
    print_table,
    ratio,
    redis_server,
    spread,
    write_bench_repo,
    write_history,
    write_results,
)
from featurebank.codec.timestamps import encode_timestamp
from featurebank.definitions import Definitions, load_definitions
from featurebank.feast_repo import apply_repo, open_store
from featurebank.materialize import materialize
from featurebank.offline.latest import EVENT_TS, latest_rows
from featurebank.offline.sources import offline_source
from featurebank.online.rows import rows_from_table

ENTITIES = 10_000
HOURS = 30 * 24
RAW_KEYS_PER_FLUSH = 1_000
SAMPLE_KEYS = 20

FEAST_CHILD = """
import json, sys, time
from datetime import datetime
from feast import FeatureStore
repo = sys.argv[1]
start, end = datetime.fromisoformat(sys.argv[2]), datetime.fromisoformat(sys.argv[3])
store = FeatureStore(repo_path=repo)
began = time.perf_counter()
store.materialize(start_date=start, end_date=end)
print("BENCH_JSON " + json.dumps({"seconds": time.perf_counter() - began}))
"""


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=ENTITIES * HOURS,
                        help="history rows (10k entities; hours = rows / 10k)")
    parser.add_argument("--repeats", type=int, default=3, help="runs of ours and of raw")
    parser.add_argument("--feast-repeats", type=int, default=1)
    parser.add_argument("--feast-timeout", type=float, default=900.0,
                        help="seconds before Feast's run is abandoned")
    parser.add_argument("--skip-feast", action="store_true")
    args = parser.parse_args(argv)
    args.hours = max(1, args.rows // ENTITIES)
    return args


def run_ours(definitions: Definitions, client: redis.Redis) -> dict[str, float]:
    client.flushdb()
    began = time.perf_counter()
    reports = materialize(definitions, client, views=[VIEW])
    total = time.perf_counter() - began
    report = reports[0]
    if report.written != ENTITIES:
        raise RuntimeError(f"ours wrote {report.written} keys, expected {ENTITIES}")
    return {"query_s": report.query_s, "write_s": report.write_s, "total_s": total,
            "rows": report.rows}


def raw_commands(definitions: Definitions) -> list[tuple[bytes, dict[bytes, bytes]]]:
    """The HSETs that carry exactly the bytes our writer stores, one mapping per entity key."""
    view = definitions.views[VIEW]
    latest = latest_rows(view, offline_source(view), start=None, end=None)
    commands: list[tuple[bytes, dict[bytes, bytes]]] = []
    try:
        for batch in latest.batches(50_000):
            rows = rows_from_table(view, pa.Table.from_batches([batch]), EVENT_TS)
            fields = [view.features[name].field for name in rows.columns]
            columns = list(rows.columns.values())
            for index, key in enumerate(rows.keys):
                mapping = {field: column[index] for field, column in zip(fields, columns,
                                                                         strict=True)}
                mapping[view.ts_field] = encode_timestamp(*rows.event_times[index])
                commands.append((key, mapping))
    finally:
        latest.close()
    return commands


def run_raw(commands: list[tuple[bytes, dict[bytes, bytes]]], client: redis.Redis) -> float:
    client.flushdb()
    began = time.perf_counter()
    pipe = client.pipeline(transaction=False)
    for index, (key, mapping) in enumerate(commands, 1):
        pipe.hset(key, mapping=mapping)  # type: ignore[arg-type]
        if index % RAW_KEYS_PER_FLUSH == 0:
            pipe.execute()
    pipe.execute()
    return time.perf_counter() - began


def run_feast(repo: Path, env: dict[str, str], timeout: float, client: redis.Redis
              ) -> dict[str, Any]:
    client.flushdb()
    start = history_end().replace(year=history_end().year - 1)
    end = history_end().replace(minute=1)
    command = [str(VENV_BIN / "python"), "-c", FEAST_CHILD, str(repo), start.isoformat(),
               end.isoformat()]
    began = time.perf_counter()
    try:
        result = subprocess.run(command, env=env, capture_output=True, text=True, check=False,
                                timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"seconds": None, "timed_out": True, "wall_s": time.perf_counter() - began}
    if result.returncode != 0:
        raise RuntimeError(f"Feast's materialize failed:\n{result.stderr[-1500:]}")
    line = next(x for x in result.stdout.splitlines() if x.startswith("BENCH_JSON "))
    seconds = float(json.loads(line.split(" ", 1)[1])["seconds"])
    return {"seconds": seconds, "timed_out": False, "wall_s": time.perf_counter() - began}


def sample(client: redis.Redis, keys: list[bytes]) -> list[dict[bytes, bytes]]:
    return [client.hgetall(key) for key in keys]  # type: ignore[arg-type, misc]


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="fb-materialize-bench-") as tmp:
        root = Path(tmp)
        with redis_server(root) as redis_url:
            repo = write_bench_repo(root, "benchmat")
            settings = bench_settings(repo, root / "data", redis_url)
            began = time.perf_counter()
            rows = write_history(settings.data_path, entities=ENTITIES, hours=args.hours)
            print(f"generated {rows:,} rows ({ENTITIES:,} entities x {args.hours} h, "
                  f"20 features) in {time.perf_counter() - began:.1f}s")
            apply_repo(settings)
            definitions = load_definitions(open_store(settings))
            client = redis.Redis.from_url(redis_url, socket_timeout=60)
            commands = raw_commands(definitions)
            keys = [key for key, _ in commands[:: max(1, len(commands) // SAMPLE_KEYS)]]
            ours: list[dict[str, float]] = []
            raw: list[float] = []
            for repeat in range(args.repeats):
                ours.append(run_ours(definitions, client))
                raw.append(run_raw(commands, client))
                print(f"  repeat {repeat + 1}/{args.repeats}: ours query "
                      f"{ours[-1]['query_s']:.2f}s write {ours[-1]['write_s']:.2f}s "
                      f"total {ours[-1]['total_s']:.2f}s | raw {raw[-1]:.2f}s")
            run_ours(definitions, client)
            ours_sample = sample(client, keys)
            feast: list[dict[str, Any]] = []
            same_bytes = None
            if not args.skip_feast:
                for _ in range(args.feast_repeats):
                    feast.append(run_feast(repo, child_env(settings), args.feast_timeout, client))
                    print(f"  feast: {feast[-1]}")
                if feast and not feast[-1]["timed_out"]:
                    same_bytes = sample(client, keys) == ours_sample
            client.close()
    summary = summarise(ours, raw, feast, same_bytes)
    report(summary, args, rows)
    payload = {"bench": "materialize",
               "command": " ".join(["python -m bench.materialize_bench", *(argv or sys.argv[1:])]),
               "settings": vars(args), "rows": rows, "entities": ENTITIES,
               "machine": machine_info(), "summary": summary,
               "runs": {"ours": ours, "raw_s": raw, "feast": feast}}
    path = write_results("materialize", payload)
    print(f"\nresults written to {path}")
    return payload


def summarise(ours: list[dict[str, float]], raw: list[float], feast: list[dict[str, Any]],
              same_bytes: bool | None) -> dict[str, Any]:
    summary: dict[str, Any] = {
        "ours_query_s": spread([o["query_s"] for o in ours]),
        "ours_write_s": spread([o["write_s"] for o in ours]),
        "ours_total_s": spread([o["total_s"] for o in ours]),
        "raw_write_s": spread(raw),
        "feast_same_bytes_as_ours": same_bytes,
    }
    finished = [f["seconds"] for f in feast if not f["timed_out"]]
    summary["feast_s"] = spread(finished) if finished else None
    summary["feast_timed_out"] = any(f["timed_out"] for f in feast)
    raw_median = summary["raw_write_s"].median
    summary["ratios"] = {
        "ours write / raw": ratio(summary["ours_write_s"].median, raw_median),
        "ours total / raw": ratio(summary["ours_total_s"].median, raw_median),
        "feast / ours total": (ratio(summary["feast_s"].median, summary["ours_total_s"].median)
                               if finished else None),
        "feast / raw": ratio(summary["feast_s"].median, raw_median) if finished else None,
    }
    return summary


def report(summary: dict[str, Any], args: argparse.Namespace, rows: int) -> None:
    print(f"\nmaterialize: {rows:,} rows → {ENTITIES:,} keys, {args.repeats} repeats, "
          "median [min-max] seconds")
    table = [["ours: query (DuckDB)", summary["ours_query_s"].show()],
             ["ours: write (Lua, pipelined)", summary["ours_write_s"].show()],
             ["ours: total", summary["ours_total_s"].show()],
             ["raw redis-py HSET pipeline", summary["raw_write_s"].show()]]
    if summary["feast_s"] is not None:
        table.append(["Feast FeatureStore.materialize", summary["feast_s"].show()])
    elif summary["feast_timed_out"]:
        table.append(["Feast FeatureStore.materialize", f"> {args.feast_timeout:.0f} (timed out)"])
    print_table(["writer", "seconds"], table)
    print()
    print_table(["ratio", "value"], [[name, "n/a" if value is None else f"{value:.2f}"]
                                     for name, value in summary["ratios"].items()])
    if summary["feast_same_bytes_as_ours"] is not None:
        print(f"Feast wrote the same bytes as ours on {SAMPLE_KEYS} sampled keys: "
              f"{summary['feast_same_bytes_as_ours']}")


if __name__ == "__main__":
    main()
