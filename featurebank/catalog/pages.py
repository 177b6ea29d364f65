"""What a feature-service or entity page shows, and the entity row behind every page's snippets.

A service or an entity is a group of views, so its page is built from theirs: each view's
freshness, the lineage around the group, and snippets over its features whose entity row comes
from the views' offline history (`snippets.combine`). Statistics scans run in worker threads and
are cached per view (`ViewStatsCache`), so a page costs a scan only when files changed.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from featurebank.catalog.freshness import describe
from featurebank.catalog.lineage import Diagram, entity_diagram, service_diagram
from featurebank.catalog.records import Records
from featurebank.catalog.service import Catalog, summary
from featurebank.catalog.snippets import Sample, combine, fill
from featurebank.errors import NotFound


async def _stats(catalog: Catalog, name: str) -> dict[str, Any]:
    spec = catalog.snapshot.definitions.views.get(name)
    if spec is None:
        return {}
    stats = await asyncio.to_thread(catalog.stats.get, spec)
    if "rows" in stats:
        catalog.ranges[name] = {"rows": stats["rows"], **stats["event_time"]}
    return stats


def _inputs(records: Records, views: list[str]) -> tuple[list[str], dict[str, str]]:
    """Views with history to sample and the entity-row columns (name → type) the group needs:
    join keys, plus request fields and input views' keys for on-demand views."""
    sampled: list[str] = []
    columns: dict[str, str] = {}
    for name in views:
        record = records.views.get(name)
        if record is None:
            continue
        if record.type == "on_demand":
            sampled.extend(record.source_views)
            for upstream in record.source_views:
                if upstream in records.views:
                    columns.update((k["name"], k["type"])
                                   for k in records.views[upstream].join_keys)
            for source in record.sources:
                columns.update((f["name"], f["type"]) for f in records.sources[source].schema)
        else:
            sampled.append(name)
            columns.update((k["name"], k["type"]) for k in record.join_keys)
    return list(dict.fromkeys(sampled)), columns


async def entity_row(catalog: Catalog, views: list[str]) -> tuple[dict[str, list[Any]], Sample]:
    """One entity row for a lookup or training set over `views`, from their history."""
    records = catalog.snapshot.records
    sampled, columns = _inputs(records, views)
    histories = [(name, (await _stats(catalog, name)).get("recent_keys") or [],
                  records.views[name].ttl_seconds) for name in sampled if name in records.views]
    sample = combine(histories, datetime.now(UTC).timestamp())
    return fill(sample, columns), sample


def _freshness(catalog: Catalog, name: str) -> dict[str, Any]:
    record = catalog.snapshot.records.views[name]
    block = describe(datetime.now(UTC), catalog.watermarks.get(name), catalog.ranges.get(name),
                     record.ttl_seconds)
    return {"name": name, "type": record.type, "owner": record.owner,
            "entities": record.entities, "freshness": block,
            "on_demand": record.type == "on_demand"}


def served_refs(records: Records, service: str) -> list[str] | None:
    """The service's features a lookup can return, or None when that is all of them (then a
    lookup can name the service itself)."""
    refs = records.services[service].feature_refs
    offline = {f.ref for v in records.views.values() for f in v.features if not f.served}
    return None if offline.isdisjoint(refs) else [r for r in refs if r not in offline]


async def service_page(catalog: Catalog, name: str) -> tuple[dict[str, Any], Diagram]:
    """A feature service with its views' freshness, types and lineage."""
    body = catalog.detail("feature-services", name)
    records = catalog.snapshot.records
    service = records.services[name]
    views = []
    for view_name, features in service.views.items():
        record = records.views.get(view_name)
        if record is None:
            continue
        if record.type != "on_demand":
            await _stats(catalog, view_name)
        types = {f.name: f.dtype for f in record.features}
        served = {f.name for f in record.served}
        views.append({**_freshness(catalog, view_name),
                      "features": [{"name": f, "type": types.get(f, ""), "served": f in served}
                                   for f in features]})
    body["view_details"] = views
    return body, service_diagram(records, service, body["usage"]["consumers"])


async def entity_page(catalog: Catalog, name: str) -> tuple[dict[str, Any], Diagram, list[str]]:
    """An entity with the views keyed by it (their freshness), its lineage, and the features a
    lookup by this key alone can return (online views keyed by it and nothing else, those
    with history when any has some; an aggregating view's raw columns are offline only)."""
    records = catalog.snapshot.records
    entity = records.entities.get(name)
    if entity is None:
        raise NotFound(f"no entity named {name!r}", detail={"kind": "entities", "name": name})
    body = summary("entities", entity, catalog.usage)
    views = []
    with_history = set()
    for view_name in entity.views:
        if (await _stats(catalog, view_name)).get("recent_keys"):
            with_history.add(view_name)
        record = records.views[view_name]
        views.append({**_freshness(catalog, view_name), "features": len(record.features),
                      "services": record.services})
    body["view_details"] = views
    own = [v for v in entity.views if [k["name"] for k in records.views[v].join_keys]
           == [entity.join_key] and records.views[v].online]
    # views with history first-class: one without any would only add nulls to the example
    own = [v for v in own if v in with_history] or own
    refs = [f.ref for v in own for f in records.views[v].served]
    return body, entity_diagram(records, entity), refs
