"""Catalog scale benchmark: 1,000 feature views x 20 features, ours beside Feast's REST search.

    .venv/bin/python bench/catalog_bench.py [--views 1000] [--features 20] [--repeats 5]

A registry is generated and applied with Feast into a file registry. We report the catalog
index rebuild time and search latency (p50/p99 over a fixed query mix: exact words, prefixes,
typos, multi-word, filters), in-process and over HTTP (a bare FastAPI route via TestClient),
beside Feast 0.67's registry server `GET /api/v1/search` on the same registry and the same
queries over the same TestClient transport. Medians over `--repeats` rounds.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
import warnings
from datetime import timedelta
from pathlib import Path
from typing import Any

warnings.simplefilter("ignore")

from fastapi import FastAPI  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402
from feast import Entity, FeatureStore, FeatureView, Field, FileSource, ValueType  # noqa: E402
from feast.repo_config import RepoConfig  # noqa: E402
from feast.types import Float32, Int64  # noqa: E402

from featurebank.catalog.search import Query  # noqa: E402
from featurebank.catalog.service import Catalog  # noqa: E402
from featurebank.definitions import load_definitions  # noqa: E402

DOMAINS = ["customer", "merchant", "product", "driver", "rider", "zone", "store", "device",
           "account", "session"]
NOUNS = ["orders", "refunds", "clicks", "sessions", "payments", "disputes", "trips", "ratings",
         "views", "carts", "returns", "logins", "searches", "messages", "visits", "errors"]
STATS = ["count", "sum", "avg", "max", "min", "rate", "ratio", "share", "std", "p95"]
WINDOWS = ["1h", "24h", "7d", "30d", "90d"]
QUERIES = ["orders", "refund rate", "customer payments 7d", "avg ratings", "merch", "dispu",
           "sesions", "paymnets count", "driver trips", "zone", "store visits 30d",
           "carts abandoned", "login errors", "device", "p95 latency", "ratio", "account",
           "product views", "rider", "searches 1h"]


def generate(views: int, features: int, seed: int = 1) -> list[Any]:
    rng = random.Random(seed)
    entities = {d: Entity(name=d, join_keys=[f"{d}_id"], value_type=ValueType.INT64,
                          description=f"A {d}.") for d in DOMAINS}
    objects: list[Any] = list(entities.values())
    for i in range(views):
        domain = DOMAINS[i % len(DOMAINS)]
        noun = rng.choice(NOUNS)
        name = f"{domain}_{noun}_{rng.choice(['daily', 'hourly', 'weekly'])}_{i:04d}"
        source = FileSource(name=f"{name}_src", path=f"/nonexistent/{name}.parquet",
                            timestamp_field="event_timestamp")
        schema = [Field(name=f"{domain}_id", dtype=Int64)]
        for j in range(features):
            stat, win, what = rng.choice(STATS), rng.choice(WINDOWS), rng.choice(NOUNS)
            schema.append(Field(name=f"{what}_{stat}_{win}_{j:02d}", dtype=Float32,
                                description=f"The {stat} of {what} per {domain} over {win}."))
        objects.append(source)
        objects.append(FeatureView(
            name=name, entities=[entities[domain]], ttl=timedelta(days=1), schema=schema,
            source=source, online=True, description=f"{noun.title()} of each {domain}.",
            owner=f"team-{i % 17}@example.com", tags={"domain": domain, "tier": str(i % 3)}))
    return objects


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def timed(call: Any, rounds: int) -> list[float]:
    out = []
    for _ in range(rounds):
        for q in QUERIES:
            started = time.perf_counter()
            call(q)
            out.append((time.perf_counter() - started) * 1000)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--views", type=int, default=1000)
    parser.add_argument("--features", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--feast-rounds", type=int, default=1)
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="catalog-bench-"))
    config = RepoConfig(project="bench", provider="local", registry=str(root / "registry.db"),
                        online_store={"type": "sqlite", "path": str(root / "online.db")},
                        entity_key_serialization_version=3, repo_path=str(root))
    store = FeatureStore(config=config)
    started = time.perf_counter()
    store.apply(generate(args.views, args.features))
    print(f"applied {args.views} views x {args.features} features in "
          f"{time.perf_counter() - started:.1f}s")

    started = time.perf_counter()
    definitions = load_definitions(store)
    print(f"load_definitions: {time.perf_counter() - started:.2f}s")
    catalog = Catalog()
    rebuilds = []
    for _ in range(args.repeats):
        started = time.perf_counter()
        catalog.rebuild(definitions)
        rebuilds.append(time.perf_counter() - started)
    docs = len(catalog.snapshot.index)
    print(f"index rebuild: median {statistics.median(rebuilds):.2f}s over {docs} documents")

    def ours(q: str) -> None:
        catalog.search(Query(q, limit=20))

    ours(QUERIES[0])
    rounds_ours = [timed(ours, 5) for _ in range(args.repeats)]
    app = FastAPI()

    @app.get("/catalog/search")
    def search(q: str, limit: int = 20) -> dict[str, Any]:
        return catalog.search(Query(q, limit=limit))

    client = TestClient(app)
    rounds_http = [timed(lambda q: client.get("/catalog/search", params={"q": q}), 2)
                   for _ in range(args.repeats)]
    filtered = timed(lambda q: catalog.search(Query(q, kind="feature", owner="team-3")), 5)

    feast_ms: list[float] = []
    try:
        from feast.api.registry.rest.rest_registry_server import RestRegistryServer

        feast_client = TestClient(RestRegistryServer(store).app)
        reply = feast_client.get("/api/v1/search", params={"query": "orders"})
        reply.raise_for_status()
        feast_ms = timed(lambda q: feast_client.get("/api/v1/search", params={"query": q}),
                         args.feast_rounds)
    except Exception as exc:
        print(f"Feast registry REST search did not run here: {type(exc).__name__}: {exc}")

    def row(label: str, samples: list[float]) -> str:
        return (f"| {label} | {percentile(samples, 0.5):.2f} | {percentile(samples, 0.99):.2f} "
                f"| {len(samples)} |")

    med = statistics.median
    ours_p50 = med(percentile(r, 0.5) for r in rounds_ours)
    ours_p99 = med(percentile(r, 0.99) for r in rounds_ours)
    http_p50 = med(percentile(r, 0.5) for r in rounds_http)
    http_p99 = med(percentile(r, 0.99) for r in rounds_http)
    print("\n| search | p50 ms | p99 ms | samples |\n|---|---|---|---|")
    print(f"| Feature Bank, in-process (median of {args.repeats} rounds) | {ours_p50:.2f} | "
          f"{ours_p99:.2f} | {sum(len(r) for r in rounds_ours)} |")
    print(f"| Feature Bank, HTTP via TestClient | {http_p50:.2f} | {http_p99:.2f} | "
          f"{sum(len(r) for r in rounds_http)} |")
    print(row("Feature Bank, kind+owner filter, in-process", filtered))
    if feast_ms:
        print(row("Feast 0.67 REST /api/v1/search via TestClient", feast_ms))
        print(f"\nratio Feast/ours (HTTP p50): {percentile(feast_ms, 0.5) / http_p50:.0f}x")
    verdict = "PASS" if ours_p99 <= 20 else "FAIL"
    print(f"\nsearch p99 target <= 20 ms (search itself, in-process): {verdict}; "
          f"HTTP p99 {http_p99:.1f} ms includes TestClient's per-request thread hop")


if __name__ == "__main__":
    main()
