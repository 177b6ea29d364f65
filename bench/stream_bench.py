"""Streaming: processor throughput, produce → lookup freshness and HTTP push, beside Feast.

One run starts a private Redis and a private Tansu broker, applies a repo with one
StreamFeatureView over a 2-partition KafkaSource (6 features) and one FeatureView over a
PushSource with the same schema, produces N JSON events once, then measures:

1. throughput: one `featurebank stream` process per repeat (a fresh consumer group, so it reads
   the same N events from the start) until its committed offsets cover all N (commits follow
   the online and the offline write, and both are verified afterwards); beside a bare
   kafka-python `KafkaConsumer` loop reading the same N messages, and Feast
   `FeatureStore.push` of the same rows (1k rows per push, and one row per push). Rates are
   steady state: from the first commit (first records for the raw loop) to the last, so
   process start and the group join are excluded (they are reported as "wall").
2. freshness: events produced at `--rate`/s for `--fresh-seconds` while polling our
   `/get-online-features` for probe entities (every 25th event has a new entity and a unique
   value); latency = send time → first poll answer showing the value.
3. HTTP push of one row: wrk POST /push (write key header) on `featurebank serve` vs
   `feast serve`, one worker each, same repo and Redis.

    python -m bench.stream_bench [--quick] [--events 200000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import orjson
import pandas as pd
import redis
from kafka import KafkaAdminClient, KafkaConsumer
from kafka.admin import NewTopic

from bench.common import (
    VENV_BIN,
    background,
    child_env,
    free_port,
    machine_info,
    redis_server,
    wait_for_port,
    write_results,
)
from bench.stream_probes import (
    PUSH_SOURCE,
    PUSH_VIEW,
    STREAM_VIEW,
    TOPIC,
    WRITE_KEY,
    freshness,
    http_push,
    verify_push,
)
from bench.stream_report import report, summarise
from featurebank.codec.values import decode_value
from featurebank.definitions import load_definitions
from featurebank.feast_repo import apply_repo, open_store
from featurebank.settings import Settings
from featurebank.stack.broker import start_broker
from streaming.consumer import make_producer
from tests.support.repos import write_repo

PARTITIONS = 2
FEATURES = ("f64_0", "f64_1", "f32_0", "i64_0", "i32_0", "label")

DEFINITIONS = '''
import os
from datetime import timedelta
from feast import Entity, FeatureView, Field, FileSource, KafkaSource, PushSource, ValueType
from feast.data_format import JsonFormat
from feast.stream_feature_view import StreamFeatureView
from feast.types import Float32, Float64, Int32, Int64, String

DATA = os.environ["FEATUREBANK_DATA_DIR"]
entity = Entity(name="bench_entity", join_keys=["entity_id"], value_type=ValueType.INT64)
schema = [Field(name="entity_id", dtype=Int64), Field(name="f64_0", dtype=Float64),
          Field(name="f64_1", dtype=Float64), Field(name="f32_0", dtype=Float32),
          Field(name="i64_0", dtype=Int64), Field(name="i32_0", dtype=Int32),
          Field(name="label", dtype=String)]
events = KafkaSource(
    name="bench_events", topic="{topic}",
    kafka_bootstrap_servers=os.environ["KAFKA_BOOTSTRAP_SERVERS"],
    timestamp_field="event_timestamp",
    message_format=JsonFormat(schema_json=(
        "entity_id BIGINT, f64_0 DOUBLE, f64_1 DOUBLE, f32_0 FLOAT, i64_0 BIGINT, i32_0 INT, "
        "label STRING, event_timestamp TIMESTAMP")),
    batch_source=FileSource(name="bench_events_history", path=f"{{DATA}}/bench_events/*.parquet",
                            timestamp_field="event_timestamp"))
{stream_view} = StreamFeatureView(name="{stream_view}", entities=[entity], source=events,
                                 ttl=timedelta(days=3650), online=True, schema=schema)
pushed = PushSource(name="{push_source}", batch_source=FileSource(
    name="bench_pushed_history", path=f"{{DATA}}/bench_pushed/*.parquet",
    timestamp_field="event_timestamp"))
{push_view} = FeatureView(name="{push_view}", entities=[entity], source=pushed,
                          ttl=timedelta(days=3650), online=True, schema=schema)
'''


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="50k events, shorter runs")
    parser.add_argument("--events", type=int, default=None, help="events produced (N)")
    parser.add_argument("--entities", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--feast-rows", type=int, default=None, help="rows Feast pushes (1k/push)")
    parser.add_argument("--feast-single", type=int, default=500, help="rows pushed one by one")
    parser.add_argument("--rate", type=float, default=5000.0, help="freshness events/s")
    parser.add_argument("--fresh-seconds", type=float, default=None)
    parser.add_argument("--duration", type=float, default=None, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args(argv)
    quick = args.quick
    args.events = args.events or (50_000 if quick else 200_000)
    args.repeats = args.repeats or (2 if quick else 3)
    args.feast_rows = min(args.events, args.feast_rows or (20_000 if quick else 50_000))
    args.fresh_seconds = args.fresh_seconds or (10.0 if quick else 20.0)
    args.duration = args.duration or (5.0 if quick else 15.0)
    return args


def wait_for_quiet(limit: float = 1.5, patience_s: float = 180.0) -> list[float]:
    """Wait (up to `patience_s`) for the 1-minute load average to drop under `limit`."""
    deadline = time.monotonic() + patience_s
    while os.getloadavg()[0] > limit and time.monotonic() < deadline:
        print(f"  load average {os.getloadavg()[0]:.2f} > {limit}; waiting", flush=True)
        time.sleep(15)
    return [round(x, 2) for x in os.getloadavg()]


# --- data --------------------------------------------------------------------------------------


def make_rows(count: int, entities: int, seed: int = 5) -> dict[str, np.ndarray[Any, Any]]:
    """N events over `entities` ids; i64_0 is the event's index, so the latest is checkable."""
    rng = np.random.default_rng(seed)
    base_ms = int(time.time() * 1000) - 3_600_000 - count
    return {
        "entity_id": rng.integers(1, entities + 1, count),
        "f64_0": np.round(rng.normal(50, 20, count), 4), "f64_1": np.round(rng.random(count), 4),
        "f32_0": np.round(rng.uniform(0, 100, count), 2).astype(np.float32),
        "i64_0": np.arange(count, dtype=np.int64),
        "i32_0": rng.integers(0, 1000, count).astype(np.int32),
        "label": rng.choice(np.array(["a", "b", "c", "d"]), count),
        "event_timestamp": base_ms + np.arange(count, dtype=np.int64),
    }


