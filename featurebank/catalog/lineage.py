"""Lineage of a feature view, and its layout as a left-to-right diagram.

Upstream: the topic or file behind each data source, the sources, and (for an on-demand view)
the views it reads. Downstream: feature services and on-demand views that read it, training
sets built from it, and consumers seen in online lookups. The diagram is laid out here, in
plain numbers, so the template only draws boxes and paths: no JavaScript, no layout engine.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from featurebank.catalog.records import Records, ViewRecord
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


def diagram(lineage: dict[str, Any], view: ViewRecord) -> Diagram:
    """Columns: topics/files → sources/input views → the view → services → consumers."""
    nodes: dict[str, Node] = {}
    links: list[tuple[str, str]] = []

    def node(key: str, label: str, sub: str, kind: str, column: int,
             href: str | None = None) -> str:
        if key not in nodes and sum(n.column == column for n in nodes.values()) < MAX_PER_COLUMN:
            nodes[key] = Node(key, label, sub, kind, column, href)
        return key

    center = node("view", view.name, f"{view.type} feature view", "view", 2)
    histories = {i["batch_source"] for i in lineage["upstream"] if i.get("batch_source")}
    for item in lineage["upstream"]:
        if item["kind"] == "feature_view":
            links.append((node(f"fv:{item['name']}", item["name"], "feature view", "view", 1,
                               f"/ui/feature-views/{item['name']}"), center))
            continue
        sub = "offline history" if item["name"] in histories else f"{item['type']} source"
        src = node(f"src:{item['name']}", item["name"], sub, "source", 1,
                   f"/ui/data-sources/{item['name']}")
        if item["name"] not in histories:
            links.append((src, center))
        if item.get("topic"):
            links.append((node(f"topic:{item['topic']}", item["topic"], "Kafka topic", "topic", 0),
                           src))
        if item.get("batch_source"):
            links.append((src, f"src:{item['batch_source']}"))
        if item.get("path"):
            tail = "/".join(item["path"].rsplit("/", 2)[-2:])
            links.append((node(f"path:{item['path']}", tail, "Parquet", "file", 0), src))
    down = lineage["downstream"]
    for name in down["feature_services"]:
        links.append((center, node(f"fs:{name}", name, "feature service", "service", 3,
                                   f"/ui/feature-services/{name}")))
    for name in down["on_demand_views"]:
        links.append((center, node(f"fv:{name}", name, "on-demand view", "view", 3,
                                   f"/ui/feature-views/{name}")))
    for use in down["training_sets"]:
        links.append((center, node(f"ts:{use['id']}", str(use["id"])[:18], "training set",
                                   "training", 4)))
    for consumer in down["consumers"]:
        name = consumer["name"]
        via = name.split(" via ", 1)
        start = f"fs:{via[1]}" if len(via) == 2 and f"fs:{via[1]}" in nodes else center
        links.append((start, node(f"c:{name}", via[0], f"{consumer['reads']} reads", "consumer",
                                  4)))
    ordered = list(nodes.values())
    width, height = _place(ordered)
    edges = [_edge(nodes[a], nodes[b]) for a, b in dict.fromkeys(links)
             if a in nodes and b in nodes and a != b]
    return Diagram(width, height, ordered, edges)
