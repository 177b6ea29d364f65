"""Hash-field names inside an entity's Redis hash."""

from __future__ import annotations

import mmh3


def feature_field(view: str, feature: str) -> bytes:
    """4-byte little-endian murmur3-32 (seed 0) of `view:feature`, as Feast's `_mmh3`."""
    return mmh3.hash(f"{view}:{feature}", signed=False).to_bytes(4, "little")


def timestamp_field(view: str) -> bytes:
    """The field holding the view's event timestamp for this entity."""
    return f"_ts:{view}".encode()
