"""Probes of the streaming bench: produce→visible freshness and HTTP push load.

Split from bench/stream_bench.py so each module stays readable; the bench imports these.
"""

from __future__ import annotations

import argparse
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import orjson

from bench import wrk
from streaming.consumer import make_producer

TOPIC = "bench.events"
STREAM_VIEW, PUSH_VIEW, PUSH_SOURCE = "bench_stream", "bench_pushed", "bench_push"
WRITE_KEY = "bench-write-key-0123456789"
PROBE_BASE, PROBE_EVERY = 10_000_000, 25


class Prober:
    """Polls our lookup API for pending probe entities; records send → visible latencies."""

    def __init__(self, port: int) -> None:
        self.url = f"http://127.0.0.1:{port}/get-online-features"
        self.pending: dict[int, float] = {}
        self.latencies: list[float] = []
        self.polls = 0
        self.lock = threading.Lock()
        self.done = threading.Event()

    def add(self, entity: int, sent: float) -> None:
        with self.lock:
            self.pending[entity] = sent

    def run(self) -> None:
        with httpx.Client(timeout=5) as client:
            while not self.done.is_set():
                with self.lock:
                    ids = list(self.pending)[:1000]
                if not ids:
                    time.sleep(0.002)
                    continue
                body = {"features": [f"{STREAM_VIEW}:i64_0"], "entities": {"entity_id": ids}}
                reply = client.post(self.url, content=orjson.dumps(body),
                                    headers={"content-type": "application/json"})
                seen = time.monotonic()
                self.polls += 1
                data = reply.json()
                values = data["results"][data["metadata"]["feature_names"].index("i64_0")]
                with self.lock:
                    for entity, value in zip(ids, values["values"], strict=True):
                        if value is not None and value == entity - PROBE_BASE:
                            self.latencies.append(seen - self.pending.pop(entity))
                time.sleep(0.005)  # ~5 ms poll resolution; less would steal the producer's CPU


def freshness(bootstrap: str, port: int, rate: float, seconds: float,
              entities: int) -> dict[str, Any]:
    producer = make_producer(bootstrap, client_id="bench-fresh")
    prober = Prober(port)
    thread = threading.Thread(target=prober.run, daemon=True)
    rng = np.random.default_rng(9)
    # Warm up: one probe must become visible (the group has joined, the server answers).
    warm = PROBE_BASE + 10**8
    _send_event(producer, warm, warm - PROBE_BASE)
    prober.add(warm, time.monotonic())
    thread.start()
    deadline = time.monotonic() + 90
    while prober.pending and time.monotonic() < deadline:
        time.sleep(0.05)
    if prober.pending:
        raise RuntimeError("the warm-up probe never became visible through the lookup API")
    prober.latencies.clear()
    total = int(rate * seconds)
    began = time.monotonic()
    for index in range(total):
        target = began + index / rate
        lag = target - time.monotonic()
        if lag > 0.001:
            time.sleep(lag)
        if index % PROBE_EVERY == 0:
            entity = PROBE_BASE + index
            prober.add(entity, time.monotonic())
            _send_event(producer, entity, index)
        else:
            _send_event(producer, int(rng.integers(1, entities + 1)), index)
    achieved = total / (time.monotonic() - began)
    producer.flush(timeout=30)
    deadline = time.monotonic() + 10
    while prober.pending and time.monotonic() < deadline:
        time.sleep(0.05)
    prober.done.set()
    thread.join(timeout=10)
    producer.close(timeout=5)
    lat_ms = np.array(prober.latencies) * 1000
    return {"events": total, "achieved_rate": achieved, "probes": len(lat_ms),
            "missed": len(prober.pending), "polls": prober.polls,
            "p50_ms": float(np.percentile(lat_ms, 50)), "p90_ms": float(np.percentile(lat_ms, 90)),
            "p99_ms": float(np.percentile(lat_ms, 99)), "max_ms": float(lat_ms.max())}


