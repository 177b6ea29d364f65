"""Feast definitions compiled once into the shapes the hot paths need.

Reading Feast objects per request is what makes Feast's server slow; here every feature view
becomes a `ViewSpec` with its Redis key codec and hash fields precomputed, and the whole
registry becomes one immutable `Definitions` snapshot that is swapped when the registry changes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from feast import FeatureService, FeatureStore, FeatureView, OnDemandFeatureView
from feast.data_source import DataSource
from feast.entity import Entity
from feast.feature_view import DUMMY_ENTITY_ID
from feast.stream_feature_view import StreamFeatureView
from feast.value_type import ValueType

from featurebank.codec.entity_key import EntityKeyCodec
from featurebank.codec.fields import feature_field, timestamp_field
from featurebank.errors import UnknownName


@dataclass(frozen=True)
class FeatureSpec:
    """One feature of a view, with its precomputed Redis hash field."""

    name: str
    value_type: ValueType
    dtype: str
    description: str
    field: bytes


@dataclass(frozen=True)
class ViewSpec:
    """A feature view (batch or stream) as the online and offline paths use it."""

    name: str
    kind: str
    join_keys: tuple[tuple[str, ValueType], ...]
    codec: EntityKeyCodec
    features: dict[str, FeatureSpec]
    ts_field: bytes
    ttl_seconds: float | None
    online: bool
    source: DataSource | None
    feast_view: FeatureView = field(repr=False)

    @property
    def join_key_names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.join_keys)

    @property
    def entityless(self) -> bool:
        return self.join_key_names == (DUMMY_ENTITY_ID,)


@dataclass(frozen=True)
class Definitions:
    """An immutable snapshot of the registry; `version` changes whenever any definition does."""

    project: str
    version: str
    views: dict[str, ViewSpec]
    on_demand: dict[str, OnDemandFeatureView]
    services: dict[str, FeatureService]
    entities: dict[str, Entity]
    data_sources: dict[str, DataSource]

    def feature_refs(self) -> list[str]:
        """Every `view:feature` a request may name (feature views, then on-demand views)."""
        refs = [f"{v.name}:{f}" for v in self.views.values() for f in v.features]
        return refs + [f"{o.name}:{f.name}" for o in self.on_demand.values() for f in o.features]

    def check_features(self, refs: Iterable[tuple[str, str]]) -> None:
        """Raise one `UnknownName` naming every (view, feature) no view or on-demand view has,
        so a request with several typos is answered once, not once per typo."""
        unknown = []
        for view_name, feature in refs:
            view = self.views.get(view_name)
            if view is not None:
                if feature not in view.features:
                    unknown.append(f"{view_name}:{feature}")
                continue
            odfv = self.on_demand.get(view_name)
            if odfv is None or feature not in {f.name for f in odfv.features}:
                unknown.append(f"{view_name}:{feature}")
        if unknown:
            raise UnknownName("feature", *unknown, known=self.feature_refs())

    def on_demand_feature(self, view_name: str, feature: str) -> OnDemandFeatureView:
        """The on-demand view serving `view_name:feature`, or an error naming what is unknown."""
        odfv = self.on_demand.get(view_name)
        if odfv is None:
            raise UnknownName("feature view", view_name,
                              known=sorted([*self.views, *self.on_demand]))
        if feature not in {f.name for f in odfv.features}:
            raise UnknownName("feature", f"{view_name}:{feature}",
                              known=[f"{view_name}:{f.name}" for f in odfv.features])
        return odfv

    def on_demand_sources(self, odfv: OnDemandFeatureView) -> list[tuple[ViewSpec, Any]]:
        """(source view, its projection) for every view an on-demand view reads."""
        sources = []
        for projection in odfv.source_feature_view_projections.values():
            view = self.views.get(projection.name)
            if view is None:
                raise UnknownName("feature view", projection.name, known=sorted(self.views))
            sources.append((view, projection))
        return sources


def _ttl_seconds(ttl: timedelta | None) -> float | None:
    if ttl is None:
        return None
    seconds = ttl.total_seconds()
    return seconds if seconds > 0 else None


def _join_keys(view: FeatureView, entities: dict[str, Entity]) -> tuple[tuple[str, ValueType], ...]:
    """Join keys with their types, as declared on the view (its entity columns)."""
    columns = {column.name: column.dtype.to_value_type() for column in view.entity_columns}
    keys: list[tuple[str, ValueType]] = []
    for entity_name in view.entities:
        entity = entities.get(entity_name)
        if entity is None or entity.join_key == DUMMY_ENTITY_ID:
            continue
        value_type = columns.get(entity.join_key, entity.value_type)
        keys.append((entity.join_key, value_type))
    if not keys:
        keys.append((DUMMY_ENTITY_ID, ValueType.STRING))
    return tuple(keys)


def compile_view(view: FeatureView, project: str, entities: dict[str, Entity]) -> ViewSpec:
    join_keys = _join_keys(view, entities)
    # A stream feature view stores its whole schema, entity columns included, as its features
    # in the registry, so once read back its join key looks like a feature. It never is one.
    keys = {name for name, _ in join_keys} | {column.name for column in view.entity_columns}
    features = {
        f.name: FeatureSpec(
            name=f.name,
            value_type=f.dtype.to_value_type(),
            dtype=str(f.dtype),
            description=f.description or "",
            field=feature_field(view.name, f.name),
        )
        for f in view.features
        if f.name not in keys
    }
    source = view.stream_source if isinstance(view, StreamFeatureView) else view.batch_source
    return ViewSpec(
        name=view.name,
        kind="stream" if isinstance(view, StreamFeatureView) else "batch",
        join_keys=join_keys,
        codec=EntityKeyCodec(join_keys, project),
        features=features,
        ts_field=timestamp_field(view.name),
        ttl_seconds=_ttl_seconds(view.ttl),
        online=bool(view.online),
        source=source,
        feast_view=view,
    )


def _fingerprint(store: FeatureStore) -> str:
    proto = store.registry.proto()
    proto.ClearField("last_updated")
    return hashlib.sha256(proto.SerializeToString(deterministic=True)).hexdigest()[:16]


def load_definitions(store: FeatureStore, *, refresh: bool = False) -> Definitions:
    """Compile every definition of the store's project into a snapshot."""
    if refresh:
        store.refresh_registry()
    project = store.project
    entities = {e.name: e for e in store.list_entities(allow_cache=True)}
    views: dict[str, ViewSpec] = {}
    plain: list[FeatureView] = list(store.list_feature_views(allow_cache=True))
    streams: list[Any] = list(store.list_stream_feature_views(allow_cache=True))
    for view in plain + streams:
        views[view.name] = compile_view(view, project, entities)
    return Definitions(
        project=project,
        version=_fingerprint(store),
        views=views,
        on_demand={o.name: o for o in store.list_on_demand_feature_views(allow_cache=True)},
        services={s.name: s for s in store.list_feature_services()},
        entities=entities,
        data_sources={d.name: d for d in store.list_data_sources(allow_cache=True)},
    )
