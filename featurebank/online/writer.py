"""Event-time monotonic writes of feature values into Redis, in Feast's layout.

One Lua script call writes a batch of entities atomically: compare each stored `_ts:<view>`
with the new event time and write only when the new one is not older. No read-then-write
round trip (Feast's race), and calls are pipelined so a batch of batches is one round trip.
"""

from __future__ import annotations

import hashlib
import itertools
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from importlib import resources
from typing import Any

import redis
import redis.asyncio as aioredis
from redis.exceptions import NoScriptError

from featurebank.codec.timestamps import encode_timestamp
from featurebank.definitions import ViewSpec
from featurebank.freshness import ADVANCE_SCRIPT, ADVANCE_SHA, advance_args, watermark_key

SCRIPT = resources.files("featurebank.online").joinpath("monotonic_write.lua").read_text()


@dataclass(frozen=True)
class ViewRows:
    """Encoded rows of one view: one key and one event time per entity, one column per feature.

    `columns` maps feature names to serialized `Value` bytes aligned with `keys`; features of
    the view that are absent are left untouched in Redis. `timestamps`, when given, are the
    event times already serialized as `Timestamp` bytes (a column-wise encoder made them);
    otherwise each is encoded when the script arguments are built.
    """

    view: ViewSpec
    keys: Sequence[bytes]
    event_times: Sequence[tuple[int, int]]
    columns: Mapping[str, Sequence[bytes]]
    timestamps: Sequence[bytes] | None = None

    def __len__(self) -> int:
        return len(self.keys)


ScriptCall = tuple[list[bytes], list[bytes | int]]


def script_calls(rows: ViewRows, batch_size: int) -> Iterator[ScriptCall]:
    """Split rows into script invocations of at most `batch_size` entities.

    Arguments are laid out with strided slice assignments (C loops) rather than per value.
    """
    names = list(rows.columns)
    fields = [rows.view.features[name].field for name in names]
    header: list[bytes | int] = [rows.view.ts_field, len(fields), *fields]
    columns = [rows.columns[name] for name in names]
    per_key = 3 + len(fields)
    total = len(rows.keys)
    for start in range(0, total, batch_size):
        stop = min(start + batch_size, total)
        count = stop - start
        times = rows.event_times[start:stop]
        body: list[bytes | int] = [b""] * (count * per_key)
        body[0::per_key] = [seconds for seconds, _ in times]
        body[1::per_key] = [nanos for _, nanos in times]
        if rows.timestamps is not None:
            body[2::per_key] = rows.timestamps[start:stop]
        else:
            body[2::per_key] = [encode_timestamp(seconds, nanos) for seconds, nanos in times]
        for position, column in enumerate(columns):
            body[3 + position :: per_key] = column[start:stop]
        yield list(rows.keys[start:stop]), [*header, *body]


class RedisOnlineWriter:
    """Writes `ViewRows` with the monotonic script through a pipelined sync client."""

    def __init__(self, client: redis.Redis, *, batch_size: int = 256, calls_per_flush: int = 16):
        self._client = client
        self._batch_size = batch_size
        self._calls_per_flush = calls_per_flush
        self._sha = str(client.script_load(SCRIPT))
        self._io: ThreadPoolExecutor | None = None

    def close(self) -> None:
        """Stop the I/O thread (a later `write` starts a new one)."""
        if self._io is not None:
            self._io.shutdown(wait=True)
            self._io = None

    def write(self, rows: ViewRows, progress: Callable[[int], None] | None = None) -> int:
        """Write the rows; returns how many entities were newer and written.

        Building script arguments is Python work and running the script is Redis work, so one
        I/O thread sends each flush while the caller's thread builds the next (at most two in
        flight, which bounds memory).
        """
        calls = script_calls(rows, self._batch_size)
        first = list(itertools.islice(calls, self._calls_per_flush))
        if len(first) < self._calls_per_flush:  # one flush: no hand-over to the I/O thread
            return self._flush(first, progress) if first else 0
        if self._io is None:  # kept across writes: starting a thread per write showed in profiles
            self._io = ThreadPoolExecutor(max_workers=1, thread_name_prefix="redis-writer")
        io = self._io
        written = 0
        in_flight: deque[Future[int]] = deque([io.submit(self._flush, first, progress)])
        try:
            while batch := list(itertools.islice(calls, self._calls_per_flush)):
                in_flight.append(io.submit(self._flush, batch, progress))
                if len(in_flight) > 2:
                    written += in_flight.popleft().result()
            while in_flight:
                written += in_flight.popleft().result()
        finally:
            for future in in_flight:  # an error: let queued flushes finish before re-raising
                future.cancel()
                if not future.cancelled():
                    future.exception()
        return written

    def _flush(self, calls: list[ScriptCall], progress: Callable[[int], None] | None) -> int:
        try:
            results = self._execute(calls)
        except NoScriptError:
            # Redis restarted or flushed its script cache: load it again and replay the calls,
            # which is safe because the writes are idempotent.
            self._sha = str(self._client.script_load(SCRIPT))
            results = self._execute(calls)
        if progress is not None:
            progress(sum(len(keys) for keys, _ in calls))
        return sum(int(r) for r in results)

    def _execute(self, calls: list[ScriptCall]) -> list[int]:
        pipe = self._client.pipeline(transaction=False)
        for keys, args in calls:
            pipe.evalsha(self._sha, len(keys), *keys, *args)
        return [int(result) for result in pipe.execute()]


class AsyncRedisOnlineWriter:
    """The same writes from asyncio code (the push endpoint).

    `write` can take the freshness watermark advance along: it is queued in the same pipeline
    as the monotonic writes, so a push costs one Redis round trip instead of two (the second
    round trip was a third of a one-row push's server time). Both scripts are called by SHA;
    when Redis answers NOSCRIPT (restarted, script cache flushed) both are loaded and the whole
    pipeline is sent again, which is safe because both writes are idempotent.
    """

    def __init__(self, client: aioredis.Redis, *, batch_size: int = 256) -> None:
        self._client = client
        self._batch_size = batch_size
        self._sha = hashlib.sha1(SCRIPT.encode(), usedforsecurity=False).hexdigest()  # script id

    async def write(self, rows: ViewRows | Sequence[ViewRows], *, project: str | None = None,
                    newest: Mapping[str, float] | None = None) -> int:
        """Write the rows (one view's or several views'); returns entities written.

        With `project` and `newest` (view → newest event time written, epoch seconds) the
        views' freshness watermarks advance in the same round trip, after the writes.
        """
        views = [rows] if isinstance(rows, ViewRows) else list(rows)
        calls = [call for view_rows in views for call in script_calls(view_rows,
                                                                      self._batch_size)]
        watermark: list[str] | None = None
        if project is not None and newest:
            watermark = [watermark_key(project), *advance_args(newest)]
        try:
            results = await self._execute(calls, watermark)
        except NoScriptError:
            await self._client.script_load(SCRIPT)
            await self._client.script_load(ADVANCE_SCRIPT)
            results = await self._execute(calls, watermark)
        return sum(int(r) for r in results[:len(calls)])

    async def _execute(self, calls: list[ScriptCall], watermark: list[str] | None) -> list[Any]:
        if not calls and watermark is None:
            return []
        pipe = self._client.pipeline(transaction=False)
        for keys, args in calls:
            pipe.evalsha(self._sha, len(keys), *keys, *args)
        if watermark is not None:
            pipe.evalsha(ADVANCE_SHA, 1, *watermark)
        return list(await pipe.execute())
