"""Ranking: BM25F text relevance, widened to prefixes and typos, times usage and freshness.

    score = text * coverage * (1 + USAGE_WEIGHT * usage) * freshness * health

`text` sums, per query term, the best precomputed score among the term's expansions (the exact
term, vocabulary terms it prefixes, terms one edit away), each discounted by how loose the match
is. `coverage` is the share of query terms matched, so a document matching every word beats one
matching a single rare word. `usage` is log-scaled reads in [0, 1]; `freshness` and `health`
are small penalties for stale or empty views. Every factor is returned in the hit's `why`, and
ties fall back to kind then name so results never depend on dict order.

A query that is exactly an entity's name (or join key) asks for that entity: it comes first,
then the views keyed by it (by score), then everything else; `why.pinned` says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any
from urllib.parse import quote

import numpy as np
import numpy.typing as npt

from featurebank.catalog.index import KIND_ALIASES, SearchIndex, tag_matches
from featurebank.catalog.tokenize import damerau, deletes, query_terms
from featurebank.errors import InvalidInput

USAGE_WEIGHT = 0.5
PREFIX_WEIGHT, TYPO1_WEIGHT, TYPO2_WEIGHT = 0.8, 0.7, 0.45
MAX_LIMIT = 200
MAX_QUERY_CHARS = 200


@dataclass
class Signals:
    """Per-document ranking inputs refreshed off the request path (usage, freshness, health)."""

    usage: npt.NDArray[np.float32]
    reads: npt.NDArray[np.int64]
    freshness: npt.NDArray[np.float32]
    health: npt.NDArray[np.float32]
    notes: dict[int, str] = field(default_factory=dict)

    @classmethod
    def neutral(cls, size: int) -> Signals:
        return cls(np.zeros(size, np.float32), np.zeros(size, np.int64),
                   np.ones(size, np.float32), np.ones(size, np.float32))


@dataclass(frozen=True)
class Query:
    text: str = ""
    kind: str | None = None
    owner: str | None = None
    tag: str | None = None
    limit: int = 20

    def validated(self) -> Query:
        if len(self.text) > MAX_QUERY_CHARS:
            raise InvalidInput(f"q is {len(self.text)} characters; the limit is {MAX_QUERY_CHARS}")
        if not 1 <= self.limit <= MAX_LIMIT:
            raise InvalidInput(f"limit must be between 1 and {MAX_LIMIT}, got {self.limit}")
        kind = None
        if self.kind:
            kind = KIND_ALIASES.get(self.kind.strip().lower())
            if kind is None:
                raise InvalidInput(
                    f"unknown kind {self.kind!r}; use one of feature_view, feature, "
                    "feature_service, entity, data_source", detail={"kind": self.kind})
        return Query(self.text, kind, (self.owner or "").strip().lower() or None,
                     (self.tag or "").strip() or None, self.limit)


@dataclass(frozen=True)
class Expansion:
    term: str
    weight: float
    how: str


def expand(index: SearchIndex, term: str) -> tuple[Expansion, ...]:
    """Vocabulary terms a query term stands for, each with a looseness weight."""
    found: dict[str, Expansion] = {}
    if term in index.postings:
        found[term] = Expansion(term, 1.0, "exact")
    if len(term) >= 2:
        for candidate in index.prefixed(term):
            found.setdefault(candidate, Expansion(candidate, PREFIX_WEIGHT, "prefix"))
    if len(term) >= 4:
        candidates = {c for v in deletes(term) for c in index.delete_index.get(v, ())}
        for candidate in sorted(candidates):
            if candidate in found:
                continue
            distance = damerau(term, candidate)
            if distance == 1:
                found[candidate] = Expansion(candidate, TYPO1_WEIGHT, "typo")
            elif distance == 2 and len(term) >= 7:
                found[candidate] = Expansion(candidate, TYPO2_WEIGHT, "typo")
    return tuple(found.values())


class Searcher:
    """Answers queries over one index; expansions and filter masks are memoized per index."""

    def __init__(self, index: SearchIndex) -> None:
        self.index = index
        self.signals = Signals.neutral(len(index))
        self._expand = lru_cache(maxsize=4096)(lambda term: expand(index, term))
        self._mask = lru_cache(maxsize=256)(self._build_mask)

    def _build_mask(self, kind: str | None, owner: str | None,
                    tag: str | None) -> npt.NDArray[np.bool_] | None:
        if kind is None and owner is None and tag is None:
            return None
        docs = self.index.docs
        mask = np.ones(len(docs), dtype=np.bool_)
        if kind is not None:
            mask[:] = False
            mask[self.index.kind_ids[kind]] = True
        if owner is not None:
            mask &= np.asarray([owner in o for o in self.index.owners], dtype=np.bool_)
        if tag is not None:
            mask &= np.asarray([tag_matches(d.tags, tag) for d in docs], dtype=np.bool_)
        return mask

    def search(self, query: Query) -> list[dict[str, Any]]:
        query = query.validated()
        n = len(self.index)
        terms = query_terms(query.text)
        signals = self.signals
        if terms:
            text = np.zeros(n, np.float32)
            matched = np.zeros(n, np.float32)
            for term in terms:
                best = np.zeros(n, np.float32)
                for exp in self._expand(term):
                    ids, scores = self.index.postings[exp.term]
                    best[ids] = np.maximum(best[ids], scores * np.float32(exp.weight))
                text += best
                matched += best > 0
            coverage = matched / np.float32(len(terms))
            score = text * coverage * (1 + USAGE_WEIGHT * signals.usage)
            score *= signals.freshness * signals.health
        else:
            text = coverage = np.zeros(n, np.float32)
            score = (signals.usage + np.float32(1e-3)) * signals.freshness * signals.health
            if query.kind is None and query.owner is None and query.tag is None:
                score = np.where(signals.reads > 0, score, 0).astype(np.float32)
        tier = self._pinned(query.text, score)
        mask = self._mask(query.kind, query.owner, query.tag)
        if mask is not None:
            score = np.where(mask, score, 0).astype(np.float32)
        candidates = np.flatnonzero(score > 0)
        if candidates.size > query.limit:
            ranked = score[candidates] + tier[candidates] * (score.max() + 1)
            kth = np.partition(ranked, -query.limit)[-query.limit]
            candidates = candidates[ranked >= kth]
        rounded = np.round(score[candidates].astype(np.float64), 6)
        order = candidates[np.lexsort((self.index.tie_rank[candidates], -rounded,
                                       -tier[candidates]))]
        return [self._hit(int(i), terms, float(score[i]), float(text[i]), float(coverage[i]),
                          int(tier[i]))
                for i in order[:query.limit]]

    def _pinned(self, text: str, score: npt.NDArray[np.float32]) -> npt.NDArray[np.int8]:
        """Rank tiers: 2 for the entity a query names exactly, 1 for its views, else 0.
        Pinned documents get a score even if their text did not match (a view keyed by the
        entity need not mention it)."""
        tier = np.zeros(len(score), np.int8)
        found = self.index.entity_docs.get(text.strip().lower())
        if found is None:
            return tier
        entity, views = found
        for doc in (entity, *views):
            score[doc] = max(float(score[doc]), 1e-3)
        tier[list(views)] = 1
        tier[entity] = 2
        return tier

    def _hit(self, doc_id: int, terms: list[str], score: float, text: float,
             coverage: float, tier: int = 0) -> dict[str, Any]:
        doc = self.index.docs[doc_id]
        owned = self.index.doc_terms[doc_id]
        matched: dict[str, str] = {}
        for term in terms:
            options = [e for e in self._expand(term) if e.term in owned]
            if options:
                best = max(options, key=lambda e: e.weight)
                matched[term] = best.term if best.how == "exact" else f"{best.term} ({best.how})"
        signals = self.signals
        why: dict[str, Any] = {
            "text": round(text, 4), "coverage": round(coverage, 3), "matched": matched,
            "usage": {"reads": int(signals.reads[doc_id]),
                      "boost": round(1 + USAGE_WEIGHT * float(signals.usage[doc_id]), 4)},
            "freshness": round(float(signals.freshness[doc_id]), 3),
            "health": round(float(signals.health[doc_id]), 3),
        }
        if doc_id in signals.notes:
            why["note"] = signals.notes[doc_id]
        if tier:
            why["pinned"] = ("the entity named by the query" if tier == 2
                             else "a view keyed by the entity named by the query")
        kind, name = doc.detail_path
        hit: dict[str, Any] = {
            "kind": doc.kind, "name": doc.name, "score": round(score, 6),
            "description": doc.description, "owner": doc.owner, "tags": doc.tags,
            "type": doc.subtype, "detail": f"/catalog/{kind}/{quote(name)}",
            "page": f"/ui/{kind}/{quote(name)}", "why": why,
        }
        if doc.view is not None:
            hit["feature_view"] = doc.view
        return hit