def encode(rows: dict[str, np.ndarray[Any, Any]]) -> list[tuple[bytes, bytes]]:
    names = list(rows)
    columns = [rows[n].tolist() for n in names]
    return [(str(values[0]).encode(), orjson.dumps(dict(zip(names, values, strict=True))))
            for values in zip(*columns, strict=True)]


def feast_frame(rows: dict[str, np.ndarray[Any, Any]], count: int) -> pd.DataFrame:
    frame = pd.DataFrame({k: v[:count] for k, v in rows.items()})
    frame["event_timestamp"] = pd.to_datetime(frame["event_timestamp"], unit="ms", utc=True)
    return frame


# --- broker and processes ----------------------------------------------------------------------


@contextmanager
def broker(root: Path) -> Iterator[str]:
    port = free_port()
    process = start_broker(port, root / "tansu", root / "tansu.log")
    try:
        wait_for_port(port, process, "tansu", root / "tansu.log")
        yield f"127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


def produce(bootstrap: str, messages: list[tuple[bytes, bytes]]) -> float:
    producer = make_producer(bootstrap, linger_ms=20, client_id="bench")
    began = time.perf_counter()
    try:
        for key, value in messages:
            producer.send(TOPIC, key=key, value=value)
        producer.flush(timeout=120)
    finally:
        producer.close(timeout=5)
    return time.perf_counter() - began


def processor_env(settings: Settings, group: str) -> dict[str, str]:
    return {**child_env(settings), "FEATUREBANK_CONSUMER_GROUP": group,
            "FEATUREBANK_REGISTRY_REFRESH_S": "60"}


