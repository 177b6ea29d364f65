"""The search index: one document per catalog object, BM25F term scores precomputed.

Built once per registry snapshot (`build_index`), so a query only sums precomputed per-term
score vectors with numpy. Each document has weighted fields: its own name (split into words),
context (the view around a feature, the features inside a view), description, tag keys and
values, and owner.
Features inherit their view's owner and tags, so filtering by team finds them too. A view's
context also names the feature services that read it, so a query for a model ("fraud") finds
the views behind its service. A boolean tag is indexed by its key only when it is true: `pii`
finds what is tagged `pii=true`, never `pii=false`.
"""

from __future__ import annotations

import bisect
import math
from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from featurebank.catalog.records import Records
from featurebank.catalog.tokenize import build_delete_index, words

OFFLINE_ONLY = "(offline only: a raw event column of its history; lookups serve its aggregations)"
FIELD_WEIGHTS = {"name": 3.0, "context": 0.7, "description": 1.0, "tags": 1.0, "owner": 0.6}
K1, B = 1.2, 0.5
KIND_ORDER = ("feature_view", "feature", "feature_service", "entity", "data_source")
KIND_ALIASES = {
    "feature_view": "feature_view", "feature-view": "feature_view", "feature-views": "feature_view",
    "view": "feature_view", "views": "feature_view", "feature_views": "feature_view",
    "feature": "feature", "features": "feature",
    "feature_service": "feature_service", "feature-service": "feature_service",
    "feature-services": "feature_service", "service": "feature_service",
    "services": "feature_service", "feature_services": "feature_service",
    "entity": "entity", "entities": "entity",
    "data_source": "data_source", "data-source": "data_source", "data-sources": "data_source",
    "source": "data_source", "sources": "data_source", "data_sources": "data_source",
}
FALSE_VALUES = frozenset(("false", "no", "off", "0", "n"))
TRUE_VALUES = frozenset(("true", "yes", "on", "1", "y"))
DETAIL_KIND = {"feature_view": "feature-views", "feature_service": "feature-services",
               "entity": "entities", "data_source": "data-sources"}


@dataclass(frozen=True)
class Doc:
    """One searchable object; `view` is the owning view of a feature (its detail page)."""

    id: int
    kind: str
    name: str
    description: str
    owner: str
    tags: dict[str, str]
    subtype: str
    view: str | None = None

    @property
    def detail_path(self) -> tuple[str, str]:
        """(kind, name) of the detail page this hit links to."""
        if self.kind == "feature" and self.view is not None:
            return "feature-views", self.view
        return DETAIL_KIND[self.kind], self.name


@dataclass
class SearchIndex:
    version: str
    docs: list[Doc]
    postings: dict[str, tuple[npt.NDArray[np.int32], npt.NDArray[np.float32]]]
    doc_terms: list[frozenset[str]]
    vocabulary: list[str]
    delete_index: dict[str, tuple[str, ...]]
    tie_rank: npt.NDArray[np.int64]
    kind_ids: dict[str, npt.NDArray[np.int32]]
    owners: list[str]
    by_key: dict[tuple[str, str], int] = field(default_factory=dict)
    entity_docs: dict[str, tuple[int, tuple[int, ...]]] = field(default_factory=dict)
    """Lower-cased entity name (and join key) → (its document, its views' documents)."""

    def __len__(self) -> int:
        return len(self.docs)

    def prefixed(self, prefix: str, limit: int = 64) -> list[str]:
        """Vocabulary terms that start with `prefix` (bounded, for query-cost predictability)."""
        start = bisect.bisect_left(self.vocabulary, prefix)
        found: list[str] = []
        for term in self.vocabulary[start:start + limit]:
            if not term.startswith(prefix):
                break
            found.append(term)
        return found


def tag_text(tags: dict[str, str]) -> str:
    """Searchable text of tags: `key value`, but a boolean tag only as its key when true."""
    parts = []
    for key, value in tags.items():
        lowered = value.strip().lower()
        if lowered in FALSE_VALUES:
            continue
        parts.append(key if lowered in TRUE_VALUES else f"{key} {value}")
    return " ".join(parts)


def tag_matches(tags: dict[str, str], tag: str) -> bool:
    """The `tag` filter: `key:value` exactly, or a bare word naming a key (not set to a false
    value) or a value."""
    key, sep, value = tag.replace("=", ":").partition(":")
    if sep:
        return tags.get(key) == value
    if tag in tags:
        return tags[tag].strip().lower() not in FALSE_VALUES
    return tag in tags.values()


