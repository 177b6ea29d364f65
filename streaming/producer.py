"""A demo producer: plausible live events for every KafkaSource in the registry.

Generic over definitions: for each topic it samples up to a few thousand rows of the source's
offline history (when there is any) as templates, so keys are real entities and values have
real ranges, then emits them with jittered numbers and the current time. A source with no
history gets synthetic values from its schema. Keys of the messages are the join-key values.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import orjson
import pyarrow.dataset as ds

from featurebank.offline.sources import ParquetSource
from streaming.plan import StreamPlan, TopicPlan
from streaming.schema import SourceSchema

log = logging.getLogger("featurebank.stream")

TEMPLATE_ROWS = 2000


def history_templates(source: ParquetSource, schema: SourceSchema,
                      limit: int = TEMPLATE_ROWS) -> list[dict[str, Any]]:
    """Up to `limit` rows of the source's history, restricted to the schema's columns."""
    if not source.has_files():
        return []
    try:
        dataset = ds.dataset(str(source.directory), format="parquet")
        columns = [n for n in schema.names() if n in dataset.schema.names]
        rows: list[dict[str, Any]] = dataset.head(limit * 5, columns=columns).to_pylist()
    except (OSError, ValueError) as exc:
        log.warning("cannot sample history of %s: %s", source.name, exc)
        return []
    random.shuffle(rows)
    return rows[:limit]


def _synthetic(schema: SourceSchema, keys: set[str], rng: random.Random) -> dict[str, Any]:
    row: dict[str, Any] = {}
    for column in schema.columns:
        kind = column.kind
        if column.name in keys:
            number = rng.randint(1, 500)
            row[column.name] = number if kind.startswith("int") else f"{column.name}-{number}"
        elif kind.startswith("int"):
            row[column.name] = rng.randint(0, 100)
        elif kind.startswith("float"):
            row[column.name] = round(rng.uniform(0, 100), 3)
        elif kind == "bool":
            row[column.name] = rng.random() < 0.5
        elif kind in ("string", "bytes"):
            row[column.name] = f"{column.name}-{rng.randint(1, 20)}"
    return row


def _jitter(value: Any, kind: str, rng: random.Random) -> Any:
    if value is None:
        return None
    if kind.startswith("float"):
        return round(float(value) * rng.uniform(0.9, 1.1), 4)
    if kind.startswith("int") and not isinstance(value, bool):
        return max(0, int(value) + rng.randint(-1, 1)) if int(value) >= 0 else int(value)
    if kind == "bool" and rng.random() < 0.1:
        return not value
    if kind == "bytes" and isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value


class EventMaker:
    """Makes (key, value) message bytes for one topic."""

    def __init__(self, plan: TopicPlan, rng: random.Random) -> None:
        self.plan = plan
        self._rng = rng
        self._keys = sorted(plan.contract.required)
        self._templates: list[dict[str, Any]] = []
        for target in plan.offline:
            self._templates = history_templates(target, plan.schema)
            if self._templates:
                break

    def make(self, now: datetime) -> tuple[bytes, bytes]:
        schema = self.plan.schema
        if self._templates:
            template = self._rng.choice(self._templates)
            row = {c.name: template.get(c.name) if c.name in self._keys
                   else _jitter(template.get(c.name), c.kind, self._rng)
                   for c in schema.columns}
        else:
            row = _synthetic(schema, set(self._keys), self._rng)
        row[schema.timestamp_field] = now.isoformat().replace("+00:00", "Z")
        key = "|".join(str(row.get(k)) for k in self._keys).encode()
        return key, orjson.dumps(row)


def event_stream(plan: StreamPlan, seed: int | None = None) -> Iterator[tuple[str, bytes, bytes]]:
    """An endless round-robin of (topic, key, value) over the plan's topics."""
    rng = random.Random(seed)  # noqa: S311 - demo data, not security
    makers = [EventMaker(topic, rng) for topic in plan.topics.values()]
    if not makers:
        return
    while True:
        maker = rng.choice(makers)
        key, value = maker.make(datetime.now(UTC))
        yield maker.plan.topic, key, value


def run_producer(send: Callable[[str, bytes, bytes], None], plan: StreamPlan, rate: float,
                 *, limit: int | None = None, should_stop: Callable[[], bool] = lambda: False,
                 seed: int | None = None) -> int:
    """Send events at about `rate` per second until stopped (or `limit` events); returns count."""
    sent = 0
    started = time.monotonic()
    for topic, key, value in event_stream(plan, seed):
        if should_stop() or (limit is not None and sent >= limit):
            break
        send(topic, key, value)
        sent += 1
        ahead = sent / rate - (time.monotonic() - started)
        if ahead > 0:
            time.sleep(ahead)
    return sent
