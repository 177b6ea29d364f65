"""Dependencies handlers declare: the app state and API-key scopes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated

from fastapi import Depends, Request

from featurebank.auth import ApiKey, Scope, authenticate
from featurebank.errors import AuthError, ScopeDenied
from server.state import AppState

API_KEY_HEADER = "x-api-key"


def get_state(request: Request) -> AppState:
    state: AppState = request.app.state.featurebank
    return state


def presented_key(headers: Mapping[str, str]) -> str | None:
    """The key from `X-API-Key` or `Authorization: Bearer …`."""
    key = headers.get(API_KEY_HEADER)
    if key:
        return key
    auth = headers.get("authorization", "")
    if auth[:7].lower() == "bearer ":
        return auth[7:].strip()
    return None


def check_scope(state: AppState, request: Request, scope: Scope) -> ApiKey | None:
    """The authenticated key, or None for an anonymous read when reads are open."""
    key = authorize(state, request.headers, scope)
    if key is not None:
        request.state.api_key_name = key.name
    return key


def authorize(state: AppState, headers: Mapping[str, str], scope: Scope) -> ApiKey | None:
    """`check_scope` for callers that only have the headers (the ASGI fast path)."""
    settings = state.settings
    needs_key = scope is not Scope.READ or settings.require_read_key
    secret = presented_key(headers)
    if secret is None:
        if needs_key:
            raise AuthError(f"this endpoint needs an API key with scope {scope.value!r}; "
                            f"send it as the {API_KEY_HEADER} header")
        return None
    key = authenticate(settings.api_keys, secret)
    if key is None:
        raise AuthError("the API key is not valid")
    if not key.allows(scope):
        raise ScopeDenied(f"API key {key.name!r} lacks scope {scope.value!r}")
    return key


def require(scope: Scope):  # type: ignore[no-untyped-def]
    def dependency(
        request: Request, state: Annotated[AppState, Depends(get_state)]
    ) -> ApiKey | None:
        return check_scope(state, request, scope)

    return dependency


State = Annotated[AppState, Depends(get_state)]
ReadKey = Annotated[ApiKey | None, Depends(require(Scope.READ))]
WriteKey = Annotated[ApiKey | None, Depends(require(Scope.WRITE))]
AdminKey = Annotated[ApiKey | None, Depends(require(Scope.ADMIN))]