def start_processor(settings: Settings, group: str, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as sink:
        # History written every poll (--offline-flush-s 0), as before buffering existed: the
        # steady rate runs from the first commit to the last, and with the default buffering
        # (commits every 10 s or 100k rows per partition) the tail's wait for the time-based
        # flush would dominate a 200k-event run. Per-poll files are the costlier mode.
        return subprocess.Popen([str(VENV_BIN / "featurebank"), "stream", "--metrics-port", "0",
                                 "--offline-flush-s", "0"],
                                env=processor_env(settings, group), stdout=sink,
                                stderr=subprocess.STDOUT, start_new_session=True)


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    process.wait(timeout=30)


def committed(admin: KafkaAdminClient, group: str) -> int:
    offsets = admin.list_group_offsets({group: None}).get(group, {})
    return sum(max(0, meta.offset) for tp, meta in offsets.items() if tp.topic == TOPIC)


# --- 1. throughput -----------------------------------------------------------------------------


def run_processor(settings: Settings, root: Path, group: str, total: int) -> dict[str, float]:
    """One processor process from offset 0 to N committed; steady rate from the first commit."""
    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers)
    began = time.perf_counter()
    process = start_processor(settings, group, root / f"processor-{group}.log")
    first: tuple[float, int] | None = None
    try:
        while True:
            done = committed(admin, group)
            now = time.perf_counter()
            if done and first is None:
                first = (now, done)
            if done >= total:
                break
            if process.poll() is not None or now - began > 600:
                raise RuntimeError(f"processor {group} stopped at {done}/{total} committed")
            time.sleep(0.05)
    finally:
        stop(process)
        admin.close()
    assert first is not None
    span = now - first[0]
    return {"rate": (total - first[1]) / span if span > 0 else float("nan"),
            "wall": now - began, "wall_rate": total / (now - began)}


def verify_processed(settings: Settings, client: redis.Redis,
                     rows: dict[str, np.ndarray[Any, Any]]) -> None:
    """Online: every entity holds its latest event; offline: every event once in the history."""
    view = load_definitions(open_store(settings)).views[STREAM_VIEW]
    latest = dict(zip(rows["entity_id"].tolist(), rows["i64_0"].tolist(), strict=True))
    pipe = client.pipeline(transaction=False)
    for entity in latest:
        pipe.hget(view.codec.key([entity]), view.features["i64_0"].field)  # type: ignore[arg-type]
    wrong = [e for e, got in zip(latest, pipe.execute(), strict=True)
             if got is None or decode_value(got) != latest[e]]
    if wrong:
        raise RuntimeError(f"{len(wrong)} entities do not hold their latest event, "
                           f"e.g. {wrong[:5]}")
    glob = str(settings.data_path / "bench_events" / "*.parquet")
    count, distinct = duckdb.connect().execute(
        "SELECT count(*), count(DISTINCT i64_0) FROM read_parquet(?)", [glob]).fetchone() or (0, 0)
    if count != len(rows["i64_0"]) or distinct != count:
        raise RuntimeError(f"history holds {count} rows ({distinct} distinct), "
                           f"expected {len(rows['i64_0'])}")


def raw_consume(bootstrap: str, total: int) -> dict[str, float]:
    """A bare KafkaConsumer loop (same fetch settings as ours) reading all N messages."""
    began = time.perf_counter()
    consumer = KafkaConsumer(TOPIC, bootstrap_servers=bootstrap, group_id=None,
                             auto_offset_reset="earliest", enable_auto_commit=False,
                             max_poll_records=5000, fetch_max_wait_ms=100,
                             max_partition_fetch_bytes=4 * 1024 * 1024)
    seen, first = 0, None
    try:
        while seen < total:
            got = sum(len(batch) for batch in consumer.poll(timeout_ms=200).values())
            if got and first is None:
                first = (time.perf_counter(), got)
            seen += got
            if time.perf_counter() - began > 300:
                raise RuntimeError(f"raw consumer read only {seen}/{total}")
    finally:
        now = time.perf_counter()
        consumer.close()
    assert first is not None
    return {"rate": (total - first[1]) / (now - first[0]), "wall": now - began,
            "wall_rate": total / (now - began)}


def feast_push(settings: Settings, frame: pd.DataFrame, batch: int) -> float:
    """Rows per second through Feast's `FeatureStore.push` (online) in pushes of `batch` rows."""
    from feast.data_source import PushMode

    store = open_store(settings)
    store.push(PUSH_SOURCE, frame.iloc[:1], to=PushMode.ONLINE)  # registry and client warm
    began = time.perf_counter()
    for start in range(0, len(frame), batch):
        store.push(PUSH_SOURCE, frame.iloc[start:start + batch], to=PushMode.ONLINE)
    return len(frame) / (time.perf_counter() - began)


