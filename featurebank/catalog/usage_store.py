"""Usage totals shared through Redis, so read counts survive restarts and add up across replicas.

Each API process folds its lookup-counter deltas into a `Tally` (see `usage.UsageTracker`) and
sends them here in one MULTI/EXEC round trip, optionally reading the merged totals back in the
same transaction. Layout, per Feast project:

- `featurebank:usage:<project>:reads` — field → read count (`HINCRBY`, so replicas add up)
- `featurebank:usage:<project>:last` — field → newest read, epoch seconds (only moves forward)
- `featurebank:usage:<project>:consumers` — `<field>\\x1f<consumer>` → read count
- `featurebank:usage:<project>:consumer_last` — `<field>\\x1f<consumer>` → newest read
- `featurebank:usage:<project>:meta` — `since` → earliest tracking start (only moves back)

A field is `feature:<view>:<feature>`, `view:<name>` or `service:<name>`: the kind prefix keeps a
feature ref from colliding with a view or service name. Consumers are kept per view and per
service only (a per-feature breakdown would multiply the hash by the feature count for no page
that shows it). "Newest" values go through a small Lua compare-and-set, so a replica that
flushes late never moves a timestamp backwards.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

SEP = "\x1f"
KINDS = ("feature", "view", "service")

# ARGV[1] is 'max' or 'min'; then field/value pairs. Sets a field only when the value is newer
# (max) or older (min) than the stored one, so concurrent replicas converge on the extreme.
EXTREME_LUA = """
local op = ARGV[1]
for i = 2, #ARGV, 2 do
  local new = tonumber(ARGV[i + 1])
  local cur = tonumber(redis.call('HGET', KEYS[1], ARGV[i]))
  if cur == nil or (op == 'max' and new > cur) or (op == 'min' and new < cur) then
    redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
  end
end
return 0
"""


def usage_key(project: str, part: str) -> str:
    return f"featurebank:usage:{project}:{part}"


@dataclass
class Tally:
    """Read counts and newest-read times per field and per (field, consumer).

    The same shape holds deltas not yet sent, one process's totals, or the merged totals
    read back from Redis; `merge` adds counts and keeps the newest times.
    """

    reads: dict[str, int] = field(default_factory=dict)
    last: dict[str, float] = field(default_factory=dict)
    consumers: dict[str, int] = field(default_factory=dict)
    consumer_last: dict[str, float] = field(default_factory=dict)
    since: float | None = None

    def __bool__(self) -> bool:
        return bool(self.reads or self.consumers)

    def add(self, name: str, count: int, consumers: dict[str, int], now: float,
            *, per_consumer: bool) -> None:
        self.reads[name] = self.reads.get(name, 0) + count
        self.last[name] = max(self.last.get(name, now), now)
        if not per_consumer:
            return
        for who, n in consumers.items():
            key = f"{name}{SEP}{who}"
            self.consumers[key] = self.consumers.get(key, 0) + n
            self.consumer_last[key] = max(self.consumer_last.get(key, now), now)

    def merge(self, other: Tally) -> None:
        for name, n in other.reads.items():
            self.reads[name] = self.reads.get(name, 0) + n
        for key, n in other.consumers.items():
            self.consumers[key] = self.consumers.get(key, 0) + n
        _keep_max(self.last, other.last)
        _keep_max(self.consumer_last, other.consumer_last)
        if other.since is not None:
            self.since = other.since if self.since is None else min(self.since, other.since)

    def copy(self) -> Tally:
        return Tally(dict(self.reads), dict(self.last), dict(self.consumers),
                     dict(self.consumer_last), self.since)


def _keep_max(into: dict[str, float], other: dict[str, float]) -> None:
    for name, value in other.items():
        current = into.get(name)
        if current is None or value > current:
            into[name] = value


def _pairs(values: dict[str, float]) -> list[str]:
    return [item for name, value in values.items() for item in (name, repr(float(value)))]


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _numbers(raw: dict[Any, Any], kind: type[int] | type[float]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for name, value in raw.items():
        try:
            found[_text(name)] = kind(float(_text(value))) if kind is int else float(_text(value))
        except ValueError:  # a hand-edited value; skip it rather than fail the catalog
            continue
    return found


async def exchange(redis: Any, project: str, deltas: Tally, *, load: bool) -> Tally | None:
    """Add `deltas` to the shared totals and, when `load`, read the merged totals back.

    Everything is one MULTI/EXEC: the totals returned already include these deltas, and a
    failure applies nothing (the caller keeps the deltas for the next attempt).
    """
    reads, last = usage_key(project, "reads"), usage_key(project, "last")
    consumers, consumer_last = usage_key(project, "consumers"), usage_key(project, "consumer_last")
    meta = usage_key(project, "meta")
    async with redis.pipeline(transaction=True) as pipe:
        for name, n in deltas.reads.items():
            pipe.hincrby(reads, name, n)
        for key, n in deltas.consumers.items():
            pipe.hincrby(consumers, key, n)
        if deltas.last:
            pipe.eval(EXTREME_LUA, 1, last, "max", *_pairs(deltas.last))
        if deltas.consumer_last:
            pipe.eval(EXTREME_LUA, 1, consumer_last, "max", *_pairs(deltas.consumer_last))
        if deltas.since is not None:
            pipe.eval(EXTREME_LUA, 1, meta, "min", "since", repr(float(deltas.since)))
        if load:
            for key in (reads, last, consumers, consumer_last):
                pipe.hgetall(key)
            pipe.hget(meta, "since")
        results: list[Any] = await pipe.execute()
    if not load:
        return None
    raw_reads, raw_last, raw_consumers, raw_consumer_last, raw_since = results[-5:]
    return Tally(_numbers(raw_reads, int), _numbers(raw_last, float),
                 _numbers(raw_consumers, int), _numbers(raw_consumer_last, float),
                 float(_text(raw_since)) if raw_since is not None else None)


def split_field(name: str) -> tuple[str, str]:
    """`view:orders` → ("view", "orders"); `feature:orders:total` → ("feature", "orders:total")."""
    kind, _, rest = name.partition(":")
    return kind, rest


def split_consumer(key: str) -> tuple[str, str]:
    name, _, who = key.partition(SEP)
    return name, who

