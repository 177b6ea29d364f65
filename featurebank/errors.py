"""The exception tree every component raises; the HTTP layer maps it to one JSON envelope.

    FeatureBankError                      500  internal (message never echoed to clients)
    ├── InvalidInput                      422  a request, file, message or argument is wrong
    │   ├── UnknownName                   422  names a feature, view, service, entity or key
    │   │                                      that the registry does not have
    │   └── LimitExceeded                 413  too many entities, rows or bytes
    ├── AuthError                         401  missing or unknown API key
    │   └── ScopeDenied                   403  the key lacks the scope
    ├── NotFound                          404  an addressed resource (training set, ...) is absent
    ├── Conflict                          409  the resource is not in a state to do that
    └── DependencyUnavailable             503  Redis, the broker or the registry did not answer
"""

from __future__ import annotations

import difflib
from typing import Any


class FeatureBankError(Exception):
    """Root of every error Feature Bank raises on purpose."""

    status_code = 500
    code = "internal_error"

    def __init__(self, message: str, *, detail: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail


class InvalidInput(FeatureBankError):
    status_code = 422
    code = "invalid_input"


class UnknownName(InvalidInput):
    """A name the registry does not know; `kind` says what sort of name it was."""

    code = "unknown_name"

    def __init__(self, kind: str, name: object, *, known: list[str] | None = None) -> None:
        name = str(name)  # the caller may hand over whatever the request held
        hint = ""
        if known:
            close = difflib.get_close_matches(name, known, n=5, cutoff=0.5)
            same_view = [k for k in known if k.split(":")[0] == name.split(":")[0]]
            if close:
                hint = f"; did you mean: {', '.join(close)}"
            else:
                listed = same_view[:5] or known[:5]
                more = ", …" if len(same_view or known) > 5 else ""
                hint = f"; known: {', '.join(listed)}{more}"
        super().__init__(f"unknown {kind} {name!r}{hint}", detail={"kind": kind, "name": name})
        self.kind = kind
        self.name = name


class LimitExceeded(InvalidInput):
    status_code = 413
    code = "limit_exceeded"


class AuthError(FeatureBankError):
    status_code = 401
    code = "unauthorized"


class ScopeDenied(AuthError):
    status_code = 403
    code = "forbidden"


class NotFound(FeatureBankError):
    status_code = 404
    code = "not_found"


class Conflict(FeatureBankError):
    status_code = 409
    code = "conflict"


class DependencyUnavailable(FeatureBankError):
    status_code = 503
    code = "dependency_unavailable"
