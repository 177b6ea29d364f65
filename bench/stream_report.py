"""Summaries and tables of the streaming benchmark's samples (see `bench.stream_bench`)."""

from __future__ import annotations

import argparse
from typing import Any

from bench import wrk
from bench.common import Spread, print_table, ratio, spread

GOALS = {"ours/raw consume": ">= 0.60", "freshness p99 (ms)": "<= 250",
         "push 1 row (req/s)": ">= 2000"}


def summarise(samples: dict[str, list[dict[str, float]]], feast_rates: dict[str, list[float]],
              fresh: dict[str, Any], pushes: dict[str, list[wrk.WrkResult]]) -> dict[str, Any]:
    throughput: dict[str, dict[str, Spread]] = {name: {"rate": spread([s["rate"] for s in runs]),
                         "wall_s": spread([s["wall"] for s in runs]),
                         "wall_rate": spread([s["wall_rate"] for s in runs])}
                  for name, runs in samples.items()}
    throughput["feast_push_1k"] = {"rate": spread(feast_rates["batched"])}
    throughput["feast_push_1"] = {"rate": spread(feast_rates["single"])}
    push: dict[str, dict[str, Any]] = {t: {
        "rps": spread([r.rps for r in rs]), "p50_ms": spread([r.p50_ms for r in rs]),
        "p99_ms": spread([r.p99_ms for r in rs]),
        "errors": sum(r.errors + r.non_2xx for r in rs)} for t, rs in pushes.items()}
    ours = throughput["ours"]["rate"].median
    feast_1k, feast_1 = (throughput[k]["rate"].median for k in ("feast_push_1k", "feast_push_1"))
    goals = {
        "ours/raw consume": (ratio(ours, throughput["raw"]["rate"].median), 0.60, True),
        "freshness p99 (ms)": (fresh["p99_ms"], 250.0, False),
        "push 1 row (req/s)": (push["ours"]["rps"].median, 2000.0, True),
    }
    return {"throughput": throughput, "freshness": fresh, "push": push,
            "ratios": {"ours/raw": goals["ours/raw consume"][0],
                       "ours/feast_push_1k": ratio(ours, feast_1k),
                       "ours/feast_push_1": ratio(ours, feast_1),
                       "push ours/feast": ratio(push["ours"]["rps"].median,
                                                push["feast"]["rps"].median)},
            "goals": {name: {"value": value, "met": value >= bound if higher else value <= bound}
                      for name, (value, bound, higher) in goals.items()}}


def report(summary: dict[str, Any], args: argparse.Namespace,
           loads: dict[str, list[float]], partitions: int) -> None:
    t = summary["throughput"]
    print(f"\nstream: {args.events:,} events, {args.entities:,} entities, {partitions} partitions, "
          f"{args.repeats} repeats, median [min-max]; load averages {loads}")
    print_table(["path", "events/s (steady)", "wall s", "events/s (wall)"], [
        ["ours: 1 processor, online+offline+commit", t["ours"]["rate"].show(0),
         t["ours"]["wall_s"].show(1), t["ours"]["wall_rate"].show(0)],
        ["raw kafka-python consume", t["raw"]["rate"].show(0), t["raw"]["wall_s"].show(1),
         t["raw"]["wall_rate"].show(0)],
        [f"Feast push, 1k rows/push ({args.feast_rows:,} rows, online)",
         t["feast_push_1k"]["rate"].show(0), "", ""],
        [f"Feast push, 1 row/push ({args.feast_single} rows, online)",
         t["feast_push_1"]["rate"].show(0), "", ""],
    ])
    f = summary["freshness"]
    print(f"\nfreshness at {f['achieved_rate']:,.0f} ev/s for {args.fresh_seconds:g}s: "
          f"{f['probes']} probes, {f['missed']} missed, {f['polls']} polls; "
          f"p50 {f['p50_ms']:.1f} ms, p90 {f['p90_ms']:.1f} ms, p99 {f['p99_ms']:.1f} ms, "
          f"max {f['max_ms']:.1f} ms")
    print(f"\nHTTP push of 1 row: wrk -t1 -c{args.connections} -d{args.duration:g}s")
    print_table(["server", "req/s", "p50 ms", "p99 ms", "errors"],
                [[name, s["rps"].show(0), s["p50_ms"].show(), s["p99_ms"].show(),
                  str(s["errors"])] for name, s in summary["push"].items()])
    print()
    print_table(["ratio", "value"], [[k, f"{v:.2f}"] for k, v in summary["ratios"].items()])
    print()
    print_table(["goal", "target", "measured", "met"],
                [[name, GOALS[name], f"{g['value']:.2f}", "yes" if g["met"] else "NO"]
                 for name, g in summary["goals"].items()])
