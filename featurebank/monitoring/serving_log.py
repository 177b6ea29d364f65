"""Served-value logging: sampled lookup responses, queued on the hot path, written as Parquet.

    lookup (event loop)                         writer thread
    ───────────────────                         ─────────────
    KeySampler.rows()  → rows to log            every flush_s, or at flush_rows queued:
    offer(): gather the sampled rows    ──▶   to_table() per (shape, day)  (serving_log_arrow)
      queue them, or drop and count them     Parquet file per table, renamed into place
      when the queue is full

The lookup never waits for and never fails because of logging: `offer` takes the sampled rows
of the response while it is still in the CPU caches (`Served`), appends them to a deque
(thread-safe) and bumps counters that each have a single writing thread, so no lock is taken.
The queue is bounded in sampled rows; what does not fit is dropped and counted. Writing errors
(a full or read-only disk) are logged once per episode and counted, and never reach a request.
Layout and columns: `featurebank.monitoring.log_layout`.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import threading
import time
import uuid
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from feast.value_type import ValueType

from featurebank.monitoring import log_layout
from featurebank.monitoring.serving_log_arrow import Served, to_table
from featurebank.monitoring.serving_log_sampler import KeySampler, integer_seed
from featurebank.monitoring.serving_log_shape import LogShape

log = logging.getLogger("featurebank.monitoring")

_MAX_HEADER_CHARS = 200
_INTEGER_KEYS = (ValueType.INT64, ValueType.INT32)
# The writer shares the GIL with the event loop: converting a whole flush at once stalled
# lookups (p99 250 ms at 100% sampling). So it converts a step of rows at a time and then rests
# for twice as long as the step took, which caps it near a third of the GIL while it has work;
# a file still gets one row group. A writer that cannot keep up fills the queue: drops, counted.
_CHUNK_ROWS = 1024
_REST_FACTOR = 2.0
_MAX_REST_S = 0.05
_EPOCH_DAY = date(1970, 1, 1)


class LogCounters:
    """Counts for /metrics. Each attribute has one writing thread, so no lock is needed."""

    def __init__(self) -> None:
        self.held_in = 0  # event loop: sampled rows queued
        self.held_out = 0  # writer: sampled rows taken off the queue
        self.dropped_full = 0  # event loop: sampled rows refused by a full queue
        self.written = 0  # writer: rows in Parquet files
        self.dropped_failed = 0  # writer: sampled rows lost to a failed write
        self.write_errors = 0  # writer: failed file writes

    @property
    def queued(self) -> int:
        return self.held_in - self.held_out


@dataclass(frozen=True)
class PlanLog:
    """What the hot path needs per lookup plan: its shape and the sampler of its keys."""

    shape: LogShape
    sampler: KeySampler


class ServingLog:
    """The served-value log of one API process."""

    def __init__(self, data_dir: Path, *, sample_rate: float, queue_rows: int, flush_s: float,
                 flush_rows: int, counters: LogCounters | None = None) -> None:
        self.data_dir = data_dir
        self.sample_rate = sample_rate
        self.queue_rows = queue_rows
        self.flush_s = flush_s
        self.flush_rows = flush_rows
        self.counters = counters or LogCounters()
        self.plans: dict[int, PlanLog] = {}
        self._samplers: dict[tuple[Any, ...], KeySampler] = {}
        self._queue: deque[Served] = deque()
        self._wake = threading.Event()
        self._closing = False
        self._thread: threading.Thread | None = None
        self._failing = False
        self._offer_failed = False
        self._ids = itertools.count(1)
        self._id_prefix = uuid.uuid4().hex[:12]

    # -- the event loop's side ---------------------------------------------------------------

    def register(self, plan_id: int, shape: LogShape) -> PlanLog:
        """Remember a plan's shape; plans are few (per registry snapshot and request shape)."""
        if len(self.plans) >= 4096:
            self.plans.clear()
        key = (shape.sampler_key, shape.project)
        sampler = self._samplers.get(key)
        if sampler is None:
            seed = None
            if len(shape.sampler_key) == 1 and shape.sampler_key[0][1] in _INTEGER_KEYS:
                seed = integer_seed(shape.sampler_key[0][0], shape.project)
            sampler = self._samplers[key] = KeySampler(shape.codec, integer_seed=seed)
        entry = self.plans[plan_id] = PlanLog(shape, sampler)
        return entry

    def offer(self, entry: PlanLog, entities: dict[str, list[Any]], count: int,
              response: dict[str, Any], key_name: str | None,
              headers: Mapping[str, str]) -> None:
        """Queue the sampled rows of one answered lookup, or count them as dropped."""
        shape = entry.shape
        rows = entry.sampler.rows([entities[name] for name in shape.sampled_keys], count,
                                  shape.sample_rate)
        if not rows:
            return
        counters = self.counters
        sampled = len(rows)
        if self._closing or counters.held_in - counters.held_out + sampled > self.queue_rows:
            counters.dropped_full += sampled
            return
        consumer = key_name or headers.get("x-feature-consumer") or log_layout.ANONYMOUS_CONSUMER
        request_id = headers.get("x-request-id") or f"{self._id_prefix}-{next(self._ids)}"
        self._queue.append(Served(shape, entities, response, rows, count, time.time_ns() // 1_000,
                                  request_id[:_MAX_HEADER_CHARS], consumer[:_MAX_HEADER_CHARS]))
        counters.held_in += sampled
        if counters.held_in - counters.held_out >= self.flush_rows:
            self._wake.set()

    def offer_failed(self, exc: BaseException) -> None:
        """An error while logging a lookup: reported once, the lookup itself goes on."""
        if not self._offer_failed:
            self._offer_failed = True
            log.error("served-value logging failed; lookups are unaffected, rows are not logged: "
                      "%s: %s", type(exc).__name__, exc, exc_info=exc)

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="served-value-log", daemon=True)
        self._thread.start()

    def close(self, timeout: float = 30.0) -> None:
        """Write everything queued, then stop the writer (the API's shutdown waits for this)."""
        self._closing = True
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                log.error("served-value log: the writer did not finish within %.0f s", timeout)
        else:
            self.flush()

    # -- the writer's side ---------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            self._wake.wait(self.flush_s)
            self._wake.clear()
            closing = self._closing
            self.flush()
            if closing:
                return

    def flush(self) -> None:
        """Write what is queued now (the writer thread calls this; tests may too)."""
        taken: list[Served] = []
        queue = self._queue
        while queue:
            taken.append(queue.popleft())
        if not taken:
            return
        sampled = sum(len(s.rows) for s in taken)
        groups: dict[tuple[int, int], list[Served]] = {}
        for served in taken:
            day = served.log_time_us // 86_400_000_000
            groups.setdefault((id(served.shape), day), []).append(served)
        try:
            for (_, day), batch in groups.items():
                self._write(batch[0].shape, batch, _EPOCH_DAY + timedelta(days=day))
        finally:
            self.counters.held_out += sampled

    def _write(self, shape: LogShape, batch: list[Served], day: date) -> None:
        rows = sum(len(s.rows) for s in batch)
        target: Path | None = None
        try:
            table = _chunked_table(shape, batch, day, rest=not self._closing)
            folder = log_layout.partition_dir(self.data_dir, shape.log_name, day)
            folder.mkdir(parents=True, exist_ok=True)
            name = f"part-{uuid.uuid4().hex}.parquet"
            target = folder / f".{name}.tmp"  # readers glob *.parquet: never a partial file
            pq.write_table(table, target, row_group_size=max(rows, 1))
            os.replace(target, folder / name)
        except Exception as exc:  # the writer thread must outlive any one bad batch
            self.counters.write_errors += 1
            self.counters.dropped_failed += rows
            if target is not None:
                with contextlib.suppress(OSError):
                    target.unlink(missing_ok=True)
            if not self._failing:
                self._failing = True
                log.error("served-value log %r: could not write %d rows under %s (%s: %s); "
                          "rows are dropped and counted until a write succeeds",
                          shape.log_name, rows, log_layout.log_root(self.data_dir),
                          type(exc).__name__, exc)
            return
        self.counters.written += rows
        if self._failing:
            self._failing = False
            log.warning("served-value log %r: writing works again", shape.log_name)


def _chunked_table(shape: LogShape, batch: list[Served], day: date, *, rest: bool) -> pa.Table:
    """`to_table` a thousand rows at a time, resting in between (see `_CHUNK_ROWS`)."""
    tables: list[pa.Table] = []
    chunk: list[Served] = []
    rows = 0
    for served in batch:
        chunk.append(served)
        rows += len(served.rows)
        if rows >= _CHUNK_ROWS:
            began = time.perf_counter()
            tables.append(to_table(shape, chunk, day))
            chunk, rows = [], 0
            if rest:  # not at shutdown: then lookups are over and the flush should be quick
                time.sleep(min((time.perf_counter() - began) * _REST_FACTOR, _MAX_REST_S))
    if chunk:
        tables.append(to_table(shape, chunk, day))
    if len(tables) == 1:
        return tables[0]
    return pa.concat_tables(tables, promote_options="permissive")
