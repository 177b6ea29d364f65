"""Who reads what: online lookup counters and training sets folded into per-object usage.

The lookup hot path only bumps two counters on its cached `LookupPlan` (`lookups` and
`consumers[key name]`), so reads cost nothing that grows with the catalog. `UsageTracker.collect`
runs off that path (when the catalog is read, and on a periodic background task): it takes the
delta of every plan's counters since the last collection, attributes it to each feature, view
and service the plan reads, and stamps "last read" with the collection time. Retired plans (the
plan cache dropped them on a registry change) are drained once and then forgotten.

`UsageTracker.sync` sends the deltas to Redis (`usage_store`) so counts survive restarts and
add up across replicas and workers; the catalog reads the merged totals, and only this
process's own counts while Redis does not answer.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from redis.exceptions import RedisError

from featurebank.catalog.usage_store import Tally, exchange, split_consumer, split_field

log = logging.getLogger("featurebank.catalog")

RETRY_S = 10.0  # after Redis failed, catalog reads wait this long before trying it again


class PlanLike(Protocol):
    id: int
    feature_refs: tuple[str, ...]
    service: str | None
    lookups: int
    consumers: dict[str, int]


class PlanSource(Protocol):
    retired: list[Any]

    def plans(self) -> list[Any]: ...


@dataclass
class Reads:
    """Reads of one object: total count, last time seen, and per-consumer detail."""

    count: int = 0
    last: float | None = None
    consumers: dict[str, int] = field(default_factory=dict)
    consumer_last: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "reads": self.count, "last_read": self.last,
            "consumers": [{"name": name, "reads": n, "last_read": self.consumer_last.get(name)}
                          for name, n in sorted(self.consumers.items())],
        }


@dataclass(frozen=True)
class TrainingUse:
    """A training set that read features: its id, when it was made, the refs it asked for and
    every view it read (an on-demand view's source views included, which its refs omit)."""

    id: str
    created: float | None
    feature_refs: tuple[str, ...]
    views: tuple[str, ...] = ()


class UsageTracker:
    """Aggregated reads per feature ref (`view:feature`), per view and per feature service.

    Three tallies: `local` (this process since it started), `pending` (deltas not yet in
    Redis) and `shared` (the merged totals last read back from Redis, or None while Redis is
    unreachable). `features`, `views` and `services` are what the catalog reads: shared plus
    whatever is pending, or the local tally when there is no shared view.
    """

    def __init__(self, interval: float = 2.0, flush_interval: float = 2.0) -> None:
        self.interval = interval
        self.flush_interval = flush_interval
        self.started = time.time()
        self.features: dict[str, Reads] = {}
        self.views: dict[str, Reads] = {}
        self.services: dict[str, Reads] = {}
        self.training: list[TrainingUse] = []
        self.local = Tally()
        self.pending = Tally(since=self.started)
        self.shared: Tally | None = None
        self._inflight = Tally()
        self._project = ""
        self._seen: dict[int, tuple[int, dict[str, int]]] = {}
        self._collected = 0.0
        self._loaded = float("-inf")
        self._load_failed = False
        self._failing = False
        self._lock = asyncio.Lock()
        self.generation = 0

    @property
    def source(self) -> str:
        """Where the read counts come from: "redis" (all replicas) or "memory" (this one)."""
        return "redis" if self.shared is not None else "memory"

    @property
    def tracking_since(self) -> float:
        since = self.shared.since if self.shared is not None else None
        return since if since is not None else self.started

    def due(self, now: float | None = None) -> bool:
        return (now if now is not None else time.monotonic()) - self._collected >= self.interval

    def load_due(self) -> bool:
        """Time to read the shared totals again; after a failure, wait `RETRY_S` at least."""
        wait = max(self.interval, RETRY_S) if self._load_failed else self.interval
        return time.monotonic() - self._loaded >= wait

    def collect(self, cache: PlanSource | None, now: float | None = None) -> bool:
        """Fold counter deltas into the totals; returns True when anything changed."""
        self._collected = time.monotonic()
        if cache is None:
            return False
        wall = now if now is not None else time.time()
        fresh = Tally()
        retired = list(cache.retired)
        for plan in [*cache.plans(), *retired]:
            self._fold(plan, wall, fresh)
        if retired:
            del cache.retired[:len(retired)]
            for plan in retired:
                self._seen.pop(plan.id, None)
        if not fresh:
            return False
        self.local.merge(fresh)
        self.pending.merge(fresh)
        self._materialize()
        return True

    def _fold(self, plan: PlanLike, now: float, into: Tally) -> None:
        lookups = plan.lookups
        consumers = dict(plan.consumers)
        before_lookups, before = self._seen.get(plan.id, (0, {}))
        delta = lookups - before_lookups
        if delta <= 0:
            return
        self._seen[plan.id] = (lookups, consumers)
        per_consumer = {k: v - before.get(k, 0) for k, v in consumers.items()
                        if v - before.get(k, 0) > 0}
        if plan.service is not None:
            per_consumer = {f"{k} via {plan.service}": v for k, v in per_consumer.items()}
            into.add(f"service:{plan.service}", delta, per_consumer, now, per_consumer=True)
        views: set[str] = set()
        for ref in plan.feature_refs:
            into.add(f"feature:{ref}", delta, per_consumer, now, per_consumer=False)
            views.add(ref.split(":", 1)[0])
        for view in views:
            into.add(f"view:{view}", delta, per_consumer, now, per_consumer=True)

    async def sync(self, redis: Any, project: str, *, load: bool) -> bool:
        """Send pending deltas to Redis (one round trip) and, when `load`, take the merged
        totals of every replica back. On failure the deltas stay pending and reads fall back
        to this process's own counts; returns whether Redis answered."""
        async with self._lock:  # the background flush and a catalog read may overlap
            return await self._sync(redis, project, load=load)

    async def _sync(self, redis: Any, project: str, *, load: bool) -> bool:
        if project != self._project:  # another registry: its totals live under other keys
            self._project, self.shared = project, None
        if not load and not self.pending:
            return True
        out, self.pending = self.pending, Tally()
        self._inflight = out
        if load:
            self._loaded = time.monotonic()
        try:
            loaded = await exchange(redis, project, out, load=load)
        except (RedisError, OSError) as exc:  # OSError covers timeouts
            # MULTI/EXEC applies all or nothing, so resend next time. (Only a reply lost after
            # EXEC ran could count these twice: rare, and better than losing reads.)
            self.pending.merge(out)
            if not self._failing:
                log.warning("usage totals unavailable from Redis (%s); using this process's "
                            "counts until it answers", type(exc).__name__)
            self.shared, self._failing = None, True
            self._load_failed = self._load_failed or load
            self._materialize()
            return False
        finally:
            self._inflight = Tally()
        if self._failing:
            log.info("usage totals reachable in Redis again")
        self._failing = False
        if loaded is not None:
            self.shared, self._load_failed = loaded, False
        elif self.shared is not None:
            self.shared.merge(out)
        self._materialize()
        return True

    def _materialize(self) -> None:
        """Rebuild the per-object `Reads` the catalog reads from the current tallies."""
        if self.shared is None:
            tally = self.local
        else:
            tally = self.shared.copy()
            tally.merge(self._inflight)
            tally.merge(self.pending)
        tables: dict[str, dict[str, Reads]] = {"feature": {}, "view": {}, "service": {}}
        for name, n in tally.reads.items():
            kind, key = split_field(name)
            if kind in tables:
                tables[kind][key] = Reads(n, tally.last.get(name))
        for ckey, n in tally.consumers.items():
            name, who = split_consumer(ckey)
            kind, key = split_field(name)
            if kind in tables:
                reads = tables[kind].setdefault(key, Reads())
                reads.consumers[who] = n
                if (last := tally.consumer_last.get(ckey)) is not None:
                    reads.consumer_last[who] = last
        self.features, self.views, self.services = (
            tables["feature"], tables["view"], tables["service"])
        self.generation += 1

    def set_training(self, uses: Iterable[TrainingUse]) -> None:
        self.training = sorted(uses, key=lambda u: (-(u.created or 0.0), u.id))
        self.generation += 1

    def add_training(self, use: TrainingUse) -> None:
        """A training set this process just accepted, shown before the next re-read of the
        records on disk (`set_training`) would find it."""
        self.set_training([*(u for u in self.training if u.id != use.id), use])

    def training_for_view(self, view: str) -> list[TrainingUse]:
        prefix = f"{view}:"
        return [u for u in self.training
                if view in u.views or any(r.startswith(prefix) for r in u.feature_refs)]

    def training_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for use in self.training:
            for ref in set(use.feature_refs):
                counts[ref] = counts.get(ref, 0) + 1
        return counts

    def last_read(self, ref: str) -> float | None:
        """Latest online read or training set that used the feature ref."""
        reads = self.features.get(ref)
        times = [reads.last] if reads is not None and reads.last is not None else []
        times += [u.created for u in self.training
                  if u.created is not None and ref in u.feature_refs]
        return max(times) if times else None


async def flush_usage(usage: UsageTracker, plans: PlanSource | None, redis: Any,
                      project: str) -> None:
    """One background collection: fold new counter deltas and send them (no read back)."""
    usage.collect(plans)
    await usage.sync(redis, project, load=False)


async def flush_usage_forever(usage: UsageTracker, plans: Callable[[], PlanSource | None],
                              redis: Any, project: Callable[[], str]) -> None:
    """Flush every `usage.flush_interval` seconds, for the app's lifetime. Lookups never wait
    on it; a failed round trip keeps the deltas for the next one."""
    while True:
        await asyncio.sleep(max(usage.flush_interval, 0.05))
        try:
            await flush_usage(usage, plans(), redis, project())
        except Exception:  # a bug here must not stop later flushes
            log.exception("usage flush failed")
