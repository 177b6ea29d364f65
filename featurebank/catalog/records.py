"""Catalog records: every Feast definition flattened into plain, JSON-ready descriptions.

Records are computed once per registry snapshot. They hold what the catalog shows and links:
owner, description, tags, types, TTL, sources and entities, plus the reverse edges (which views
read a source, which services and on-demand views read a view) that Feast only stores one way.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from feast import FeatureService, FileSource, KafkaSource, OnDemandFeatureView, PushSource
from feast.data_source import DataSource, RequestSource
from feast.entity import Entity
from feast.feature_view import DUMMY_ENTITY_ID, DUMMY_ENTITY_NAME
from feast.stream_feature_view import StreamFeatureView

from featurebank.aggregations import aggregations_of
from featurebank.definitions import Definitions, ViewSpec

KINDS = ("entities", "feature-views", "feature-services", "data-sources")


@dataclass(frozen=True)
class FeatureRecord:
    view: str
    name: str
    dtype: str
    description: str
    computed: str = ""  # how a windowed aggregation derives it, e.g. "sum of amount over 30m"
    served: bool = True
    """Whether lookups can return it. A stream view with aggregations serves only those: its
    other schema fields are the raw event columns its history holds (offline only)."""

    @property
    def ref(self) -> str:
        return f"{self.view}:{self.name}"


@dataclass
class SourceRecord:
    name: str
    type: str  # file | kafka | push | request | other
    description: str
    owner: str
    tags: dict[str, str]
    path: str | None = None
    topic: str | None = None
    timestamp_field: str | None = None
    batch_source: str | None = None
    fields: list[str] = field(default_factory=list)
    schema: list[dict[str, str]] = field(default_factory=list)
    """Declared message fields (Kafka schema_json, request source schema) with their types."""
    field_mapping: dict[str, str] = field(default_factory=dict)
    """Source column → feature name renames applied when reading."""
    message_format: str | None = None
    views: list[str] = field(default_factory=list)


@dataclass
class ViewRecord:
    name: str
    type: str  # batch | stream | on_demand
    description: str
    owner: str
    tags: dict[str, str]
    entities: list[str]
    join_keys: list[dict[str, str]]
    features: list[FeatureRecord]
    ttl_seconds: float | None
    online: bool
    sources: list[str]
    source_views: list[str] = field(default_factory=list)
    services: list[str] = field(default_factory=list)
    dependents: list[str] = field(default_factory=list)

    @property
    def served(self) -> list[FeatureRecord]:
        """The features a lookup can return (all but an aggregating view's raw columns)."""
        return [f for f in self.features if f.served]


@dataclass
class ServiceRecord:
    name: str
    description: str
    owner: str
    tags: dict[str, str]
    views: dict[str, list[str]]

    @property
    def feature_refs(self) -> list[str]:
        return [f"{v}:{f}" for v, features in self.views.items() for f in features]


@dataclass
class EntityRecord:
    name: str
    join_key: str
    value_type: str
    description: str
    owner: str
    tags: dict[str, str]
    views: list[str] = field(default_factory=list)


@dataclass
class Records:
    """All records of one snapshot, by kind and name."""

    version: str
    project: str
    entities: dict[str, EntityRecord]
    views: dict[str, ViewRecord]
    services: dict[str, ServiceRecord]
    sources: dict[str, SourceRecord]

    def by_kind(self, kind: str) -> dict[str, Any]:
        table: dict[str, dict[str, Any]] = {
            "entities": self.entities, "feature-views": self.views,
            "feature-services": self.services, "data-sources": self.sources,
        }
        return table[kind]


def _split_top_level(text: str) -> list[str]:
    """Split a Spark DDL column list on commas outside <...> and (...)."""
    parts: list[str] = []
    current: list[str] = []
    depth = 0
    for char in text:
        if char in "<(":
            depth += 1
        elif char in ">)":
            depth -= 1
        if char == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return [p.strip() for p in parts if p.strip()]


def parse_schema_json(text: str) -> list[dict[str, str]]:
    """Fields of a Kafka message schema: an Avro record (JSON) or Spark DDL (`a INT, b STRING`).

    Best effort for display: an unreadable schema gives no fields rather than an error.
    """
    try:
        parsed = json.loads(text)
    except ValueError:
        parsed = None
    if isinstance(parsed, dict) and isinstance(parsed.get("fields"), list):
        return [{"name": str(f.get("name")), "type": json.dumps(f.get("type"))
                 if not isinstance(f.get("type"), str) else str(f.get("type"))}
                for f in parsed["fields"] if isinstance(f, dict) and f.get("name")]
    fields = []
    for part in _split_top_level(text):
        name, _, kind = part.partition(" ")
        if name:
            fields.append({"name": name.strip("`"), "type": kind.strip()})
    return fields


def _source_record(source: DataSource) -> SourceRecord:
    record = SourceRecord(
        name=source.name, type="other", description=source.description or "",
        owner=source.owner or "", tags=dict(source.tags or {}),
        timestamp_field=source.timestamp_field or None,
        field_mapping=dict(source.field_mapping or {}),
    )
    if isinstance(source, FileSource):
        record.type, record.path = "file", source.path
    elif isinstance(source, KafkaSource):
        record.type, record.topic = "kafka", source.kafka_options.topic
        message_format = source.kafka_options.message_format
        record.message_format = type(message_format).__name__ if message_format else None
        schema_json = getattr(message_format, "schema_json", None)
        if isinstance(schema_json, str) and schema_json.strip():
            record.schema = parse_schema_json(schema_json)
            record.fields = [f["name"] for f in record.schema]
    elif isinstance(source, PushSource):
        record.type = "push"
    elif isinstance(source, RequestSource):
        record.type = "request"
        record.fields = [f.name for f in source.schema]
        record.schema = [{"name": f.name, "type": str(f.dtype)} for f in source.schema]
    batch = getattr(source, "batch_source", None)
    if isinstance(batch, DataSource):
        record.batch_source = batch.name
    return record


def _add_source(sources: dict[str, SourceRecord], source: DataSource | None) -> str | None:
    if source is None:
        return None
    if source.name not in sources:
        sources[source.name] = _source_record(source)
    batch = getattr(source, "batch_source", None)
    if isinstance(batch, DataSource):
        _add_source(sources, batch)
    return str(source.name)


def _aggregation_texts(spec: ViewSpec) -> dict[str, str] | None:
    """Feature → what it aggregates, for a stream view's windowed aggregations; None for a
    view without aggregations (every feature is served as stored)."""
    view = spec.feast_view
    if not isinstance(view, StreamFeatureView) or not view.aggregations:
        return None
    try:
        windows = aggregations_of(spec)
    except ValueError:  # the processor skips the view (nothing is served); /health says why
        return {}
    return {w.name: f"{w.function} of {w.column} over the trailing {_duration(w.window_us)}"
            for w in windows}


def _duration(micros: int) -> str:
    seconds = micros // 1_000_000
    for unit, size in (("d", 86_400), ("h", 3_600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _view_record(spec: ViewSpec, sources: dict[str, SourceRecord]) -> ViewRecord:
    view = spec.feast_view
    names = [_add_source(sources, s) for s in (view.stream_source, view.batch_source)]
    aggregated = _aggregation_texts(spec)
    computed = aggregated or {}
    return ViewRecord(
        name=spec.name, type=spec.kind, description=view.description or "",
        owner=view.owner or "", tags=dict(view.tags or {}),
        entities=[e for e in view.entities if e != DUMMY_ENTITY_NAME],
        join_keys=[{"name": k, "type": t.name} for k, t in spec.join_keys
                   if k != DUMMY_ENTITY_ID],
        features=[FeatureRecord(spec.name, f.name, f.dtype, f.description,
                                computed.get(f.name, ""),
                                served=aggregated is None or f.name in aggregated)
                  for f in spec.features.values()],
        ttl_seconds=spec.ttl_seconds, online=spec.online,
        sources=list(dict.fromkeys(n for n in names if n is not None)),
    )


def _odfv_record(odfv: OnDemandFeatureView, sources: dict[str, SourceRecord]) -> ViewRecord:
    request_sources = [_add_source(sources, s) for s in odfv.source_request_sources.values()]
    return ViewRecord(
        name=odfv.name, type="on_demand", description=odfv.description or "",
        owner=odfv.owner or "", tags=dict(odfv.tags or {}), entities=[], join_keys=[],
        features=[FeatureRecord(odfv.name, f.name, str(f.dtype), f.description or "")
                  for f in odfv.features],
        ttl_seconds=None, online=True,
        sources=[n for n in request_sources if n is not None],
        source_views=sorted(p.name for p in odfv.source_feature_view_projections.values()),
    )


def _service_record(service: FeatureService) -> ServiceRecord:
    views: dict[str, list[str]] = {}
    for projection in service.feature_view_projections:
        views.setdefault(projection.name, []).extend(f.name for f in projection.features)
    return ServiceRecord(
        name=service.name, description=service.description or "", owner=service.owner or "",
        tags=dict(service.tags or {}), views=views,
    )


def _entity_record(entity: Entity) -> EntityRecord:
    value_type = entity.value_type.name if entity.value_type is not None else "UNKNOWN"
    return EntityRecord(
        name=entity.name, join_key=entity.join_key, value_type=value_type,
        description=entity.description or "", owner=entity.owner or "",
        tags=dict(entity.tags or {}),
    )


def build_records(definitions: Definitions) -> Records:
    """Flatten a snapshot and fill in the reverse edges."""
    sources: dict[str, SourceRecord] = {}
    for source in definitions.data_sources.values():
        _add_source(sources, source)
    views = {name: _view_record(spec, sources) for name, spec in definitions.views.items()}
    for odfv in definitions.on_demand.values():
        views[odfv.name] = _odfv_record(odfv, sources)
    entities = {
        name: _entity_record(e) for name, e in definitions.entities.items()
        if e.join_key != DUMMY_ENTITY_ID
    }
    services = {name: _service_record(s) for name, s in definitions.services.items()}
    for view in views.values():
        for entity in view.entities:
            if entity in entities:
                entities[entity].views.append(view.name)
        for source_name in view.sources:
            sources[source_name].views.append(view.name)
        for upstream in view.source_views:
            if upstream in views:
                views[upstream].dependents.append(view.name)
    for service in services.values():
        for view_name in service.views:
            if view_name in views:
                views[view_name].services.append(service.name)
    return Records(
        version=definitions.version, project=definitions.project,
        entities=dict(sorted(entities.items())), views=dict(sorted(views.items())),
        services=dict(sorted(services.items())), sources=dict(sorted(sources.items())),
    )
