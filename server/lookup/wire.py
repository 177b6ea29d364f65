"""A minimal pipelining Redis client for the lookup hot path, written by hand for speed.

Profiling the lookup endpoint showed redis.asyncio's per-command machinery (pool checkout,
retry wrappers, timeout contexts) costing more CPU than the rest of the handler. Lookups need
one thing only: send a few HMGETs and read the replies. So each connection here is an asyncio
`Protocol` whose replies are parsed by hiredis and handed, in order, to the futures of the
requests that sent them; concurrent requests share connections and so batch naturally.

A reply that does not come within the timeout poisons the ordering of its connection, so the
connection is dropped and every waiter on it fails with `DependencyUnavailable` (a 503).
"""

from __future__ import annotations

import asyncio
import itertools
from collections import deque
from collections.abc import Sequence
from typing import Any
from urllib.parse import unquote, urlsplit

import hiredis

from featurebank.errors import DependencyUnavailable

Command = Sequence[bytes | str | int]


class _Connection(asyncio.Protocol):
    def __init__(self) -> None:
        self.reader = hiredis.Reader()
        self.waiters: deque[tuple[asyncio.Future[Any], int, list[Any]]] = deque()
        self.transport: asyncio.Transport | None = None
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, so no isinstance check.
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.reader.feed(data)
        waiters = self.waiters
        while True:
            reply = self.reader.gets()
            if reply is False:
                return
            if not waiters:  # a reply nobody waits for: the stream is out of step
                self.fail(ConnectionError("unexpected reply from Redis"))
                return
            future, remaining, replies = waiters[0]
            replies.append(reply)
            if remaining > 1:
                waiters[0] = (future, remaining - 1, replies)
                continue
            waiters.popleft()
            if not future.done():
                future.set_result(replies)

    def connection_lost(self, exc: Exception | None) -> None:
        self.fail(exc or ConnectionError("Redis closed the connection"))

    def fail(self, exc: BaseException) -> None:
        self.closed = True
        while self.waiters:
            future, _, _ = self.waiters.popleft()
            if not future.done():
                future.set_exception(DependencyUnavailable(
                    "the online store (Redis) connection failed", detail={"dependency": "redis"}
                ))
        if self.transport is not None:
            self.transport.abort()
        del exc

    def send(self, payload: bytes, count: int) -> asyncio.Future[list[Any]]:
        assert self.transport is not None
        future: asyncio.Future[list[Any]] = asyncio.get_running_loop().create_future()
        self.waiters.append((future, count, []))
        self.transport.write(payload)
        return future


class WireRedis:
    """A few pipelined connections to one Redis; `commands()` is one round trip."""

    def __init__(self, url: str, *, connections: int = 2, timeout: float = 0.5) -> None:
        parts = urlsplit(url)
        if parts.scheme != "redis":
            raise ValueError("the lookup client supports redis:// URLs; use REDIS_URL redis://")
        self._host = parts.hostname or "127.0.0.1"
        self._port = parts.port or 6379
        self._db = int(parts.path.lstrip("/") or 0)
        self._password = unquote(parts.password) if parts.password else None
        self._username = unquote(parts.username) if parts.username else None
        self._timeout = timeout
        self._slots: list[_Connection | None] = [None] * connections
        self._locks = [asyncio.Lock() for _ in range(connections)]
        self._next = itertools.cycle(range(connections))

    async def _connect(self, slot: int) -> _Connection:
        async with self._locks[slot]:
            current = self._slots[slot]
            if current is not None and not current.closed:
                return current
            loop = asyncio.get_running_loop()
            try:
                _, protocol = await asyncio.wait_for(
                    loop.create_connection(_Connection, self._host, self._port), self._timeout
                )
            except (OSError, TimeoutError) as exc:
                raise DependencyUnavailable(
                    f"the online store (Redis) at {self._host}:{self._port} did not answer",
                    detail={"dependency": "redis"},
                ) from exc
            setup: list[Command] = []
            if self._password is not None:
                auth: list[bytes | str | int] = ["AUTH"]
                if self._username:
                    auth.append(self._username)
                setup.append([*auth, self._password])
            if self._db:
                setup.append(["SELECT", self._db])
            if setup:
                replies = await self._roundtrip(protocol, setup)
                errors = [r for r in replies if isinstance(r, hiredis.ReplyError)]
                if errors:
                    protocol.fail(ConnectionError("setup failed"))
                    raise DependencyUnavailable("Redis refused the connection setup (AUTH/SELECT)")
            self._slots[slot] = protocol
            return protocol

    async def _roundtrip(self, connection: _Connection, commands: Sequence[Command]) -> list[Any]:
        payload = b"".join(hiredis.pack_command(tuple(c)) for c in commands)  # type: ignore[arg-type]
        return await self._exchange(connection, payload, len(commands))

    async def _exchange(self, connection: _Connection, payload: bytes, count: int) -> list[Any]:
        future = connection.send(payload, count)
        try:
            return await asyncio.wait_for(future, self._timeout)
        except TimeoutError:
            connection.fail(TimeoutError("Redis reply timed out"))
            raise DependencyUnavailable(
                "the online store (Redis) did not answer in time", detail={"dependency": "redis"}
            ) from None

    async def commands(self, commands: Sequence[Command]) -> list[Any]:
        """Replies to `commands`, in order, from one pipelined round trip."""
        slot = next(self._next)
        connection = self._slots[slot]
        if connection is None or connection.closed:
            connection = await self._connect(slot)
        replies = await self._roundtrip(connection, commands)
        for reply in replies:
            if isinstance(reply, hiredis.ReplyError):
                raise DependencyUnavailable(f"Redis answered with an error: {reply}")
        return replies

    async def send_packed(self, payload: bytes, count: int) -> list[Any]:
        """Replies to `count` commands already encoded in RESP (the lookup hot path)."""
        slot = next(self._next)
        connection = self._slots[slot]
        if connection is None or connection.closed:
            connection = await self._connect(slot)
        replies = await self._exchange(connection, payload, count)
        for reply in replies:
            if isinstance(reply, hiredis.ReplyError):
                raise DependencyUnavailable(f"Redis answered with an error: {reply}")
        return replies

    def close(self) -> None:
        for connection in self._slots:
            if connection is not None and connection.transport is not None:
                connection.transport.close()
        self._slots = [None] * len(self._slots)


class PipelineRedis:
    """The same interface over redis.asyncio, for URLs the wire client cannot speak (TLS)."""

    def __init__(self, client: Any) -> None:
        self._client = client

    async def commands(self, commands: Sequence[Command]) -> list[Any]:
        pipe = self._client.pipeline(transaction=False)
        for command in commands:
            pipe.execute_command(*command)
        return list(await pipe.execute())

    def close(self) -> None:
        """The wrapped client is closed by its owner."""


LookupRedis = WireRedis | PipelineRedis


def lookup_client(url: str, timeout: float, fallback: Any) -> LookupRedis:
    """The fast client for plain redis:// URLs, redis.asyncio (`fallback`) otherwise."""
    if urlsplit(url).scheme == "redis":
        return WireRedis(url, timeout=timeout)
    return PipelineRedis(fallback)