# --- 2. freshness ------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    warnings.filterwarnings("ignore", "Stream feature views are experimental")
    loads: dict[str, list[float]] = {"start": wait_for_quiet(patience_s=120)}
    print(f"load average at start: {loads['start']}")
    samples: dict[str, list[dict[str, float]]] = {"ours": [], "raw": []}
    feast_rates: dict[str, list[float]] = {"batched": [], "single": []}
    with tempfile.TemporaryDirectory(prefix="fb-stream-bench-") as tmp:
        root = Path(tmp)
        with redis_server(root) as redis_url, broker(root) as bootstrap:
            admin = KafkaAdminClient(bootstrap_servers=bootstrap)
            admin.create_topics([NewTopic(TOPIC, PARTITIONS, 1)])
            admin.close()
            repo = write_repo(root, "benchstream", DEFINITIONS.format(
                topic=TOPIC, stream_view=STREAM_VIEW, push_view=PUSH_VIEW,
                push_source=PUSH_SOURCE))
            settings = Settings(_env_file=None, FEATUREBANK_REPO=str(repo),  # type: ignore[call-arg]
                                FEATUREBANK_DATA_DIR=str(root / "data"), REDIS_URL=redis_url,
                                KAFKA_BOOTSTRAP_SERVERS=bootstrap)
            apply_repo(settings)
            client = redis.Redis.from_url(redis_url)
            rows = make_rows(args.events, args.entities)
            messages = encode(rows)
            produced_s = produce(bootstrap, messages)
            print(f"produced {len(messages):,} events in {produced_s:.1f}s "
                  f"({len(messages) / produced_s:,.0f}/s)")
            frame = feast_frame(rows, args.feast_rows)
            for repeat in range(args.repeats):
                client.flushdb()
                ours = run_processor(settings, root, f"bench-{repeat}", args.events)
                verify_processed(settings, client, rows)
                raw = raw_consume(bootstrap, args.events)
                client.flushdb()
                batched = feast_push(settings, frame, 1000)
                single = feast_push(settings, frame.iloc[:args.feast_single], 1)
                samples["ours"].append(ours)
                samples["raw"].append(raw)
                feast_rates["batched"].append(batched)
                feast_rates["single"].append(single)
                print(f"  repeat {repeat + 1}/{args.repeats}: ours {ours['rate']:,.0f} ev/s "
                      f"(wall {ours['wall']:.1f}s)  raw {raw['rate']:,.0f} msg/s  "
                      f"feast push 1k {batched:,.0f} rows/s  1 row {single:,.0f} rows/s")
            loads["freshness"] = wait_for_quiet(patience_s=45)
            ports = {"ours": free_port(), "feast": free_port()}
            env = {**child_env(settings), "FEATUREBANK_API_KEYS": f"bench:{WRITE_KEY}:write"}
            ours_cmd = [str(VENV_BIN / "featurebank"), "serve", "--workers", "1",
                        "--port", str(ports["ours"])]
            feast_cmd = [str(VENV_BIN / "feast"), "-c", str(repo), "serve", "--no-access-log",
                         "--max-requests", "0", "--workers", "1", "--port", str(ports["feast"])]
            with background("ours", ours_cmd, port=ports["ours"], env=env, cwd=root,
                            log=root / "ours.log"):
                processor = start_processor(settings, f"bench-{args.repeats - 1}",
                                            root / "processor-fresh.log")
                try:
                    fresh = freshness(bootstrap, ports["ours"], args.rate, args.fresh_seconds,
                                      args.entities)
                finally:
                    stop(processor)
                print(f"  freshness: p50 {fresh['p50_ms']:.0f} ms  p99 {fresh['p99_ms']:.0f} ms "
                      f"over {fresh['probes']} probes at {fresh['achieved_rate']:,.0f} ev/s")
                loads["push"] = wait_for_quiet(patience_s=45)
                with background("feast", feast_cmd, port=ports["feast"], env=env, cwd=root,
                                log=root / "feast.log", timeout=120):
                    verify_push(ports, args.entities)
                    pushes = http_push(root, ports, args)
            client.close()
    summary = summarise(samples, feast_rates, fresh, pushes)
    report(summary, args, loads, PARTITIONS)
    payload = {"bench": "stream", "command": " ".join(["python -m bench.stream_bench",
                                                        *(argv or sys.argv[1:])]),
               "settings": vars(args), "machine": machine_info(), "load_average": loads,
               "summary": summary, "runs": {"throughput": samples, "feast_push": feast_rates,
                                            "freshness": fresh,
                                            "push": {t: [asdict(r) for r in rs]
                                                     for t, rs in pushes.items()}}}
    path = write_results("stream", payload)
    print(f"\nresults written to {path}")
    return payload


if __name__ == "__main__":
    main()
