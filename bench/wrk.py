"""Driving `wrk` with a Lua script that POSTs random entity keys, and reading its figures.

The Lua script pre-builds a pool of requests per wrk thread (random ids from 1..max_id) so the
load generator spends its CPU on sockets, not on string building: on a 2-core machine wrk and
the server under test share the CPUs. `done()` prints one JSON line, which is parsed instead of
wrk's human-readable text.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

MARKER = "BENCH_JSON "

LUA = r"""
local prefix = [==[{prefix}]==]
local suffix = [==[{suffix}]==]
local per_request = {entities}
local max_id = {max_id}
local pool_size = 1024
local pool = {{}}
local headers = {{["Content-Type"] = "application/json"}}
local threads = 0

function setup(thread)
  threads = threads + 1
  thread:set("thread_index", threads)
end

function init(args)
  math.randomseed(os.time() * 1000 + (thread_index or 0))
  for i = 1, pool_size do
    local ids = {{}}
    for j = 1, per_request do ids[j] = math.random(1, max_id) end
    pool[i] = wrk.format("POST", nil, headers, prefix .. table.concat(ids, ",") .. suffix)
  end
end

function request()
  return pool[math.random(1, pool_size)]
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{marker}{{"requests":%d,"duration_us":%d,"bytes":%d,"connect":%d,"read":%d,"write":%d,' ..
    '"status":%d,"timeout":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,"mean_us":%.1f}}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status,
    e.timeout, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max, latency.mean))
end
"""


@dataclass(frozen=True)
class WrkResult:
    """One wrk run: throughput, latency percentiles and every kind of error wrk counts."""

    requests: int
    seconds: float
    rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    errors: int
    non_2xx: int


def body_parts(features: list[str], join_key: str) -> tuple[str, str]:
    """The JSON before and after the comma-separated entity ids of a lookup body."""
    prefix = json.dumps({"features": features, "entities": {join_key: []}})
    cut = prefix.rindex("[]")
    return prefix[: cut + 1], prefix[cut + 1:]


def write_script(path: Path, *, features: list[str], join_key: str, entities: int,
                 max_id: int) -> Path:
    prefix, suffix = body_parts(features, join_key)
    path.write_text(LUA.format(prefix=prefix, suffix=suffix, entities=entities, max_id=max_id,
                               marker=MARKER))
    return path


def parse(output: str) -> WrkResult:
    """The figures from the JSON line `done()` printed."""
    for line in output.splitlines():
        if line.startswith(MARKER):
            data = json.loads(line[len(MARKER):])
            break
    else:
        raise RuntimeError(f"wrk printed no result line:\n{output[-2000:]}")
    seconds = data["duration_us"] / 1e6
    errors = sum(data[k] for k in ("connect", "read", "write", "timeout"))
    return WrkResult(
        requests=data["requests"], seconds=seconds,
        rps=data["requests"] / seconds if seconds else 0.0,
        p50_ms=data["p50_us"] / 1000, p90_ms=data["p90_us"] / 1000,
        p99_ms=data["p99_us"] / 1000, max_ms=data["max_us"] / 1000,
        errors=errors, non_2xx=data["status"],
    )


def run(url: str, script: Path, *, duration_s: float, connections: int, threads: int,
        timeout_s: float = 5.0) -> WrkResult:
    """One wrk run against `url` with `script`; raises if wrk is missing or fails."""
    binary = shutil.which("wrk")
    if binary is None:
        raise RuntimeError("wrk is not installed; run `apt-get install -y wrk` (or `make bench`)")
    command = [binary, "-t", str(threads), "-c", str(connections), "-d", f"{duration_s:g}s",
               "--timeout", f"{timeout_s:g}s", "--latency", "-s", str(script), url]
    result = subprocess.run(command, capture_output=True, text=True, check=False,
                            timeout=duration_s + 60)
    if result.returncode != 0:
        raise RuntimeError(f"wrk failed ({result.returncode}): {result.stderr.strip()[-500:]}")
    return parse(result.stdout)