def _documents(records: Records) -> list[tuple[Doc, dict[str, str]]]:
    out: list[tuple[Doc, dict[str, str]]] = []

    def add(kind: str, name: str, description: str, owner: str, tags: dict[str, str],
            subtype: str, context: str, view: str | None = None) -> None:
        doc = Doc(len(out), kind, name, description, owner, tags, subtype, view)
        text = {"name": name.split(":")[-1], "context": context, "description": description,
                "tags": tag_text(tags), "owner": owner.split("@")[0]}
        out.append((doc, text))

    for view in records.views.values():
        feature_names = " ".join(f.name for f in view.features)
        add("feature_view", view.name, view.description, view.owner, view.tags, view.type,
            f"{' '.join(view.entities)} {feature_names} {view.type} {' '.join(view.services)}")
        for feature in view.features:
            note = "" if feature.served else OFFLINE_ONLY
            add("feature", feature.ref,
                " ".join(t for t in (feature.description, feature.computed, note) if t),
                view.owner, view.tags, feature.dtype,
                f"{view.name} {' '.join(view.entities)}", view=view.name)
    for service in records.services.values():
        add("feature_service", service.name, service.description, service.owner, service.tags,
            "service", " ".join(service.views))
    for entity in records.entities.values():
        add("entity", entity.name, entity.description, entity.owner, entity.tags,
            entity.value_type, entity.join_key)
    for source in records.sources.values():
        add("data_source", source.name, source.description, source.owner, source.tags,
            source.type, " ".join(x for x in (source.topic or "", source.type) if x))
    return out


def _entity_docs(records: Records,
                 by_key: dict[tuple[str, str], int]) -> dict[str, tuple[int, tuple[int, ...]]]:
    found: dict[str, tuple[int, tuple[int, ...]]] = {}
    for entity in records.entities.values():
        doc = by_key.get(("entity", entity.name))
        if doc is None:
            continue
        views = tuple(by_key[("feature_view", v)] for v in entity.views
                      if ("feature_view", v) in by_key)
        for name in (entity.join_key, entity.name):  # the name wins a clash with a join key
            found[name.lower()] = (doc, views)
    return found


def build_index(records: Records) -> SearchIndex:
    """Tokenize every document and precompute each (term, document) BM25F score."""
    documents = _documents(records)
    n = len(documents)
    field_terms: list[dict[str, list[str]]] = []
    lengths: dict[str, float] = dict.fromkeys(FIELD_WEIGHTS, 0.0)
    for _, text in documents:
        terms = {f: words(text[f]) for f in FIELD_WEIGHTS}
        for f, ts in terms.items():
            lengths[f] += len(ts)
        field_terms.append(terms)
    average = {f: max(total / max(n, 1), 1.0) for f, total in lengths.items()}

    weighted: list[dict[str, float]] = []
    df: Counter[str] = Counter()
    for terms in field_terms:
        tf: dict[str, float] = {}
        for f, ts in terms.items():
            norm = 1.0 - B + B * len(ts) / average[f]
            for term, count in Counter(ts).items():
                tf[term] = tf.get(term, 0.0) + FIELD_WEIGHTS[f] * count / norm
        weighted.append(tf)
        df.update(tf.keys())

    lists: dict[str, tuple[list[int], list[float]]] = {}
    for doc_id, tf in enumerate(weighted):
        for term, value in tf.items():
            idf = math.log(1.0 + (n - df[term] + 0.5) / (df[term] + 0.5))
            ids, scores = lists.setdefault(term, ([], []))
            ids.append(doc_id)
            scores.append(idf * value * (K1 + 1.0) / (value + K1))
    postings = {t: (np.asarray(i, dtype=np.int32), np.asarray(s, dtype=np.float32))
                for t, (i, s) in lists.items()}

    docs = [doc for doc, _ in documents]
    order = sorted(range(n), key=lambda i: (KIND_ORDER.index(docs[i].kind), docs[i].name))
    tie_rank = np.empty(n, dtype=np.int64)
    tie_rank[np.asarray(order, dtype=np.int64)] = np.arange(n, dtype=np.int64)
    kind_ids = {k: np.asarray([d.id for d in docs if d.kind == k], dtype=np.int32)
                for k in KIND_ORDER}
    vocabulary = sorted(postings)
    by_key = {(d.kind, d.name): d.id for d in docs}
    return SearchIndex(
        version=records.version, docs=docs, postings=postings,
        doc_terms=[frozenset(tf) for tf in weighted], vocabulary=vocabulary,
        delete_index=build_delete_index(vocabulary), tie_rank=tie_rank, kind_ids=kind_ids,
        owners=[d.owner.lower() for d in docs],
        by_key=by_key, entity_docs=_entity_docs(records, by_key),
    )