def _send_event(producer: Any, entity: int, value: int) -> None:
    event = {"entity_id": entity, "f64_0": 1.5, "f64_1": 0.25, "f32_0": 2.5, "i64_0": value,
             "i32_0": 7, "label": "p", "event_timestamp": int(time.time() * 1000)}
    producer.send(TOPIC, key=str(entity).encode(), value=orjson.dumps(event))


# --- 3. HTTP push ------------------------------------------------------------------------------


def push_script(root: Path, max_id: int) -> Path:
    stamp = datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    prefix = f'{{"push_source_name":"{PUSH_SOURCE}","to":"online","df":{{"entity_id":['
    suffix = ('],"f64_0":[1.5],"f64_1":[0.25],"f32_0":[2.5],"i64_0":[42],"i32_0":[7],'
              f'"label":["w"],"event_timestamp":["{stamp}"]}}}}')
    text = wrk.LUA.format(prefix=prefix, suffix=suffix, entities=1, max_id=max_id,
                          marker=wrk.MARKER)
    plain = '{["Content-Type"] = "application/json"}'
    if plain not in text:
        raise RuntimeError("bench/wrk.py's Lua headers line changed; update push_script")
    text = text.replace(plain, f'{{["Content-Type"] = "application/json", '
                               f'["x-api-key"] = "{WRITE_KEY}"}}')
    path = root / "push.lua"
    path.write_text(text)
    return path


def verify_push(ports: dict[str, int], max_id: int) -> None:
    """Both servers accept the wrk body, and what each wrote reads back through our lookup."""
    stamp = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    for offset, (target, port) in enumerate(ports.items()):
        entity = max_id + 1 + offset
        body = {"push_source_name": PUSH_SOURCE, "to": "online", "df": {
            "entity_id": [entity], "f64_0": [1.5], "f64_1": [0.25], "f32_0": [2.5],
            "i64_0": [entity], "i32_0": [7], "label": ["w"], "event_timestamp": [stamp]}}
        reply = httpx.post(f"http://127.0.0.1:{port}/push", json=body, timeout=30,
                           headers={"x-api-key": WRITE_KEY})
        if reply.status_code != 200:
            raise RuntimeError(f"{target} /push answered {reply.status_code}: {reply.text[:300]}")
        lookup = httpx.post(f"http://127.0.0.1:{ports['ours']}/get-online-features", timeout=30,
                            json={"features": [f"{PUSH_VIEW}:i64_0"],
                                  "entities": {"entity_id": [entity]}}).json()
        index = lookup["metadata"]["feature_names"].index("i64_0")
        if lookup["results"][index]["values"] != [entity]:
            raise RuntimeError(f"{target}'s push of entity {entity} is not readable: {lookup}")
    print("verified: both servers accept the push and write readable rows")


def http_push(root: Path, ports: dict[str, int], args: argparse.Namespace
              ) -> dict[str, list[wrk.WrkResult]]:
    script = push_script(root, args.entities)
    runs: dict[str, list[wrk.WrkResult]] = {t: [] for t in ports}
    for port in ports.values():  # warm-up
        wrk.run(f"http://127.0.0.1:{port}/push", script, duration_s=3,
                connections=args.connections, threads=1)
    for repeat in range(args.repeats):
        for target, port in ports.items():
            result = wrk.run(f"http://127.0.0.1:{port}/push", script, duration_s=args.duration,
                             connections=args.connections, threads=1)
            runs[target].append(result)
            print(f"  repeat {repeat + 1}/{args.repeats} push {target:>5}: {result.rps:8,.0f} "
                  f"req/s  p50 {result.p50_ms:6.2f} ms  p99 {result.p99_ms:7.2f} ms  "
                  f"errors {result.errors + result.non_2xx}")
    return runs


# --- the run -----------------------------------------------------------------------------------


