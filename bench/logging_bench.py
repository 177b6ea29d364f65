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
import tempfile
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx

from bench import wrk
from bench.common import (
    background,
    child_env,
    free_port,
    measure_interleaved,
    print_table,
    ratio,
    redis_server,
    runs_payload,
    spread,
    target_rows,
    target_stats,
    write_results,
)
from bench.lookup_bench import CASES, PATH, commands, prepare, write_scripts

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


def summarise(runs: dict[str, dict[str, list[wrk.WrkResult]]]) -> dict[str, Any]:
    summary: dict[str, Any] = {}
    for case, targets in runs.items():
        stats: dict[str, Any] = {t: target_stats(rs) for t, rs in targets.items()}
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
    rows = target_rows(summary, list(CASES), TARGETS)
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
            scripts = write_scripts(root, args.entities)
            for name, rate in RATES.items():
                env = {**child_env(settings), "FEATUREBANK_LOG_SAMPLE_RATE": str(rate)}
                command = [*base["ours"][:-1], str(ports[name])]
                servers.enter_context(background(name, command, port=ports[name], env=env,
                                                 cwd=root, log=root / f"ours-{rate}.log"))
            servers.enter_context(background("feast", base["feast"], port=ports["feast"],
                                             env=child_env(settings), cwd=root,
                                             log=root / "feast.log", timeout=120))
            runs = measure_interleaved(
                {t: ports[t] for t in TARGETS}, scripts, path=PATH, warmup=args.warmup,
                duration=args.duration, repeats=args.repeats, connections=args.connections,
                threads=1)
            logged = {name: served_log_counts(ports[name]) for name in RATES}
    summary = summarise(runs)
    report(summary, logged, args)
    payload = runs_payload("logging", argv, vars(args), summary, runs, logged=logged)
    path = write_results("logging", payload)
    print(f"\nresults written to {path}")
    return payload


if __name__ == "__main__":
    main()
