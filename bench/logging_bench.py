"""What served-value logging costs a lookup: req/s with logging off, at 10% and at 100%.

The same bench view and data as `bench.lookup_bench`; four servers side by side, one worker
each: ours with FEATUREBANK_LOG_SAMPLE_RATE 0 (off), 0.1 and 1.0, and stock `feast serve` for
scale. Runs are interleaved (off, 10%, 100%, feast, off, 10%, ...) because the machine is
shared: drift then spreads over every target. Besides medians over repeats, each repeat's
10%/off and 100%/off ratios are taken from adjacent runs, and their median is the figure to read.
After the runs, each server's /metrics tells how many rows it logged and dropped.

    python -m bench.logging_bench [--quick] [--duration 15] [--repeats 5]
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
from contextlib import ExitStack
from dataclasses import asdict
from pathlib import Path
from typing import Any

import httpx

from bench import wrk
from bench.common import (
    JOIN_KEY,
    background,
    child_env,
    free_port,
    machine_info,
    print_table,
    ratio,
    redis_server,
    spread,
    write_results,
)
from bench.lookup_bench import CASES, PATH, commands, features, prepare

RATES = {"off": 0.0, "10%": 0.1, "100%": 1.0}
TARGETS = (*RATES, "feast")
GOAL = 0.95  # req/s at 10% sampling over req/s with logging off


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="4 s per run, 2 repeats")
    parser.add_argument("--duration", type=float, default=None, help="seconds per wrk run")
    parser.add_argument("--repeats", type=int, default=None, help="runs per target and case")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--entities", type=int, default=10_000)
    parser.add_argument("--warmup", type=float, default=3.0, help="unmeasured seconds first")
    args = parser.parse_args(argv)
    if args.duration is None:
        args.duration = 4.0 if args.quick else 15.0
    if args.repeats is None:
        args.repeats = 2 if args.quick else 5
    return args


def served_log_counts(port: int) -> dict[str, float]:
    """Rows written and dropped by one of our servers, from its /metrics."""
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=30).text
    counts: dict[str, float] = {"written": 0.0, "dropped": 0.0}
    for line in text.splitlines():
        match = re.match(r"featurebank_served_log_(rows|dropped)_total\{.*\} (\S+)$", line)
        if match:
            counts["written" if match.group(1) == "rows" else "dropped"] += float(match.group(2))
    return counts


def measure(args: argparse.Namespace, ports: dict[str, int], scripts: dict[str, Path]
            ) -> dict[str, dict[str, list[wrk.WrkResult]]]:
    runs: dict[str, dict[str, list[wrk.WrkResult]]] = {
        case: {t: [] for t in TARGETS} for case in CASES}
    for script in scripts.values():
        for target in TARGETS:
            wrk.run(f"http://127.0.0.1:{ports[target]}{PATH}", script, duration_s=args.warmup,
                    connections=args.connections, threads=1)
    for repeat in range(args.repeats):
        for case, script in scripts.items():
            for target in TARGETS:
                result = wrk.run(f"http://127.0.0.1:{ports[target]}{PATH}", script,
                                 duration_s=args.duration, connections=args.connections,
                                 threads=1)
                if result.errors or result.non_2xx:
                    print(f"  warning: {target} {case}: {result.errors} socket errors, "
                          f"{result.non_2xx} non-2xx answers", file=sys.stderr)
                runs[case][target].append(result)
                print(f"  repeat {repeat + 1}/{args.repeats} {case:>6} {target:>5}: "
                      f"{result.rps:9,.0f} req/s  p50 {result.p50_ms:6.2f} ms  "
                      f"p99 {result.p99_ms:7.2f} ms")
    return runs


def summarise(runs: dict[str, dict[str, list[wrk.WrkResult]]]) -> dict[str, Any]:
    summary: dict[str, Any] = {}
    for case, targets in runs.items():
        stats: dict[str, Any] = {
            t: {"rps": spread([r.rps for r in rs]), "p50_ms": spread([r.p50_ms for r in rs]),
                "p99_ms": spread([r.p99_ms for r in rs]),
                "errors": sum(r.errors + r.non_2xx for r in rs)}
            for t, rs in targets.items()}
        off = [r.rps for r in targets["off"]]
        stats["paired"] = {
            name: spread([ratio(r.rps, base) for r, base in zip(targets[name], off, strict=True)])
            for name in ("10%", "100%", "feast")}
        summary[case] = stats
    summary["goal"] = {case: {"value": summary[case]["paired"]["10%"].median,
                              "met": summary[case]["paired"]["10%"].median >= GOAL}
                       for case in CASES}
    return summary


def report(summary: dict[str, Any], logged: dict[str, dict[str, float]],
           args: argparse.Namespace) -> None:
    print(f"\nserved-value logging: wrk -t1 -c{args.connections} -d{args.duration:g}s, "
          f"{args.repeats} repeats interleaved, median [min-max]")
    rows = []
    for case in CASES:
        for target in TARGETS:
            s = summary[case][target]
            rows.append([case, target, s["rps"].show(0), s["p50_ms"].show(), s["p99_ms"].show(),
                         str(s["errors"])])
    print_table(["case", "logging", "req/s", "p50 ms", "p99 ms", "errors"], rows)
    print()
    print_table(["case", "10%/off", "100%/off", "feast/off"],
                [[case, *(summary[case]["paired"][k].show(3) for k in ("10%", "100%", "feast"))]
                 for case in CASES])
    print()
    print_table(["server", "rows logged", "rows dropped"],
                [[name, f"{c['written']:,.0f}", f"{c['dropped']:,.0f}"]
                 for name, c in logged.items()])
    print()
    print_table(["goal", "target", "measured", "met"],
                [[f"10%/off req/s ({case})", f">= {GOAL}", f"{goal['value']:.3f}",
                  "yes" if goal["met"] else "NO"] for case, goal in summary["goal"].items()])


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="fb-logging-bench-") as tmp:
        root = Path(tmp)
        with redis_server(root) as redis_url, ExitStack() as servers:
            settings = prepare(root, redis_url, args.entities)
            ports = {t: free_port() for t in TARGETS}
            base = commands(settings, {"ours": 0, "feast": ports["feast"], "noop": 0})
            scripts = {case: wrk.write_script(root / f"{case}.lua", features=features(),
                                              join_key=JOIN_KEY, entities=count,
                                              max_id=args.entities)
                       for case, count in CASES.items()}
            for name, rate in RATES.items():
                env = {**child_env(settings), "FEATUREBANK_LOG_SAMPLE_RATE": str(rate)}
                command = [*base["ours"][:-1], str(ports[name])]
                servers.enter_context(background(name, command, port=ports[name], env=env,
                                                 cwd=root, log=root / f"ours-{rate}.log"))
            servers.enter_context(background("feast", base["feast"], port=ports["feast"],
                                             env=child_env(settings), cwd=root,
                                             log=root / "feast.log", timeout=120))
            runs = measure(args, ports, scripts)
            logged = {name: served_log_counts(ports[name]) for name in RATES}
    summary = summarise(runs)
    report(summary, logged, args)
    payload = {"bench": "logging", "command": " ".join(["python -m bench.logging_bench",
                                                         *(argv or sys.argv[1:])]),
               "settings": vars(args), "machine": machine_info(), "summary": summary,
               "logged": logged,
               "runs": {c: {t: [asdict(r) for r in rs] for t, rs in ts.items()}
                        for c, ts in runs.items()}}
    path = write_results("logging", payload)
    print(f"\nresults written to {path}")
    return payload


if __name__ == "__main__":
    main()
