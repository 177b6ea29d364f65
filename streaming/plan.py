"""Which topics to consume and what to do with each, derived from the applied registry.

Every stream feature view whose source is a KafkaSource contributes its topic. Views that share
a source share one `TopicPlan`; each keeps its own online write and transformation, and the
source's history is written once per distinct `batch_source` directory. A view (or a whole
source) that cannot be planned is left out with its reason in `StreamPlan.skipped`, which the
processor logs and publishes for `/health` (`streaming.status`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from feast import KafkaSource
from feast.data_format import JsonFormat

from featurebank.aggregations import WindowedAggregation, aggregations_of
from featurebank.definitions import Definitions, ViewSpec
from featurebank.errors import FeatureBankError, InvalidInput
from featurebank.offline.sources import ParquetSource, offline_source
from streaming.aggregation_types import check_types, column_kinds
from streaming.contract import Contract
from streaming.schema import SourceSchema, derive_schema, parse_ddl
from streaming.transform import transformation_of

log = logging.getLogger("featurebank.stream")


@dataclass(frozen=True)
class TopicPlan:
    """One KafkaSource: its topic, contract, the views it feeds and where its history goes."""

    topic: str
    source_name: str
    schema: SourceSchema
    contract: Contract
    field_mapping: dict[str, str]
    views: tuple[ViewSpec, ...]
    offline: tuple[ParquetSource, ...]
    windows: dict[str, tuple[WindowedAggregation, ...]] = field(default_factory=dict)
    """View name → its windowed aggregations (featurebank.aggregations), for views with any."""

    @property
    def dlq_topic(self) -> str:
        return f"{self.topic}.dlq"


@dataclass(frozen=True)
class StreamPlan:
    project: str
    version: str
    topics: dict[str, TopicPlan]
    skipped: dict[str, str] = field(default_factory=dict)
    """Stream view name → why it is not consumed (its definition cannot work as it stands)."""

    def topic_names(self) -> list[str]:
        return sorted(self.topics)


def kafka_views(definitions: Definitions) -> dict[str, list[ViewSpec]]:
    """Stream views grouped by the name of their KafkaSource."""
    grouped: dict[str, list[ViewSpec]] = {}
    for view in definitions.views.values():
        if view.kind == "stream" and isinstance(view.source, KafkaSource):
            grouped.setdefault(view.source.name, []).append(view)
    return grouped


def source_schema(source: KafkaSource, views: list[ViewSpec]) -> SourceSchema:
    message_format = source.kafka_options.message_format
    if not isinstance(message_format, JsonFormat):
        raise InvalidInput(f"KafkaSource {source.name!r} uses "
                           f"{type(message_format).__name__}; only JsonFormat is supported")
    ddl = (message_format.schema_json or "").strip()
    if ddl:
        return parse_ddl(ddl, source.timestamp_field)
    return derive_schema(views, dict(source.field_mapping or {}), source.timestamp_field)


def _offline_targets(views: list[ViewSpec]) -> tuple[ParquetSource, ...]:
    targets: dict[str, ParquetSource] = {}
    for view in views:
        try:
            target = offline_source(view)
            target.directory  # noqa: B018 - refuses single-file sources up front
        except InvalidInput as exc:
            log.warning("view %s: no offline history will be written: %s", view.name, exc.message)
            continue
        targets.setdefault(str(target.directory), target)
    return tuple(targets.values())


def _with_windows(views: list[ViewSpec], schema: SourceSchema, mapping: dict[str, str],
                  skipped: dict[str, str]) -> tuple[list[ViewSpec],
                                                    dict[str, tuple[WindowedAggregation, ...]]]:
    """Views whose aggregations are usable, and those aggregations; the others are skipped
    (with their reason in `skipped`)."""
    kept: list[ViewSpec] = []
    windows: dict[str, tuple[WindowedAggregation, ...]] = {}
    source_kinds = {column.name: column.kind for column in schema.columns}
    for view in views:
        try:
            found = aggregations_of(view)
            kinds = column_kinds(view, source_kinds, mapping, transformation_of(view) is not None)
            check_types(view, found, kinds)
        except ValueError as exc:
            log.error("stream feature view %s is skipped: %s", view.name, exc)
            skipped[view.name] = str(exc)
            continue
        kept.append(view)
        if found:
            windows[view.name] = found
    return kept, windows


def build_plan(definitions: Definitions, max_skew_s: float) -> StreamPlan:
    """The plan for a registry snapshot; a source that cannot be planned is logged and skipped."""
    topics: dict[str, TopicPlan] = {}
    skipped: dict[str, str] = {}
    for views in kafka_views(definitions).values():
        source = views[0].source
        assert isinstance(source, KafkaSource)
        try:
            schema = source_schema(source, views)
            mapping = dict(source.field_mapping or {})
            to_source = {mapped: name for name, mapped in mapping.items()}
            keys = {to_source.get(k, k) for v in views for k in v.join_key_names
                    if not v.entityless}
            missing = sorted(keys - set(schema.names()))
            if missing:
                raise InvalidInput(f"schema_json of {source.name!r} lacks join key(s) {missing}")
            views, windows = _with_windows(views, schema, mapping, skipped)
            if not views:
                continue
            plan = TopicPlan(
                topic=source.kafka_options.topic,
                source_name=source.name,
                schema=schema,
                contract=Contract(schema, frozenset(keys), int(max_skew_s * 1_000_000)),
                field_mapping=mapping,
                views=tuple(views),
                offline=_offline_targets(views),
                windows=windows,
            )
        except FeatureBankError as exc:
            log.error("KafkaSource %s is skipped: %s", source.name, exc.message)
            skipped.update({view.name: f"KafkaSource {source.name!r} is skipped: {exc.message}"
                            for view in views})
            continue
        if plan.topic in topics:
            log.error("topic %s is read by two KafkaSources (%s, %s); keeping the first",
                      plan.topic, topics[plan.topic].source_name, plan.source_name)
            skipped.update({view.name: f"topic {plan.topic!r} is already read by KafkaSource "
                                       f"{topics[plan.topic].source_name!r}"
                            for view in plan.views})
            continue
        topics[plan.topic] = plan
    return StreamPlan(definitions.project, definitions.version, topics, skipped)
