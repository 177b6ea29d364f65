"""The hot endpoints (lookup, push) answered straight from ASGI, ahead of FastAPI's routing.

Measured on this machine, FastAPI's per-request machinery (routing, request objects, exception
middleware) cost more than the lookup itself; a handler for a single hot endpoint does not need
it. Every other path, and the lifespan, goes to the FastAPI app unchanged, and errors use the
same envelope as the rest of the API (`server.errors.error_response`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Mapping

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from starlette.types import ASGIApp, Receive, Scope, Send

from featurebank.errors import DependencyUnavailable, FeatureBankError, LimitExceeded
from server.errors import error_response
from server.routes.online import lookup_response
from server.routes.push import push_response
from server.state import AppState

log = logging.getLogger("featurebank.server")
Handler = Callable[[AppState, bytes, Mapping[str, str]], Awaitable[bytes]]
LOOKUP = "/get-online-features"
HANDLERS: dict[str, Handler] = {
    LOOKUP: lookup_response,
    "/push": push_response,
}
_JSON_HEADERS = [(b"content-type", b"application/json")]


class LookupFastPath:
    """Pure ASGI middleware that serves `POST /get-online-features` and `POST /push` itself."""

    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        handler = HANDLERS.get(scope["path"]) if scope["type"] == "http" else None
        if handler is None or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        state: AppState = scope["app"].state.featurebank
        began = time.perf_counter()
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        try:
            body = await self._read_body(receive)
            payload = await handler(state, body, headers)
        except FeatureBankError as exc:
            if path == LOOKUP:
                state.stats.observe(exc.status_code, time.perf_counter() - began)
            if exc.status_code >= 500 and not isinstance(exc, DependencyUnavailable):
                log.error("%s failed: %s", path, exc.message)
                response = error_response(500, "internal_error", "internal error; see the log")
            else:
                response = error_response(exc.status_code, exc.code, exc.message, exc.detail)
            await response(scope, receive, send)
            return
        except (RedisConnectionError, RedisTimeoutError) as exc:  # redis-py's own client
            if path == LOOKUP:
                state.stats.observe(503, time.perf_counter() - began)
            log.warning("redis unavailable on %s: %s", path, type(exc).__name__)
            await error_response(503, DependencyUnavailable.code,
                                 "the online store (Redis) did not answer in time",
                                 {"dependency": "redis"})(scope, receive, send)
            return
        except Exception:
            if path == LOOKUP:
                state.stats.observe(500, time.perf_counter() - began)
            log.exception("unhandled error on %s", path)
            await error_response(500, "internal_error", "internal error; see the log")(
                scope, receive, send)
            return
        if path == LOOKUP:
            state.stats.observe(200, time.perf_counter() - began)
        await send({"type": "http.response.start", "status": 200,
                    "headers": [*_JSON_HEADERS,
                                (b"content-length", str(len(payload)).encode())]})
        await send({"type": "http.response.body", "body": payload})

    async def _read_body(self, receive: Receive) -> bytes:
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                raise LimitExceeded(
                    f"request body exceeds the limit of {self.max_body_bytes} bytes",
                    detail={"limit_bytes": self.max_body_bytes},
                )
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)
