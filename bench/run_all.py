"""`make bench`: every benchmark, one after the other, each with its own table and JSON file.

    python -m bench.run_all [--quick]

`--quick` shortens each wrk run to 5 s and materializes a 1.2M-row history instead of 7.2M, for
a smoke run in a few minutes; the figures in docs/benchmarks.md come from the full run.
"""

from __future__ import annotations

import argparse
import time

from bench import logging_bench, lookup_bench, materialize_bench, stream_bench


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short runs, smaller history")
    args = parser.parse_args(argv)
    began = time.perf_counter()
    print("== lookup: ours vs feast serve vs no-op FastAPI ==")
    lookup_bench.main(["--quick"] if args.quick else [])
    print("\n== served-value logging: lookups with logging off, at 10% and at 100% ==")
    logging_bench.main(["--quick"] if args.quick else [])
    print("\n== materialize: ours vs raw redis-py pipeline vs Feast ==")
    materialize_bench.main(["--rows", "1200000", "--repeats", "2"] if args.quick else [])
    print("\n== streaming: processor vs raw consume vs Feast push; freshness; HTTP push ==")
    stream_bench.main(["--quick"] if args.quick else [])
    print(f"\nall benchmarks finished in {time.perf_counter() - began:.0f}s")


if __name__ == "__main__":
    main()
