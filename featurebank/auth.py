"""API keys and their scopes (DESIGN.md §5).

Keys are configured as `FEATUREBANK_API_KEYS="name:secret:read+write,other:secret2:read"`.
Only a SHA-256 digest of each secret is kept in memory, and a presented key is compared against
every configured digest with `hmac.compare_digest`, so neither the secret nor timing leaks.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from enum import StrEnum


class Scope(StrEnum):
    """What a key may do; `admin` implies the others and `write` implies `read`."""

    READ = "read"
    WRITE = "write"
    ADMIN = "admin"


_IMPLIED: dict[Scope, frozenset[Scope]] = {
    Scope.READ: frozenset({Scope.READ}),
    Scope.WRITE: frozenset({Scope.READ, Scope.WRITE}),
    Scope.ADMIN: frozenset({Scope.READ, Scope.WRITE, Scope.ADMIN}),
}


@dataclass(frozen=True)
class ApiKey:
    """A configured key: its public name, the digest of its secret and its scopes."""

    name: str
    digest: bytes = field(repr=False)
    scopes: frozenset[Scope]

    def allows(self, scope: Scope) -> bool:
        return scope in self.scopes


def digest_secret(secret: str) -> bytes:
    return hashlib.sha256(secret.encode("utf-8")).digest()


def parse_api_keys(spec: str) -> tuple[ApiKey, ...]:
    """Parse the `FEATUREBANK_API_KEYS` value; errors name the entry but never the secret."""
    keys: list[ApiKey] = []
    names: set[str] = set()
    for position, raw in enumerate(spec.split(","), start=1):
        entry = raw.strip()
        if not entry:
            continue
        parts = entry.split(":")
        if len(parts) != 3 or not all(parts):
            raise ValueError(
                f"FEATUREBANK_API_KEYS entry #{position} must look like 'name:secret:read+write'"
            )
        name, secret, scope_text = parts
        if name in names:
            raise ValueError(f"FEATUREBANK_API_KEYS names key {name!r} twice")
        if len(secret) < 16:
            raise ValueError(f"API key {name!r}: the secret must be at least 16 characters")
        scopes: set[Scope] = set()
        for word in scope_text.split("+"):
            try:
                scopes |= _IMPLIED[Scope(word)]
            except ValueError:
                raise ValueError(
                    f"API key {name!r}: unknown scope {word!r} (use read, write or admin)"
                ) from None
        names.add(name)
        keys.append(ApiKey(name=name, digest=digest_secret(secret), scopes=frozenset(scopes)))
    return tuple(keys)


def authenticate(keys: tuple[ApiKey, ...], presented: str) -> ApiKey | None:
    """The key whose secret matches, comparing against every key so timing reveals nothing."""
    candidate = digest_secret(presented)
    found: ApiKey | None = None
    for key in keys:
        if hmac.compare_digest(key.digest, candidate):
            found = key
    return found


def new_secret() -> str:
    """A fresh random secret for development keys."""
    return secrets.token_urlsafe(24)
