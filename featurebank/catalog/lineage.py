"""Lineage of a feature view, and its layout as a left-to-right diagram.

Upstream: the topic or file behind each data source, the sources, and (for an on-demand view)
the views it reads. Downstream: feature services and on-demand views that read it, training
sets built from it, and consumers seen in online lookups. The diagram is laid out here, in
plain numbers, so the template only draws boxes and paths: no JavaScript, no layout engine.

Every edge joins two neighbouring columns (right side of one box to left side of the next), so
a path only runs through the gap between columns and never crosses a box: a Kafka source's
offline history sits beside it and feeds the view directly, and consumers that read the view
without a service sit in the services' column.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from featurebank.catalog.records import (
    EntityRecord,
    Records,
    ServiceRecord,
    SourceRecord,
    ViewRecord,
)
from featurebank.catalog.usage import UsageTracker

NODE_W, NODE_H, COL_GAP, ROW_GAP, PAD = 176, 40, 44, 14, 8
MAX_PER_COLUMN = 12


@dataclass
class Node:
    id: str
    label: str
    sub: str
    kind: str
    column: int
    href: str | None = None
    x: int = 0
    y: int = 0


@dataclass
class Diagram:
    width: int
    height: int
    nodes: list[Node]
    edges: list[str] = field(default_factory=list)
    """SVG path data, one per edge."""


def view_lineage(records: Records, view: ViewRecord, usage: UsageTracker) -> dict[str, Any]:
    """Upstream and downstream of `view` as JSON."""
    upstream: dict[str, dict[str, Any]] = {}  # by name: a stream view's batch source is also
    for name in view.sources:                 # its Kafka source's history; list it once
        source = records.sources[name]
        upstream.setdefault(name, {"kind": "data_source", "name": name, "type": source.type,
                                   "topic": source.topic, "path": source.path,
                                   "batch_source": source.batch_source})
        if source.batch_source and source.batch_source in records.sources:
            history = records.sources[source.batch_source]
            upstream.setdefault(history.name, {
                "kind": "data_source", "name": history.name, "type": history.type,
                "topic": None, "path": history.path, "batch_source": history.batch_source})
    views = [{"kind": "feature_view", "name": v, "type": records.views[v].type}
             for v in view.source_views if v in records.views]
    reads = usage.views.get(view.name)
    return {
        "upstream": [*upstream.values(), *views],
        "downstream": {
            "feature_services": list(view.services),
            "on_demand_views": list(view.dependents),
            "training_sets": [{"id": t.id, "created": t.created}
                              for t in usage.training_for_view(view.name)],
            "consumers": reads.as_dict()["consumers"] if reads is not None else [],
        },
    }


def _place(nodes: list[Node]) -> tuple[int, int]:
    rows: dict[int, int] = {}
    for node in nodes:
        row = rows.get(node.column, 0)
        rows[node.column] = row + 1
        node.x = PAD + node.column * (NODE_W + COL_GAP)
        node.y = PAD + row * (NODE_H + ROW_GAP)
    columns = max(rows) + 1 if rows else 1
    height = PAD * 2 + max(rows.values(), default=1) * (NODE_H + ROW_GAP) - ROW_GAP
    return PAD * 2 + columns * (NODE_W + COL_GAP) - COL_GAP, height


def _edge(a: Node, b: Node) -> str:
    x1, y1 = a.x + NODE_W, a.y + NODE_H // 2
    x2, y2 = b.x, b.y + NODE_H // 2
    mid = (x1 + x2) // 2
    return f"M{x1},{y1} C{mid},{y1} {mid},{y2} {x2},{y2}"


class _Builder:
    """Nodes by column (at most `MAX_PER_COLUMN` each) and links between them."""

    def __init__(self) -> None:
        self.nodes: dict[str, Node] = {}
        self.links: list[tuple[str, str]] = []

    def node(self, key: str, label: str, sub: str, kind: str, column: int,
             href: str | None = None) -> str:
        if key not in self.nodes and sum(
                n.column == column for n in self.nodes.values()) < MAX_PER_COLUMN:
            self.nodes[key] = Node(key, label, sub, kind, column, href)
        return key

    def link(self, a: str, b: str) -> None:
        self.links.append((a, b))

    def build(self) -> Diagram:
        ordered = list(self.nodes.values())
        width, height = _place(ordered)
        nodes = self.nodes
        edges = [_edge(nodes[a], nodes[b]) for a, b in dict.fromkeys(self.links)
                 if a in nodes and b in nodes and nodes[b].column == nodes[a].column + 1]
        return Diagram(width, height, ordered, edges)


def _consumers(graph: _Builder, consumers: list[dict[str, Any]], start: str, column: int) -> None:
    """Consumers read through a service hang off that service, the others off `start`."""
    for consumer in consumers:
        name = consumer["name"]
        via = name.split(" via ", 1)
        service = f"fs:{via[1]}" if len(via) == 2 else None
        label = f"{consumer['reads']} reads"
        if service is not None and service in graph.nodes:
            column_of = graph.nodes[service].column + 1
            graph.link(service, graph.node(f"c:{name}", via[0], label, "consumer", column_of))
        else:
            graph.link(start, graph.node(f"c:{name}", via[0], label, "consumer", column))


def diagram(lineage: dict[str, Any], view: ViewRecord) -> Diagram:
    """Columns: topics/files → sources/input views → the view → services, training sets,
    direct consumers → consumers through a service."""
    graph = _Builder()
    center = graph.node("view", view.name, f"{view.type} feature view", "view", 2)
    histories = {i["batch_source"] for i in lineage["upstream"] if i.get("batch_source")}
    for item in lineage["upstream"]:
        if item["kind"] == "feature_view":
            graph.link(graph.node(f"fv:{item['name']}", item["name"], "feature view", "view", 1,
                                  f"/ui/feature-views/{item['name']}"), center)
            continue
        sub = "offline history" if item["name"] in histories else f"{item['type']} source"
        src = graph.node(f"src:{item['name']}", item["name"], sub, "source", 1,
                         f"/ui/data-sources/{item['name']}")
        graph.link(src, center)
        if item.get("topic"):
            graph.link(graph.node(f"topic:{item['topic']}", item["topic"], "Kafka topic",
                                  "topic", 0), src)
        if item.get("path"):
            tail = "/".join(item["path"].rsplit("/", 2)[-2:])
            graph.link(graph.node(f"path:{item['path']}", tail, "Parquet", "file", 0), src)
    down = lineage["downstream"]
    for name in down["feature_services"]:
        graph.link(center, graph.node(f"fs:{name}", name, "feature service", "service", 3,
                                      f"/ui/feature-services/{name}"))
    for name in down["on_demand_views"]:
        graph.link(center, graph.node(f"fv:{name}", name, "on-demand view", "view", 3,
                                      f"/ui/feature-views/{name}"))
    for use in down["training_sets"]:
        graph.link(center, graph.node(f"ts:{use['id']}", str(use["id"])[:18], "training set",
                                      "training", 3))
    _consumers(graph, down["consumers"], center, 3)
    return graph.build()


def service_diagram(records: Records, service: ServiceRecord,
                    consumers: list[dict[str, Any]]) -> Diagram:
    """Columns: sources → the views it reads → the service → its consumers."""
    graph = _Builder()
    center = graph.node("service", service.name, "feature service", "service", 2)
    for name in service.views:
        view = records.views.get(name)
        sub = f"{view.type} feature view" if view is not None else "feature view"
        node = graph.node(f"fv:{name}", name, sub, "view", 1, f"/ui/feature-views/{name}")
        graph.link(node, center)
        for source in view.sources if view is not None else []:
            graph.link(graph.node(f"src:{source}", source, "data source", "source", 0,
                                  f"/ui/data-sources/{source}"), node)
        for upstream in view.source_views if view is not None else []:
            graph.link(graph.node(f"up:{upstream}", upstream, "feature view", "view", 0,
                                  f"/ui/feature-views/{upstream}"), node)
    for consumer in consumers:
        graph.link(center, graph.node(f"c:{consumer['name']}", consumer["name"],
                                      f"{consumer['reads']} reads", "consumer", 3))
    return graph.build()


def entity_diagram(records: Records, entity: EntityRecord) -> Diagram:
    """Columns: the entity → the views keyed by it → the services reading those views."""
    graph = _Builder()
    center = graph.node("entity", entity.name, f"entity · {entity.join_key}", "entity", 0)
    for name in entity.views:
        _view_and_services(graph, records, center, name, 1)
    return graph.build()


def _view_and_services(graph: _Builder, records: Records, center: str, name: str,
                       column: int) -> str:
    """A view in `column`, fed by `center`, and the services reading it one column right."""
    view = records.views[name]
    node = graph.node(f"fv:{name}", name, f"{view.type} feature view", "view", column,
                      f"/ui/feature-views/{name}")
    graph.link(center, node)
    for service in view.services:
        graph.link(node, graph.node(f"fs:{service}", service, "feature service", "service",
                                    column + 1, f"/ui/feature-services/{service}"))
    return node


def source_diagram(records: Records, source: SourceRecord,
                   training: dict[str, list[dict[str, Any]]]) -> Diagram:
    """Columns: its topic or files, and the sources whose history it holds → the source → the
    views reading it → their services and training sets (`training`: view → uses)."""
    graph = _Builder()
    center = graph.node("source", source.name, f"{source.type} source", "source", 1)
    if source.topic:
        graph.link(graph.node(f"topic:{source.topic}", source.topic, "Kafka topic", "topic", 0),
                   center)
    if source.path:
        tail = "/".join(source.path.rsplit("/", 2)[-2:])
        graph.link(graph.node(f"path:{source.path}", tail, "Parquet", "file", 0), center)
    for other in records.sources.values():
        if other.batch_source == source.name:
            graph.link(graph.node(f"src:{other.name}", other.name, f"{other.type} source",
                                  "source", 0, f"/ui/data-sources/{other.name}"), center)
    for name in source.views:
        node = _view_and_services(graph, records, center, name, 2)
        for use in training.get(name, []):
            graph.link(node, graph.node(f"ts:{use['id']}", str(use["id"])[:18], "training set",
                                        "training", 3))
    return graph.build()
