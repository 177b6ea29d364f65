"""A real sample lookup for whatever repo is applied: the curl `up` prints and the UI shows."""

from __future__ import annotations

from typing import Any

import duckdb

from featurebank.definitions import Definitions, ViewSpec
from featurebank.offline.latest import quote
from featurebank.offline.sources import offline_source


def _sample_keys(view: ViewSpec, limit: int) -> dict[str, list[Any]]:
    source = offline_source(view)
    if not source.has_files():
        return {}
    columns = ", ".join(f"{quote(source.column_for(k))} AS {quote(k)}" for k in view.join_key_names)
    ts = quote(source.timestamp_field)
    query = (f"SELECT {columns} FROM read_parquet(?, union_by_name = true) "  # noqa: S608
             f"ORDER BY {ts} DESC LIMIT {int(limit)}")
    with duckdb.connect() as connection:
        rows = connection.execute(query, [source.path]).fetchall()
    return {name: [row[i] for row in rows] for i, name in enumerate(view.join_key_names)}


def sample_request(definitions: Definitions, entities: int = 2) -> dict[str, Any] | None:
    """A lookup body for the first feature service (or view) whose keys have offline data."""
    candidates: list[tuple[dict[str, Any], list[ViewSpec]]] = []
    for name in sorted(definitions.services):
        service = definitions.services[name]
        views = [definitions.views[p.name] for p in service.feature_view_projections
                 if p.name in definitions.views]
        if views and len(views) == len(service.feature_view_projections):
            candidates.append(({"feature_service": name}, views))
    for name in sorted(definitions.views):
        view = definitions.views[name]
        if view.online and view.features:
            features = [f"{name}:{f}" for f in list(view.features)[:4]]
            candidates.append(({"features": features}, [view]))
    for body, views in candidates:
        keys: dict[str, list[Any]] = {}
        for view in views:
            if view.entityless:
                continue
            for key, values in _sample_keys(view, entities).items():
                keys.setdefault(key, values)
        needed = {k for v in views if not v.entityless for k in v.join_key_names}
        if needed and needed <= keys.keys():
            count = min(len(v) for v in keys.values())
            if count:
                return {**body, "entities": {k: keys[k][:count] for k in sorted(needed)}}
    return None
