"""Lineage diagrams: every edge runs between neighbouring columns and crosses no box."""

from __future__ import annotations

import re

import pytest

from featurebank.catalog.lineage import (
    NODE_H,
    NODE_W,
    Diagram,
    diagram,
    entity_diagram,
    service_diagram,
    view_lineage,
)
from featurebank.catalog.service import Catalog
from featurebank.catalog.usage import TrainingUse, UsageTracker
from tests.unit.catalog.shop_repo import shop_definitions

pytestmark = [
    pytest.mark.filterwarnings("ignore:Stream feature views are experimental:RuntimeWarning"),
]

PATH = re.compile(r"M(-?\d+),(-?\d+) C(-?\d+),(-?\d+) (-?\d+),(-?\d+) (-?\d+),(-?\d+)")


@pytest.fixture(scope="module")
def shop() -> Catalog:
    catalog = Catalog()
    catalog.rebuild(shop_definitions())
    return catalog


def assert_no_edge_crosses_a_box(drawing: Diagram) -> None:
    assert drawing.edges
    for edge in drawing.edges:
        match = PATH.fullmatch(edge)
        assert match is not None, edge
        x1, y1, cx1, _, cx2, _, x2, y2 = (int(v) for v in match.groups())
        assert x1 < x2, f"edge runs backwards or within a column: {edge}"
        assert x1 <= cx1 <= x2
        assert x1 <= cx2 <= x2
        for node in drawing.nodes:  # no box may lie (even partly) between the two ends
            inside = node.x < x2 and node.x + NODE_W > x1
            assert not inside, f"{edge} crosses {node.id}"
        starts = [n for n in drawing.nodes if n.x + NODE_W == x1 and n.y + NODE_H // 2 == y1]
        ends = [n for n in drawing.nodes if n.x == x2 and n.y + NODE_H // 2 == y2]
        assert starts
        assert ends


def test_a_stream_views_lineage_with_history_services_and_readers(shop: Catalog) -> None:
    records = shop.snapshot.records
    view = records.views["checkout_activity_live"]
    usage = UsageTracker()
    usage.set_training([TrainingUse("ts-1", 1.0, (f"{view.name}:carts_open_5m",))])
    lineage = view_lineage(records, view, usage)
    lineage["downstream"]["consumers"] = [
        {"name": "scorer", "reads": 3, "last_read": 1.0},
        {"name": f"checkout via {view.services[0]}", "reads": 2, "last_read": 1.0}]
    drawing = diagram(lineage, view)
    kinds = {n.kind for n in drawing.nodes}
    assert {"topic", "source", "view", "service", "training", "consumer"} <= kinds
    histories = [n for n in drawing.nodes if n.sub == "offline history"]
    assert histories  # the Kafka source's history is drawn, beside the source
    assert_no_edge_crosses_a_box(drawing)


def test_service_and_entity_lineage(shop: Catalog) -> None:
    records = shop.snapshot.records
    service = records.services["fraud_screening_v2"]
    drawing = service_diagram(records, service, [{"name": "checkout", "reads": 1}])
    assert {n.label for n in drawing.nodes} >= {*service.views, "checkout"}
    assert_no_edge_crosses_a_box(drawing)
    entity = records.entities["customer"]
    drawing = entity_diagram(records, entity)
    assert {n.label for n in drawing.nodes} >= set(entity.views)
    assert_no_edge_crosses_a_box(drawing)
