"""Which entity rows of a lookup are logged: decided by the entity key, not by chance.

Every entity key has a fixed position in [0, 1): murmur3-32 (seed 0) of its serialized Feast
entity key (the Redis key, project included) divided by 2^32. A row is logged when that position
is below the rate, so one key is always in or always out, in every process and after restarts,
and raising the rate only adds keys. (Python's `hash()` is salted per process: unusable here.)

Hashing costs about a microsecond per key, too much for a 100-entity lookup on the hot path, so
positions are cached per raw request value; the cache is cleared when it grows past its bound.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import mmh3

from featurebank.codec.entity_key import EntityKeyCodec

_SCALE = 1.0 / 4_294_967_296.0
DEFAULT_CACHE_KEYS = 1 << 18


def key_position(serialized_key: bytes) -> float:
    """Where a serialized entity key sits in [0, 1)."""
    return mmh3.hash(serialized_key, 0, signed=False) * _SCALE


class KeySampler:
    """Positions of the entity keys of one set of join keys (in the codec's order)."""

    def __init__(self, codec: EntityKeyCodec, max_cached: int = DEFAULT_CACHE_KEYS) -> None:
        self._codec = codec
        self._cache: dict[Any, float] = {}
        self._max = max_cached
        self._keyless = key_position(codec.key(())) if not codec.join_keys else 0.0

    def rows(self, columns: Sequence[Sequence[Any]], count: int, rate: float) -> list[int]:
        """Indexes of the rows to log; `columns` hold one list per join key, codec order."""
        if rate >= 1.0:
            return list(range(count))
        if rate <= 0.0 or not count:
            return []
        if not columns:  # entity-less views: every row is the one empty key
            return list(range(count)) if self._keyless < rate else []
        cache = self._cache
        if len(columns) == 1:
            column: Sequence[Any] = columns[0]
        else:
            column = list(zip(*columns, strict=True))
        try:
            return [row for row, value in enumerate(column) if cache[value] < rate]
        except KeyError:
            self._learn(column, columns)
        except TypeError:  # an unhashable value: no caching, but the same answer
            return [row for row, key in enumerate(self._codec.keys(columns))
                    if key_position(key) < rate]
        return [row for row, value in enumerate(column) if cache[value] < rate]

    def positions(self, columns: Sequence[Sequence[Any]]) -> list[float]:
        """Every row's position (for tests and tools; the hot path uses `rows`)."""
        return [key_position(key) for key in self._codec.keys(columns)]

    def _learn(self, column: Sequence[Any], columns: Sequence[Sequence[Any]]) -> None:
        cache = self._cache
        if len(cache) + len(column) > self._max:
            cache.clear()
        missing = [row for row, value in enumerate(column) if value not in cache]
        keys = self._codec.keys([[values[row] for row in missing] for values in columns])
        for row, key in zip(missing, keys, strict=True):
            cache[column[row]] = key_position(key)
