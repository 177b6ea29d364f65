"""Which views, columns and on-demand transformations a training set needs.

A request names features (`view:feature`) or a feature service; this module turns that into a
`Selection`: per feature view its Parquet source, the features to read and the output column
each lands in, plus the on-demand views to compute afterwards and the inputs they need. It is
resolved once per request against one registry snapshot, so a mid-run registry change cannot
mix two versions of a definition.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from feast import FeatureService, OnDemandFeatureView
from feast.value_type import ValueType

from featurebank.aggregations import WindowedAggregation, aggregations_of
from featurebank.definitions import Definitions, ViewSpec
from featurebank.errors import InvalidInput, UnknownName
from featurebank.offline.sources import ParquetSource, offline_source


@dataclass(frozen=True)
class ViewRead:
    """One feature view to join: its source and (feature, output column) pairs."""

    view: ViewSpec
    source: ParquetSource
    columns: tuple[tuple[str, str], ...]
    key_columns: tuple[tuple[str, str], ...]
    """(source join key, entity-frame column) pairs; differs under a service join-key map."""
    windows: tuple[WindowedAggregation, ...] = ()
    """Set when every column is a windowed aggregation (aligned with `columns`), computed
    from the source's raw events instead of read as the latest row."""

    @property
    def ttl_seconds(self) -> float | None:
        return self.view.ttl_seconds


@dataclass(frozen=True)
class Selection:
    """Everything the engine needs to know about the requested features."""

    feature_refs: tuple[str, ...]
    reads: tuple[ViewRead, ...]
    odfvs: tuple[OnDemandFeatureView, ...]
    outputs: tuple[str, ...]
    """Requested output columns, in request order (hidden ODFV inputs are not listed)."""
    entity_columns: frozenset[str]
    request_fields: frozenset[str]
    full_feature_names: bool
    service: str | None = None
    hidden: frozenset[str] = field(default_factory=frozenset)

    def key_types(self) -> dict[str, ValueType]:
        """Entity-frame column → the join key type its views declare (first view wins).

        Used to check and read entity rows before a job starts, so a key of the wrong type is a
        422 naming it rather than a DuckDB conversion error in the worker.
        """
        types: dict[str, ValueType] = {}
        for read in self.reads:
            if read.view.entityless:
                continue
            declared = dict(read.view.join_keys)
            for source_key, column in read.key_columns:
                types.setdefault(column, declared[source_key])
        return types

    @property
    def view_names(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(read.view.name for read in self.reads)) + tuple(
            o.name for o in self.odfvs)


Ref = tuple[str, str, str, dict[str, str]]
"""(view to read, name to show, feature, join-key map)."""


def shown_name(projection: Any) -> str:
    """Feast's `FeatureViewProjection.name_to_use()` (alias, then version tag), typed."""
    base = str(projection.name_alias or projection.name)
    tag = getattr(projection, "version_tag", None)
    return f"{base}@v{tag}" if tag is not None else base


def _service_refs(service: FeatureService) -> list[Ref]:
    refs: list[Ref] = []
    for projection in service.feature_view_projections:
        key_map = dict(projection.join_key_map or {})
        for feature in projection.features:
            refs.append((projection.name, shown_name(projection), feature.name, key_map))
    return refs


def _parse_refs(features: list[str]) -> list[Ref]:
    refs: list[Ref] = []
    for ref in features:
        if not isinstance(ref, str) or ref.count(":") != 1 or "" in ref.split(":"):
            raise InvalidInput(f"feature reference {ref!r} must look like 'feature_view:feature'",
                               detail={"feature": ref})
        view, feature = ref.split(":")
        refs.append((view, view, feature, {}))
    return refs


