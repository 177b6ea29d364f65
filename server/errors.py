"""The one place HTTP errors are made: one JSON envelope, no internals echoed on a 500."""

from __future__ import annotations

import logging
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from featurebank.errors import DependencyUnavailable, FeatureBankError

log = logging.getLogger("featurebank.server")


def error_response(status: int, code: str, message: str, detail: Any = None) -> Response:
    body = {"error": {"code": code, "message": message, "detail": detail}}
    headers = {"WWW-Authenticate": "ApiKey"} if status == 401 else None
    return Response(
        orjson.dumps(body, default=str), status_code=status,
        media_type="application/json", headers=headers,
    )


async def _feature_bank_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, FeatureBankError)
    if exc.status_code >= 500 and not isinstance(exc, DependencyUnavailable):
        log.error("internal error on %s: %s", request.url.path, exc.message)
        return error_response(500, "internal_error", "internal error; see the server log")
    return error_response(exc.status_code, exc.code, exc.message, exc.detail)


async def _redis_down(request: Request, exc: Exception) -> Response:
    log.warning("redis unavailable on %s: %s", request.url.path, type(exc).__name__)
    return error_response(
        503, DependencyUnavailable.code, "the online store (Redis) did not answer in time",
        {"dependency": "redis"},
    )


async def _validation(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    problems = [
        {"field": ".".join(str(p) for p in err.get("loc", ()) if p != "body"),
         "problem": err.get("msg", "")}
        for err in exc.errors()
    ]
    first = problems[0] if problems else {"field": "body", "problem": "invalid"}
    message = f"invalid request: {first['field'] or 'body'}: {first['problem']}"
    return error_response(422, "invalid_input", message, problems)


async def _http(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    return error_response(exc.status_code, "http_error", str(exc.detail))


async def _unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s", request.url.path)
    return error_response(500, "internal_error", "internal error; see the server log")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(FeatureBankError, _feature_bank_error)
    app.add_exception_handler(RedisConnectionError, _redis_down)
    app.add_exception_handler(RedisTimeoutError, _redis_down)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(Exception, _unexpected)
