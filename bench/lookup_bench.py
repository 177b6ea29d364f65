"""HTTP lookup throughput and latency: ours beside `feast serve` and a no-op FastAPI endpoint.

One run builds a 20-feature view for 10k entities, materializes it into a private Redis, starts
the three servers (one worker each, no access log) and drives each with wrk: 16 connections,
random entity keys, 1 entity x 20 features and 100 entities x 20 features. Targets are
interleaved within each repeat so drift (thermal, neighbours) spreads over all of them; figures
are medians over repeats with [min-max].

    python -m bench.lookup_bench [--quick] [--duration 30] [--repeats 3]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import redis

from bench import wrk
from bench.common import (
    FEATURES,
    JOIN_KEY,
    VENV_BIN,
    VIEW,
    background,
    bench_settings,
    child_env,
    free_port,
    measure_interleaved,
    print_table,
    ratio,
    redis_server,
    runs_payload,
    target_rows,
    target_stats,
    write_bench_repo,
    write_history,
    write_results,
)
from featurebank.definitions import load_definitions
from featurebank.feast_repo import apply_repo, open_store
from featurebank.materialize import materialize
from featurebank.settings import Settings

PATH = "/get-online-features"
TARGETS = ("ours", "feast", "noop")
CASES = {"1x20": 1, "100x20": 100}
GOALS = {"ours/noop rps (1x20)": ">= 0.70", "ours p99 (ms)": "<= 15",
         "ours 100x20 p50 (ms)": "<= 6"}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5 s per run instead of 30 s")
    parser.add_argument("--duration", type=float, default=None, help="seconds per wrk run")
    parser.add_argument("--repeats", type=int, default=3, help="runs per target and case")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--threads", type=int, default=1, help="wrk threads (2 cores: keep 1)")
    parser.add_argument("--entities", type=int, default=10_000)
    parser.add_argument("--warmup", type=float, default=3.0, help="unmeasured seconds first")
    args = parser.parse_args(argv)
    if args.duration is None:
        args.duration = 5.0 if args.quick else 30.0
    return args


def prepare(root: Path, redis_url: str, entities: int) -> Settings:
    """Generate, apply and materialize the bench view; returns the settings for the servers."""
    repo = write_bench_repo(root, "benchlookup")
    settings = bench_settings(repo, root / "data", redis_url)
    rows = write_history(settings.data_path, entities=entities, hours=3)
    apply_repo(settings)
    client = redis.Redis.from_url(redis_url)
    began = time.perf_counter()
    reports = materialize(load_definitions(open_store(settings)), client)
    client.close()
    print(f"prepared {rows:,} rows for {entities:,} entities; materialized "
          f"{sum(r.written for r in reports):,} keys in {time.perf_counter() - began:.1f}s")
    return settings


def commands(settings: Settings, ports: dict[str, int]) -> dict[str, list[str]]:
    repo = str(settings.repo_path)
    return {
        "ours": [str(VENV_BIN / "featurebank"), "serve", "--workers", "1",
                 "--port", str(ports["ours"])],
        "feast": [str(VENV_BIN / "feast"), "-c", repo, "serve", "--no-access-log",
                  "--max-requests", "0", "--workers", "1", "--port", str(ports["feast"])],
        "noop": [str(VENV_BIN / "python"), "-m", "uvicorn", "bench.noop_app:app",
                 "--app-dir", str(Path(__file__).resolve().parent.parent),
                 "--port", str(ports["noop"]), "--workers", "1", "--loop", "uvloop",
                 "--http", "httptools", "--no-access-log", "--log-level", "warning"],
    }


def features() -> list[str]:
    return [f"{VIEW}:{name}" for name, _ in FEATURES]


def write_scripts(root: Path, entities: int) -> dict[str, Path]:
    """One wrk script per case, looking up random ids among the `entities` materialized."""
    return {case: wrk.write_script(root / f"{case}.lua", features=features(), join_key=JOIN_KEY,
                                   entities=count, max_id=entities)
            for case, count in CASES.items()}


def verify(ports: dict[str, int]) -> None:
    """Every target answers 200 with a body; ours and Feast agree value for value."""
    answers: dict[str, dict[str, Any]] = {}
    for count in CASES.values():
        body = {"features": features(), "entities": {JOIN_KEY: list(range(1, count + 1))}}
        for target, port in ports.items():
            reply = httpx.post(f"http://127.0.0.1:{port}{PATH}", json=body, timeout=30)
            if reply.status_code != 200 or not reply.content:
                raise RuntimeError(f"{target} answered {reply.status_code} "
                                   f"{reply.text[:300]!r} to a {count}-entity lookup")
            if target != "noop":
                answers[f"{target}:{count}"] = reply.json()
    for count in CASES.values():
        ours = _by_feature(answers[f"ours:{count}"])
        theirs = _by_feature(answers[f"feast:{count}"])
        missing = [f for f in ours if not any(v is not None for v in ours[f])]
        if missing:
            raise RuntimeError(f"our lookup of {count} entities returned only nulls for {missing}")
        diff = [f for f in ours if f in theirs and not _same(ours[f], theirs[f])]
        if diff:
            raise RuntimeError(f"ours and Feast disagree on {diff} for {count} entities")
    print("verified: every server answers 200; ours and Feast return the same values")


def _by_feature(reply: dict[str, Any]) -> dict[str, list[Any]]:
    names = reply["metadata"]["feature_names"]
    return {name: result["values"] for name, result in zip(names, reply["results"], strict=True)}


def _same(left: list[Any], right: list[Any]) -> bool:
    for a, b in zip(left, right, strict=True):
        if isinstance(a, float) and isinstance(b, float):
            if abs(a - b) > 1e-6 * max(1.0, abs(a)):
                return False
        elif a != b:
            return False
    return True


def summarise(runs: dict[str, dict[str, list[wrk.WrkResult]]]) -> dict[str, Any]:
    summary: dict[str, Any] = {}
    for case, targets in runs.items():
        stats: dict[str, Any] = {t: target_stats(rs) for t, rs in targets.items()}
        stats["ratios"] = {
            "ours/noop": ratio(stats["ours"]["rps"].median, stats["noop"]["rps"].median),
            "ours/feast": ratio(stats["ours"]["rps"].median, stats["feast"]["rps"].median),
            "feast/noop": ratio(stats["feast"]["rps"].median, stats["noop"]["rps"].median),
        }
        summary[case] = stats
    ours_p99 = max(summary[c]["ours"]["p99_ms"].median for c in CASES)
    summary["goals"] = {
        "ours/noop rps (1x20)": {"value": summary["1x20"]["ratios"]["ours/noop"],
                                 "met": summary["1x20"]["ratios"]["ours/noop"] >= 0.70},
        "ours p99 (ms)": {"value": ours_p99, "met": ours_p99 <= 15},
        "ours 100x20 p50 (ms)": {"value": summary["100x20"]["ours"]["p50_ms"].median,
                                 "met": summary["100x20"]["ours"]["p50_ms"].median <= 6},
    }
    return summary


def report(summary: dict[str, Any], args: argparse.Namespace) -> None:
    print(f"\nlookup: wrk -t{args.threads} -c{args.connections} -d{args.duration:g}s, "
          f"{args.repeats} repeats, median [min-max]")
    rows = target_rows(summary, list(CASES), TARGETS)
    print_table(["case", "server", "req/s", "p50 ms", "p99 ms", "errors"], rows)
    print()
    print_table(["case", "ours/noop", "ours/feast", "feast/noop"],
                [[case, *(f"{summary[case]['ratios'][k]:.2f}"
                          for k in ("ours/noop", "ours/feast", "feast/noop"))] for case in CASES])
    print()
    print_table(["goal", "target", "measured", "met"],
                [[name, GOALS[name], f"{goal['value']:.2f}", "yes" if goal["met"] else "NO"]
                 for name, goal in summary["goals"].items()])


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="fb-lookup-bench-") as tmp:
        root = Path(tmp)
        with redis_server(root) as redis_url:
            settings = prepare(root, redis_url, args.entities)
            ports = {t: free_port() for t in TARGETS}
            env = child_env(settings)
            scripts = write_scripts(root, args.entities)
            cmd = commands(settings, ports)
            with (background("ours", cmd["ours"], port=ports["ours"], env=env, cwd=root,
                             log=root / "ours.log"),
                  background("feast", cmd["feast"], port=ports["feast"], env=env, cwd=root,
                             log=root / "feast.log", timeout=120),
                  background("noop", cmd["noop"], port=ports["noop"], env=env, cwd=root,
                             log=root / "noop.log")):
                verify(ports)
                runs = measure_interleaved(
                    {t: ports[t] for t in TARGETS}, scripts, path=PATH, warmup=args.warmup,
                    duration=args.duration, repeats=args.repeats,
                    connections=args.connections, threads=args.threads)
    summary = summarise(runs)
    report(summary, args)
    payload = runs_payload("lookup", argv, vars(args), summary, runs)
    path = write_results("lookup", payload)
    print(f"\nresults written to {path}")
    return payload


if __name__ == "__main__":
    main()