class _Builder:
    def __init__(self, definitions: Definitions, full_feature_names: bool) -> None:
        self.defs = definitions
        self.full = full_feature_names
        self.reads: dict[tuple[str, tuple[tuple[str, str], ...], bool],
                         list[tuple[str, str]]] = {}
        self.windows: dict[str, dict[str, WindowedAggregation]] = {}
        self.odfvs: dict[str, OnDemandFeatureView] = {}
        self.outputs: list[str] = []
        self.hidden: set[str] = set()
        self.request_fields: set[str] = set()

    def _name(self, shown: str, feature: str) -> str:
        return f"{shown}__{feature}" if self.full else feature

    def _add_output(self, name: str) -> None:
        if name in self.outputs:
            raise InvalidInput(f"two requested features are both named {name!r}; set "
                               "full_feature_names or request only one", detail={"feature": name})
        self.outputs.append(name)

    def _read(self, view: ViewSpec, feature: str, column: str, key_map: dict[str, str]) -> None:
        if feature not in view.features:
            raise UnknownName("feature", f"{view.name}:{feature}",
                              known=[f"{view.name}:{f}" for f in view.features])
        keys = tuple((k, key_map.get(k, k)) for k in view.join_key_names)
        windowed = feature in self._windows_of(view)
        columns = self.reads.setdefault((view.name, keys, windowed), [])
        if (feature, column) not in columns:
            columns.append((feature, column))

    def _windows_of(self, view: ViewSpec) -> dict[str, WindowedAggregation]:
        found = self.windows.get(view.name)
        if found is None:
            try:
                found = {a.name: a for a in aggregations_of(view)}
            except ValueError as exc:
                raise InvalidInput(str(exc), detail={"feature_view": view.name}) from None
            self.windows[view.name] = found
        return found

    def add(self, view_name: str, shown: str, feature: str, key_map: dict[str, str]) -> None:
        view = self.defs.views.get(view_name)
        if view is not None:
            name = self._name(shown, feature)
            self._add_output(name)
            self._read(view, feature, name, key_map)
            return
        odfv = self.defs.on_demand_feature(view_name, feature)
        self._add_output(self._name(shown_name(odfv.projection), feature))
        if view_name not in self.odfvs:
            self.odfvs[view_name] = odfv
            self._add_odfv_inputs(odfv)

    def _add_odfv_inputs(self, odfv: OnDemandFeatureView) -> None:
        """ODFV inputs are named as requested features would be (Feast's transform expects it)."""
        for view, projection in self.defs.on_demand_sources(odfv):
            for feature in projection.features:
                column = self._name(shown_name(projection), feature.name)
                self.hidden.add(column)
                self._read(view, feature.name, column, dict(projection.join_key_map or {}))
        for request_source in odfv.source_request_sources.values():
            self.request_fields.update(f.name for f in request_source.schema)

    def finish(self, refs: tuple[str, ...], service: str | None) -> Selection:
        reads = []
        entity_columns: set[str] = set()
        for (view_name, keys, windowed), columns in self.reads.items():
            view = self.defs.views[view_name]
            windows = tuple(self.windows[view_name][f] for f, _ in columns) if windowed else ()
            reads.append(ViewRead(view=view, source=offline_source(view),
                                  columns=tuple(columns), key_columns=keys, windows=windows))
            if not view.entityless:
                entity_columns.update(column for _, column in keys)
        return Selection(
            feature_refs=refs, reads=tuple(reads), odfvs=tuple(self.odfvs.values()),
            outputs=tuple(self.outputs), entity_columns=frozenset(entity_columns),
            request_fields=frozenset(self.request_fields), full_feature_names=self.full,
            service=service, hidden=frozenset(self.hidden - set(self.outputs)),
        )


def select_features(definitions: Definitions, *, features: list[str] | None = None,
                    service: str | None = None, full_feature_names: bool = False) -> Selection:
    """Resolve feature references or a feature service; unknown names raise `UnknownName`."""
    if features and service:
        raise InvalidInput("give either 'features' or 'feature_service', not both")
    if service is not None:
        found = definitions.services.get(service)
        if found is None:
            raise UnknownName("feature service", service, known=sorted(definitions.services))
        refs = _service_refs(found)
    elif features:
        refs = _parse_refs(features)
    else:
        raise InvalidInput("give either 'features' (a non-empty list) or 'feature_service'")
    definitions.check_features((view_name, feature) for view_name, _, feature, _ in refs)
    builder = _Builder(definitions, full_feature_names)
    for view_name, shown, feature, key_map in refs:
        builder.add(view_name, shown, feature, key_map)
    return builder.finish(tuple(f"{v}:{f}" for v, _, f, _ in refs), service)


_UNORDERED = ("features", "entity_columns")
"""Repeated fields whose order carries no meaning for a training set (columns are joined by
name) and which Feast fills from a set for stream views, so their order varies per process."""


def _canonical(message: Any) -> None:
    """Strip what changes without a definition changing, in place, at any depth.

    - every `meta` (created/updated timestamps; Feast stamps nested request sources with
      "now" on each `to_proto`),
    - a UDF's `body` when its `body_text` is there: the dill/pickle bytes differ between
      processes and re-applies for the same source text,
    - the order of features / entity columns (sorted by name).
    """
    names = {f.name for f in message.DESCRIPTOR.fields}
    if "body" in names and "body_text" in names and message.body_text:
        message.ClearField("body")
    for descriptor, value in message.ListFields():
        if descriptor.message_type is None:
            continue
        if descriptor.name == "meta":
            message.ClearField(descriptor.name)
            continue
        if descriptor.message_type.GetOptions().map_entry:
            entry_value = descriptor.message_type.fields_by_name["value"]
            if entry_value.message_type is not None:
                for item in value.values():
                    _canonical(item)
        elif not hasattr(value, "DESCRIPTOR"):  # a repeated field of messages
            for item in value:
                _canonical(item)
            if descriptor.name in _UNORDERED and "name" in descriptor.message_type.fields_by_name:
                ordered = sorted(value, key=lambda m: str(m.name))
                copies = [type(m)() for m in ordered]
                for target, source in zip(copies, ordered, strict=True):
                    target.CopyFrom(source)
                del value[:]
                value.extend(copies)
        else:
            _canonical(value)


def stable_proto_bytes(message: Any) -> bytes:
    """Deterministic bytes of a definition proto that change only when the definition does."""
    copy = type(message)()
    copy.CopyFrom(message)
    _canonical(copy)
    return bytes(copy.SerializeToString(deterministic=True))


def definition_hash(definitions: Definitions, selection: Selection) -> str:
    """SHA-256 over the stable protos (`stable_proto_bytes`) of exactly the views a training
    set reads.

    Unrelated registry edits leave it unchanged, so a rerun only reports what matters to it;
    a rerun in another process, with nothing re-applied, reports nothing.
    """
    digest = hashlib.sha256()
    for read in sorted({r.view.name: r for r in selection.reads}.values(),
                       key=lambda r: r.view.name):
        digest.update(stable_proto_bytes(read.view.feast_view.to_proto()))
    for odfv in sorted(selection.odfvs, key=lambda o: o.name):
        digest.update(stable_proto_bytes(odfv.to_proto()))
    return digest.hexdigest()
