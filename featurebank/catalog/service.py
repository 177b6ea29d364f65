"""The catalog as the server holds it: rebuilt per registry snapshot, signals refreshed lazily.

`Catalog.rebuild` is an `AppState.on_definitions_change` listener; it swaps records, index and
searcher in one assignment, so a request always sees one consistent snapshot. Usage and
freshness signals are folded in at most every couple of seconds when the catalog is read,
never on the lookup path. Statistics and offline ranges are DuckDB scans and run in threads.

Read counts are shared through Redis (`usage_store`): `sync_usage` runs before a catalog read
(at most every couple of seconds) and `usage.flush_usage_forever` sends deltas in the
background (started by the catalog router's lifespan), so
a replica that only serves lookups still contributes and a restart loses nothing.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from featurebank.catalog.freshness import STALE_FACTOR, describe, online_watermarks
from featurebank.catalog.index import SearchIndex, build_index
from featurebank.catalog.lineage import view_lineage
from featurebank.catalog.records import KINDS, Records, build_records
from featurebank.catalog.search import Query, Searcher, Signals
from featurebank.catalog.stats import ViewStatsCache, offline_range
from featurebank.catalog.training_uses import list_training_uses
from featurebank.catalog.usage import PlanSource, UsageTracker
from featurebank.definitions import Definitions
from featurebank.errors import InvalidInput, NotFound, did_you_mean
from featurebank.settings import Settings

log = logging.getLogger("featurebank.catalog")

EMPTY_HEALTH = 0.9
SIGNAL_REFRESH_S = 10.0


@dataclass(frozen=True)
class Snapshot:
    definitions: Definitions
    records: Records
    index: SearchIndex
    searcher: Searcher
    built_seconds: float


class Catalog:
    def __init__(self, settings: Settings | None = None, plans: PlanSource | None = None,
                 usage: UsageTracker | None = None) -> None:
        self.settings = settings
        self.plans = plans
        self.usage = usage if usage is not None else UsageTracker()
        self.stats = ViewStatsCache()
        self.ranges: dict[str, dict[str, Any] | None] = {}
        self.watermarks: dict[str, datetime] = {}
        self._snapshot: Snapshot | None = None
        self._signal_key: tuple[Any, ...] = ()
        self._warming: asyncio.Task[None] | None = None
        self._warm_version = ""
        self._latest = ""
        self._signals_read = 0.0
        self._rebuilding: asyncio.Task[None] | None = None

    # --- snapshot -------------------------------------------------------------------------
    def rebuild(self, definitions: Definitions) -> None:
        """Listener for registry changes. The first build is synchronous (there is nothing
        to serve without it); later ones run in a worker thread while the old snapshot keeps
        answering, because a large registry takes seconds to index."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        if self._snapshot is None or loop is None:
            self._install(self._build(definitions))
            return
        self._latest = definitions.version
        self._rebuilding = loop.create_task(self._rebuild_in_thread(definitions))

    async def _rebuild_in_thread(self, definitions: Definitions) -> None:
        snapshot = await asyncio.to_thread(self._build, definitions)
        if snapshot.definitions.version == self._latest:  # a newer change may have overtaken it
            self._install(snapshot)

    @staticmethod
    def _build(definitions: Definitions) -> Snapshot:
        started = time.perf_counter()
        records = build_records(definitions)
        index = build_index(records)
        return Snapshot(definitions, records, index, Searcher(index),
                        time.perf_counter() - started)

    def _install(self, snapshot: Snapshot) -> None:
        self._snapshot = snapshot
        self._latest = snapshot.definitions.version
        self._signal_key = ()
        self.refresh_signals(force=True)
        log.info("catalog rebuilt: %d documents in %.3fs", len(snapshot.index),
                 snapshot.built_seconds)

    @property
    def snapshot(self) -> Snapshot:
        if self._snapshot is None:
            raise InvalidInput("the catalog has not been built yet")
        return self._snapshot

    # --- signals --------------------------------------------------------------------------
    async def sync_usage(self, redis: Any) -> None:
        """Fold new lookups, send them to Redis and take back every replica's totals — one
        round trip, at most every `usage.interval` seconds. Never raises for Redis: without
        it the catalog answers from this process's own counts."""
        if redis is None or self._snapshot is None or not self.usage.load_due():
            return
        self.usage.collect(self.plans)
        await self.usage.sync(redis, self._snapshot.definitions.project, load=True)

    def refresh_signals(self, *, force: bool = False) -> None:
        """Fold new lookups and known freshness into the ranking arrays (sparse updates)."""
        if force or self.usage.due():
            self.usage.collect(self.plans)
        key = (self.usage.generation, len(self.ranges), len(self.watermarks))
        if key == self._signal_key and not force:
            return
        self._signal_key = key
        snap = self.snapshot
        signals = Signals.neutral(len(snap.index))
        by_key = snap.index.by_key
        counts: dict[int, int] = {}

        def bump(kind: str, name: str, n: int) -> None:
            doc = by_key.get((kind, name))
            if doc is not None and n > 0:
                counts[doc] = counts.get(doc, 0) + n

        for ref, reads in self.usage.features.items():
            bump("feature", ref, reads.count)
        for view, reads in self.usage.views.items():
            bump("feature_view", view, reads.count)
        for service, reads in self.usage.services.items():
            bump("feature_service", service, reads.count)
        for ref, n in self.usage.training_counts().items():
            bump("feature", ref, n)
        for view_name in {ref.split(":", 1)[0] for ref in self.usage.training_counts()}:
            bump("feature_view", view_name, len(self.usage.training_for_view(view_name)))
        top = max(counts.values(), default=0)
        for doc, n in counts.items():
            signals.reads[doc] = n
            signals.usage[doc] = math.log1p(n) / math.log1p(top)
        self._apply_freshness(snap, signals)
        snap.searcher.signals = signals

    def _apply_freshness(self, snap: Snapshot, signals: Signals) -> None:
        now = datetime.now(UTC)
        for name, record in snap.records.views.items():
            offline = self.ranges.get(name)
            block = describe(now, self.watermarks.get(name), offline, record.ttl_seconds)
            ids = [snap.index.by_key.get(("feature_view", name))] + [
                snap.index.by_key.get(("feature", f.ref)) for f in record.features]
            for doc in (i for i in ids if i is not None):
                if block["status"] == "stale":
                    signals.freshness[doc] = STALE_FACTOR
                    signals.notes[doc] = f"stale: newest event {block['newest_event']}"
                elif name in self.ranges and offline is None and record.type != "on_demand":
                    signals.health[doc] = EMPTY_HEALTH
                    signals.notes[doc] = "no offline data found"

    async def warm(self, redis: Any = None) -> None:
        """Read offline ranges for every view (in a thread) and online watermarks, once per
        snapshot, so search can weigh freshness without any I/O of its own."""
        snap = self.snapshot
        if self._warm_version == snap.definitions.version:
            return
        self._warm_version = snap.definitions.version
        views = list(snap.definitions.views.values())

        def scan() -> dict[str, dict[str, Any] | None]:
            found: dict[str, dict[str, Any] | None] = {}
            for view in views:
                try:
                    found[view.name] = offline_range(view)
                except Exception as exc:  # one unreadable history must not hide the others
                    log.warning("offline range of %s failed: %s", view.name, type(exc).__name__)
                    found[view.name] = None
            return found

        self.ranges = await asyncio.to_thread(scan)
        if redis is not None:
            self.watermarks = await online_watermarks(redis, snap.definitions.project,
                                                      [v.name for v in views])
        self.usage.set_training(await asyncio.to_thread(list_training_uses, self.settings))
        self._signals_read = time.monotonic()
        self.refresh_signals(force=True)

    def start_warming(self, redis: Any = None) -> None:
        """Warm once per snapshot; afterwards re-read watermarks and training sets at most every
        `SIGNAL_REFRESH_S`, in the background, so search sees fresh signals without waiting."""
        if self._warming is not None and not self._warming.done():
            return
        if self._snapshot is None:
            return
        loop = asyncio.get_running_loop()
        if self._warm_version != self._snapshot.definitions.version:
            self._warming = loop.create_task(self.warm(redis))
        elif time.monotonic() - self._signals_read >= SIGNAL_REFRESH_S:
            self._warming = loop.create_task(self._reread_signals(redis))

    async def _reread_signals(self, redis: Any) -> None:
        self._signals_read = time.monotonic()
        snap = self.snapshot
        if redis is not None:
            self.watermarks = await online_watermarks(redis, snap.definitions.project,
                                                      list(snap.definitions.views))
        self.usage.set_training(await asyncio.to_thread(list_training_uses, self.settings))
        self._signal_key = ()
        self.refresh_signals()

    # --- reads ----------------------------------------------------------------------------
    def search(self, query: Query) -> dict[str, Any]:
        self.refresh_signals()
        snap = self.snapshot
        hits = snap.searcher.search(query)
        return {"query": query.text, "version": snap.definitions.version,
                "count": len(hits), "hits": hits}

    def listing(self, kind: str) -> list[dict[str, Any]]:
        table = self._table(kind)
        return [summary(kind, record, self.usage) for record in table.values()]

    def _table(self, kind: str) -> dict[str, Any]:
        if kind not in KINDS:
            raise NotFound(f"unknown catalog kind {kind!r}; use one of {', '.join(KINDS)}",
                           detail={"kind": kind})
        return self.snapshot.records.by_kind(kind)

    def record(self, kind: str, name: str) -> Any:
        table = self._table(kind)
        if name not in table:
            hint = did_you_mean(name, table)
            raise NotFound(f"no {kind[:-1].replace('-', ' ')} named {name!r}"
                           + (f"; {hint}" if hint else ""), detail={"kind": kind, "name": name})
        return table[name]

    async def view_detail(self, name: str, *, with_stats: bool = True,
                          redis: Any = None) -> dict[str, Any]:
        self.refresh_signals()
        snap = self.snapshot
        record = snap.records.views.get(name)
        if record is None:
            hint = did_you_mean(name, snap.records.views)
            raise NotFound(f"no feature view named {name!r}" + (f"; {hint}" if hint else ""),
                           detail={"name": name})
        if redis is not None:  # one HGETALL: the page shows the watermark as of now
            self.watermarks.update(await online_watermarks(redis, snap.definitions.project,
                                                           [name]))
        spec = snap.definitions.views.get(name)
        stats: dict[str, Any] | None = None
        if spec is not None:
            stats = await asyncio.to_thread(self.stats.get, spec) if with_stats else (
                self.stats.cached(name))
            if stats is not None and "rows" in stats:
                self.ranges[name] = {"rows": stats["rows"], **stats["event_time"]}
            elif name not in self.ranges:
                self.ranges[name] = await asyncio.to_thread(offline_range, spec)
        body = summary("feature-views", record, self.usage)
        body["features"] = [
            {"name": f.name, "type": f.dtype, "description": f.description, "ref": f.ref,
             **({"computed": f.computed} if f.computed else {}),
             "served": f.served,
             "last_read": self.usage.last_read(f.ref),
             "reads": (r.count if (r := self.usage.features.get(f.ref)) else 0),
             "statistics": ((stats or {}).get("features") or {}).get(f.name)}
            for f in record.features
        ]
        body["freshness"] = describe(datetime.now(UTC), self.watermarks.get(name),
                                     self.ranges.get(name), record.ttl_seconds)
        body["lineage"] = view_lineage(snap.records, record, self.usage)
        body["statistics"] = {k: v for k, v in (stats or {}).items()
                              if k not in ("features", "recent_keys")} or None
        body["sample_key"] = (stats or {}).get("sample_key") or {}
        return body

    def detail(self, kind: str, name: str) -> dict[str, Any]:
        record = self.record(kind, name)
        body = summary(kind, record, self.usage)
        if kind == "feature-services":
            reads = self.usage.services.get(name)
            body["usage"] = reads.as_dict() if reads else {"reads": 0, "consumers": []}
        return body

    def consumers(self) -> list[dict[str, Any]]:
        self.refresh_signals()
        table: dict[str, dict[str, Any]] = {}
        for view, reads in sorted(self.usage.views.items()):
            for name, n in reads.consumers.items():
                who, _, service = name.partition(" via ")
                row = table.setdefault(who, {"consumer": who, "reads": 0, "last_read": None,
                                             "views": []})
                row["reads"] += n
                last = reads.consumer_last.get(name)
                row["last_read"] = max(x for x in (row["last_read"], last) if x is not None) \
                    if last is not None else row["last_read"]
                row["views"].append({"view": view, "via": service or None, "reads": n,
                                     "last_read": last})
        return sorted(table.values(), key=lambda r: (-r["reads"], r["consumer"]))

    def unused(self, days: float) -> dict[str, Any]:
        if not 0 < days <= 3650:
            raise InvalidInput(f"days must be in (0, 3650], got {days}", detail={"days": days})
        self.refresh_signals()
        cutoff = time.time() - days * 86400
        features = []
        for view in self.snapshot.records.views.values():
            for feature in view.served:  # an offline-only column cannot be read online
                last = self.usage.last_read(feature.ref)
                if last is None or last < cutoff:
                    features.append({"feature": feature.ref, "feature_view": view.name,
                                     "owner": view.owner, "last_read": last})
        return {"days": days, "tracking_since": self.usage.tracking_since,
                "usage_source": self.usage.source, "count": len(features), "features": features}


def summary(kind: str, record: Any, usage: UsageTracker) -> dict[str, Any]:
    """A record as JSON, with its read count where reads are tracked."""
    if kind == "feature-views":
        reads = usage.views.get(record.name)
        return {
            "kind": "feature_view", "name": record.name, "type": record.type,
            "description": record.description, "owner": record.owner, "tags": record.tags,
            "entities": record.entities, "join_keys": record.join_keys,
            "ttl_seconds": record.ttl_seconds, "online": record.online,
            "sources": record.sources, "source_views": record.source_views,
            "feature_services": record.services, "on_demand_dependents": record.dependents,
            "feature_count": len(record.features),
            "features_summary": [{"name": f.name, "type": f.dtype, "served": f.served}
                                 for f in record.features],
            "offline_only": [f.name for f in record.features if not f.served],
            "reads": reads.count if reads else 0,
            "last_read": reads.last if reads else None,
        }
    body = dict(vars(record))
    body["kind"] = {"entities": "entity", "feature-services": "feature_service",
                    "data-sources": "data_source"}[kind]
    if kind == "feature-services":
        body["feature_refs"] = record.feature_refs
    return body
