"""Executing a lookup plan: keys, one pipelined Redis round trip, statuses and values."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from featurebank.codec.columns import Values
from featurebank.codec.timestamps import decode_timestamp, format_timestamp
from featurebank.errors import MAX_NAMED, InvalidInput, LimitExceeded, close_matches, shorten
from server.lookup.odfv import compute_on_demand
from server.lookup.plan import LookupPlan
from server.lookup.wire import LookupRedis, WireRedis

EPOCH_TEXT = "1970-01-01T00:00:00Z"
PRESENT, NULL_VALUE, NOT_FOUND, OUTSIDE_MAX_AGE = (
    "PRESENT", "NULL_VALUE", "NOT_FOUND", "OUTSIDE_MAX_AGE",
)

Column = tuple[Values, list[str], list[str]]

# Serialized `_ts` bytes → (RFC 3339 text, epoch seconds); shared across requests.
_STAMPS: dict[bytes, tuple[str, float]] = {}


def validate_entities(plan: LookupPlan, entities: Any, max_entities: int) -> int:
    """Check the entity columns against the plan; returns the number of entities."""
    needed = plan.join_keys | plan.request_fields
    if not isinstance(entities, dict) or (not entities and needed):
        raise InvalidInput("'entities' must be an object of join key → list of values")
    unknown = [name for name in entities if name not in needed]
    if unknown:  # all of them at once (up to MAX_NAMED), each with its close matches
        shown = [shorten(name) for name in unknown[:MAX_NAMED]]
        close = {name: close_matches(name, needed) for name in shown}
        named = ", ".join(f"{name!r}" + (f" (did you mean: {', '.join(close[name])})"
                                         if close[name] else "") for name in shown)
        more = f" and {len(unknown) - len(shown)} more" if len(unknown) > len(shown) else ""
        raise InvalidInput(
            f"entities has {named}{more}, not a join key or request field of the requested "
            f"features (expected: {sorted(needed)})",
            detail={"join_key": shown[0], "join_keys": shown, "suggestions": close},
        )
    count = -1 if entities else 1  # entity-less views alone: one row
    for name, column in entities.items():
        if not isinstance(column, list):
            raise InvalidInput(f"entities[{name!r}] must be a list", detail={"join_key": name})
        if count == -1:
            count = len(column)
        elif len(column) != count:
            raise InvalidInput(
                f"entities[{name!r}] has {len(column)} values but other keys have {count}",
                detail={"join_key": name},
            )
    missing = sorted(needed - entities.keys())
    if missing:
        raise InvalidInput(f"entities lacks join key(s) {missing} needed by the requested features",
                           detail={"missing": missing})
    if count > max_entities:
        raise LimitExceeded(f"{count} entities in one request; the limit is {max_entities}",
                            detail={"limit": max_entities})
    return count


async def fetch(plan: LookupPlan, entities: dict[str, list[Any]], count: int,
                client: LookupRedis) -> list[list[list[bytes | None]]]:
    """HMGET replies per group per entity, all in one round trip."""
    if not count:
        return [[] for _ in plan.groups]
    keys_per_group = [
        [group.codec.key([""])] * count if group.entityless
        else group.codec.keys([entities[k] for k in group.join_keys])
        for group in plan.groups
    ]
    if isinstance(client, WireRedis):
        parts: list[bytes] = []
        for group, keys in zip(plan.groups, keys_per_group, strict=True):
            head, tail = group.resp_head, group.resp_fields
            parts.extend(b"%s$%d\r\n%s\r\n%s" % (head, len(key), key, tail) for key in keys)
        replies = await client.send_packed(b"".join(parts), len(parts))
    else:
        replies = await client.commands([
            (b"HMGET", key, *group.fields)
            for group, keys in zip(plan.groups, keys_per_group, strict=True) for key in keys
        ])
    out = []
    for position in range(len(plan.groups)):
        out.append(replies[position * count:(position + 1) * count])
    return out


def assemble(plan: LookupPlan, entities: dict[str, list[Any]], count: int,
             replies: list[list[list[bytes | None]]], now: float | None = None) -> dict[str, Any]:
    """Feast's response shape: join keys first, then features in request order."""
    now = time.time() if now is None else now
    names: list[str] = []
    results: list[dict[str, Any]] = []
    for key in entities:
        if key in plan.join_keys:
            names.append(key)
            results.append({"values": entities[key], "statuses": [PRESENT] * count,
                            "event_timestamps": [EPOCH_TEXT] * count})
    decoded = [[_decode_slot(plan, g, s, replies[g], now) for s in range(len(group.slots))]
               for g, group in enumerate(plan.groups)]
    odfv_columns = compute_on_demand(plan, entities, count, decoded) if plan.odfvs else {}
    for output in plan.outputs:
        names.append(output.name)
        if output.kind == "view":
            values, statuses, stamps = decoded[output.group][output.slot][output.feature]
        else:
            values, statuses, stamps = odfv_columns[output.name]
        results.append({"values": values, "statuses": statuses, "event_timestamps": stamps})
    return {"metadata": {"feature_names": names}, "results": results}


def _decode_slot(plan: LookupPlan, g: int, s: int, replies: Sequence[Sequence[bytes | None]],
                 now: float) -> list[Column]:
    """Columns of one view's features; values may be numpy arrays (see codec.columns)."""
    slot = plan.groups[g].slots[s]
    ttl = slot.view.ttl_seconds
    stamp_cache = _STAMPS
    if len(stamp_cache) > 65_536:  # bounded: stored times repeat (batch hours, recent events)
        stamp_cache.clear()
    stamps: list[str] = []
    # None for a live row, else the status that replaces every value of the row.
    row_status: list[str | None] = []
    dead_rows: list[int] = []
    for row, reply in enumerate(replies):
        raw_ts = reply[slot.ts_index]
        if raw_ts is None:
            stamps.append(EPOCH_TEXT)
            row_status.append(NOT_FOUND)
            dead_rows.append(row)
            continue
        cached = stamp_cache.get(raw_ts)
        if cached is None:
            seconds, nanos = decode_timestamp(raw_ts)
            cached = (format_timestamp(seconds, nanos), seconds + nanos / 1e9)
            stamp_cache[raw_ts] = cached
        stamps.append(cached[0])
        if ttl is not None and now - cached[1] > ttl:
            row_status.append(OUTSIDE_MAX_AGE)
            dead_rows.append(row)
        else:
            row_status.append(None)
    # Lists shared between columns: orjson only reads them.
    all_present = [PRESENT] * len(replies)
    live_statuses = [state or PRESENT for state in row_status] if dead_rows else all_present
    columns: list[Column] = []
    for values, nulls in slot.columns.decode(replies, slot.first):
        if dead_rows:
            values = _blank(values, dead_rows)
        if nulls:
            statuses = list(live_statuses)
            for row in nulls:
                if row_status[row] is None:
                    statuses[row] = NULL_VALUE
        else:
            statuses = live_statuses
        columns.append((values, statuses, stamps))
    return columns


def _blank(values: Values, rows: list[int]) -> Values:
    """Withhold the values of rows that are missing or past the view's TTL."""
    if isinstance(values, np.ndarray) and values.dtype.kind == "f":
        values[rows] = np.nan  # written as null
        return values
    listed = values if isinstance(values, list) else values.tolist()
    for row in rows:
        listed[row] = None
    return listed
