"""Turning names and prose into search terms, and finding near-miss terms for typos.

Feature names are identifiers (`acceptance_rate_7d`, `driverHourlyStats`), so they are split on
`_`, `-`, `.`, `:` and case changes before lower-casing; a light plural fold makes "rates" find
"rate". Typos are matched by symmetric deletion (a term and the query each lose at most one
character), which catches one substitution, insertion, deletion or adjacent swap with dictionary
lookups instead of an edit-distance scan over the whole vocabulary.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+[a-z]*|[a-z]+")
_STOP = frozenset((
    "a", "an", "and", "are", "as", "at", "be", "by", "for", "from", "in", "into", "is", "it",
    "its", "of", "on", "or", "that", "the", "this", "to", "was", "with", "were", "what", "when",
    "where", "which", "who", "whose",
))


@lru_cache(maxsize=65536)
def fold(word: str) -> str:
    """Lower-case and fold simple plurals, so 'Rates' and 'rate' are one term."""
    word = word.lower()
    if len(word) > 3 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def words(text: str) -> list[str]:
    """Terms of `text` in order, identifiers split on separators and case changes."""
    return list(_words(text))


@lru_cache(maxsize=32768)
def _words(text: str) -> tuple[str, ...]:
    # Owners, tags and context strings repeat across thousands of documents: memoized.
    return tuple(fold(w) for w in _WORD.findall(text) if w.lower() not in _STOP)


def query_terms(text: str, limit: int = 16) -> list[str]:
    """Distinct terms of a query, in order, at most `limit` (a bound on query cost)."""
    seen: dict[str, None] = {}
    for term in words(text):
        seen.setdefault(term, None)
    return list(seen)[:limit]


def deletes(term: str) -> set[str]:
    """The term and every string made by deleting one of its characters."""
    out = {term}
    if len(term) > 3:
        out.update(term[:i] + term[i + 1:] for i in range(len(term)))
    return out


def damerau(a: str, b: str, bound: int = 2) -> int:
    """Optimal-string-alignment distance between short strings, capped at `bound + 1`."""
    if abs(len(a) - len(b)) > bound:
        return bound + 1
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        current = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                current[j] = min(current[j], previous2[j - 2] + 1)
        previous2, previous = previous, current
    return min(previous[len(b)], bound + 1)


def build_delete_index(vocabulary: Iterable[str]) -> dict[str, tuple[str, ...]]:
    """Map every one-deletion variant to the vocabulary terms that produce it."""
    index: dict[str, list[str]] = {}
    for term in vocabulary:
        for variant in deletes(term):
            index.setdefault(variant, []).append(term)
    return {variant: tuple(sorted(terms)) for variant, terms in index.items()}
