"""Which entity rows of a lookup are logged: decided by the entity key, not by chance.

Every entity key has a fixed position in [0, 1); a row is logged when that position is below
the rate, so one key is always in or always out, in every process and after restarts, and
raising the rate only adds keys. (Python's `hash()` is salted per process: unusable here.)

- One integer join key (the common case): splitmix64 of the value (as two's-complement 64 bits)
  xor a seed, the murmur3-64 of `<join key>:<project>`; the top 53 bits over 2^53. Computed for
  a whole column at once with numpy: a per-key dict cache was tried first, and its random
  accesses missed the CPU caches so often that sampling alone cost ~4% of a 100-entity lookup.
- Any other key (strings, several join keys): murmur3-32 (seed 0) of the serialized Feast entity
  key (the Redis key: serialization v3, then the project) over 2^32, cached per value.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import mmh3
import numpy as np

from featurebank.codec.entity_key import EntityKeyCodec

_SCALE = 1.0 / 4_294_967_296.0
DEFAULT_CACHE_KEYS = 1 << 18
_MASK = (1 << 64) - 1
_GOLDEN, _MIX1, _MIX2 = 0x9E3779B97F4A7C15, 0xBF58476D1CE4E5B9, 0x94D049BB133111EB
_SCALE53 = 1.0 / (1 << 53)
_NUMPY_FROM = 16  # below this many keys, numpy's per-call cost exceeds the Python loop


def key_position(serialized_key: bytes) -> float:
    """Where a serialized entity key sits in [0, 1)."""
    return mmh3.hash(serialized_key, 0, signed=False) * _SCALE


def integer_seed(join_key: str, project: str) -> int:
    return mmh3.hash64(f"{join_key}:{project}", 0, signed=False)[0]


def integer_position(value: int, seed: int) -> float:
    """Where an integer entity key sits in [0, 1) (splitmix64; see the module docstring)."""
    x = (((value & _MASK) ^ seed) + _GOLDEN) & _MASK
    x = ((x ^ (x >> 30)) * _MIX1) & _MASK
    x = ((x ^ (x >> 27)) * _MIX2) & _MASK
    return ((x ^ (x >> 31)) >> 11) * _SCALE53


def _integer_positions(values: np.ndarray[Any, Any], seed: int) -> np.ndarray[Any, Any]:
    """`integer_position` for a whole int64 column (uint64 arithmetic wraps like the mask)."""
    x = (values.view(np.uint64) ^ np.uint64(seed)) + np.uint64(_GOLDEN)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(_MIX1)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(_MIX2)
    x = (x ^ (x >> np.uint64(31))) >> np.uint64(11)
    positions: np.ndarray[Any, Any] = x * _SCALE53
    return positions


class KeySampler:
    """Positions of the entity keys of one set of join keys (in the codec's order)."""

    def __init__(self, codec: EntityKeyCodec, max_cached: int = DEFAULT_CACHE_KEYS, *,
                 integer_seed: int | None = None) -> None:
        """`integer_seed` for a single integer join key (see `integer_seed`)."""
        self._seed = integer_seed
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
        if self._seed is not None:
            return self._integer_rows(columns[0], rate)
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

    def _integer_rows(self, column: Sequence[Any], rate: float) -> list[int]:
        seed = self._seed
        assert seed is not None
        if len(column) < _NUMPY_FROM:
            return [row for row, value in enumerate(column)
                    if integer_position(int(value), seed) < rate]
        try:
            values = np.fromiter(column, dtype=np.int64, count=len(column))
        except (TypeError, ValueError, OverflowError):  # "42" or 42.0: the lookup accepted them
            values = np.array([int(value) for value in column], dtype=np.int64)
        rows: list[int] = np.flatnonzero(_integer_positions(values, seed) < rate).tolist()
        return rows

    def positions(self, columns: Sequence[Sequence[Any]]) -> list[float]:
        """Every row's position (for tests and tools; the hot path uses `rows`)."""
        if self._seed is not None:
            return [integer_position(int(value), self._seed) for value in columns[0]]
        return [key_position(key) for key in self._codec.keys(columns)]

    def _learn(self, column: Sequence[Any], columns: Sequence[Sequence[Any]]) -> None:
        cache = self._cache
        if len(cache) + len(column) > self._max:
            cache.clear()
        missing = [row for row, value in enumerate(column) if value not in cache]
        keys = self._codec.keys([[values[row] for row in missing] for values in columns])
        for row, key in zip(missing, keys, strict=True):
            cache[column[row]] = key_position(key)
