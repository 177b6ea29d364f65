"""The exception tree every component raises; the HTTP layer maps it to one JSON envelope.

    FeatureBankError                      500  internal (message never echoed to clients)
    ├── InvalidInput                      422  a request, file, message or argument is wrong
    │   ├── UnknownName                   422  names every feature, view, service, entity or
    │   │                                      key of a request that the registry does not have
    │   └── LimitExceeded                 413  too many entities, rows or bytes
    ├── AuthError                         401  missing or unknown API key
    │   └── ScopeDenied                   403  the key lacks the scope
    ├── NotFound                          404  an addressed resource (training set, ...) is absent
    ├── Conflict                          409  the resource is not in a state to do that
    └── DependencyUnavailable             503  Redis, the broker or the registry did not answer
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
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


SUGGESTIONS = 3
"""Close matches offered per unknown name."""
CUTOFF = 0.6
"""difflib's default similarity floor."""
MARGIN = 0.15
"""A match further than this below the best one is left out."""
MAX_NAMED = 20
"""Unknown names one error names (and matches); a request may carry thousands, and matching
each against a large registry must not become the cost of answering it."""
MAX_NAME_CHARS = 200
LIST_ALL_UP_TO = 6
"""With no close match, a pool this small is listed whole (a complete list is never arbitrary)."""


def shorten(name: str) -> str:
    """A name as an error shows it: no real name is this long, so the rest is cut."""
    return name if len(name) <= MAX_NAME_CHARS else name[:MAX_NAME_CHARS] + "…"


def close_matches(name: str, known: Iterable[str], *, limit: int = SUGGESTIONS) -> list[str]:
    """Known names that look like `name`, closest first (difflib, case-insensitive).

    A `view:feature` ref is compared part by part: the shared view prefix would otherwise make
    every feature of the view look close to any typo (`stats:zzzz` ~ `stats:rate`). A known
    view offers its own features; an unknown one offers same-named or close features of the
    views whose names are close to it.
    """
    if len(name) > MAX_NAME_CHARS:  # difflib is quadratic in the length; nothing is close
        return []
    pool = list(dict.fromkeys(known))
    view, colon, feature = name.partition(":")
    if colon and any(":" in k for k in pool):
        by_view: dict[str, list[str]] = {}
        for ref in pool:
            by_view.setdefault(ref.partition(":")[0], []).append(ref)
        views = [view] if view in by_view else _close(view, by_view, limit)
        found: list[str] = []
        for candidate in views:
            refs = {ref.partition(":")[2]: ref for ref in by_view[candidate]}
            found += [refs[f] for f in _close(feature, refs, limit)]
        return found[:limit]
    return _close(name, pool, limit)


def _close(name: str, known: Iterable[str], limit: int) -> list[str]:
    """difflib's close matches, but only those about as close as the best one: a shared
    suffix alone (`acount_stats` ~ `region_stats`, 0.67) is no match when `account_stats`
    (0.96) is there."""
    folded: dict[str, str] = {}
    for item in known:
        folded.setdefault(item.lower(), item)
    matcher = difflib.SequenceMatcher(b=name.lower())
    scored = []
    for key in folded:
        matcher.set_seq1(key)
        if matcher.real_quick_ratio() >= CUTOFF and matcher.quick_ratio() >= CUTOFF:
            score = matcher.ratio()
            if score >= CUTOFF:
                scored.append((-score, key))
    scored.sort()
    best = -scored[0][0] if scored else 0.0
    return [folded[key] for score, key in scored if -score >= best - MARGIN][:limit]


def did_you_mean(name: str, known: Iterable[str]) -> str:
    """"did you mean: a, b" for `name`, a complete list of a small pool, or ""."""
    pool = list(dict.fromkeys(known))
    close = close_matches(name, pool)
    if close:
        return f"did you mean: {', '.join(close)}"
    view, colon, _ = name.partition(":")
    if colon and any(k.startswith(f"{view}:") for k in pool):
        pool = [k for k in pool if k.startswith(f"{view}:")]
    if 0 < len(pool) <= LIST_ALL_UP_TO:
        return f"known: {', '.join(pool)}"
    return ""


class UnknownName(InvalidInput):
    """Names the registry does not know; `kind` says what sort of names they were.

    Every unknown name of one request is named in one error, each with its close matches
    (`did_you_mean`), so a caller fixes them all in one round trip.
    """

    code = "unknown_name"

    def __init__(self, kind: str, name: object, *more: object,
                 known: Iterable[str] | None = None) -> None:
        # The caller may hand over whatever the request held.
        everything = list(dict.fromkeys(str(n) for n in (name, *more)))
        names = [shorten(n) for n in everything[:MAX_NAMED]]
        pool = list(known or ())
        hints = {n: did_you_mean(n, pool) for n in names}
        if len(names) == 1:
            hint = hints[names[0]]
            message = f"unknown {kind} {names[0]!r}" + (f"; {hint}" if hint else "")
        else:
            message = f"unknown {kind}s " + ", ".join(
                f"{n!r}" + (f" ({hints[n]})" if hints[n] else "") for n in names)
        if len(everything) > MAX_NAMED:
            message += f" and {len(everything) - MAX_NAMED} more"
        suggestions = {n: close_matches(n, pool) for n in names}
        super().__init__(message, detail={"kind": kind, "name": names[0], "names": names,
                                          "suggestions": suggestions,
                                          "count": len(everything)})
        self.kind = kind
        self.name = names[0]
        self.names = names


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
