"""Resolving feature references once per distinct request shape.

A plan fixes which Redis hash fields to read for which join keys and where each value lands in
the response. Plans are cached per registry snapshot, so steady-state lookups do no registry
work at all; a usage counter per plan lets the catalog count reads at O(1) per request.
"""

from __future__ import annotations

import itertools
from collections import Counter
from dataclasses import dataclass, field

from feast import FeatureService, OnDemandFeatureView

from featurebank.codec.columns import ColumnsDecoder
from featurebank.codec.entity_key import EntityKeyCodec
from featurebank.definitions import Definitions, FeatureSpec, ViewSpec
from featurebank.errors import InvalidInput, UnknownName

_plan_ids = itertools.count(1)


@dataclass(frozen=True)
class ViewSlot:
    """One view's features inside a key group: offsets of its fields in the HMGET reply."""

    view: ViewSpec
    features: tuple[FeatureSpec, ...]
    first: int
    ts_index: int
    hidden: bool = False
    columns: ColumnsDecoder = field(default_factory=lambda: ColumnsDecoder(()))


@dataclass(frozen=True)
class KeyGroup:
    """All reads that share one set of join keys, hence one Redis hash per entity."""

    join_keys: tuple[str, ...]
    codec: EntityKeyCodec
    fields: tuple[bytes, ...]
    slots: tuple[ViewSlot, ...]
    entityless: bool
    resp_head: bytes = b""
    resp_fields: bytes = b""

    @classmethod
    def build(cls, join_keys: tuple[str, ...], codec: EntityKeyCodec, fields: tuple[bytes, ...],
              slots: tuple[ViewSlot, ...], entityless: bool) -> KeyGroup:
        """A group with its HMGET pre-encoded in RESP: only the key varies per entity."""
        head = b"*%d\r\n$5\r\nHMGET\r\n" % (len(fields) + 2)
        tail = b"".join(b"$%d\r\n%s\r\n" % (len(f), f) for f in fields)
        return cls(join_keys, codec, fields, slots, entityless, head, tail)


@dataclass(frozen=True)
class Output:
    """A response column: where its values come from and its name."""

    name: str
    kind: str  # "view" or "odfv"
    group: int = -1
    slot: int = -1
    feature: int = -1
    odfv: str = ""
    odfv_feature: str = ""


@dataclass
class LookupPlan:
    id: int
    feature_refs: tuple[str, ...]
    groups: tuple[KeyGroup, ...]
    outputs: tuple[Output, ...]
    join_keys: frozenset[str]
    request_fields: frozenset[str]
    odfvs: tuple[OnDemandFeatureView, ...]
    full_feature_names: bool
    service: str | None = None
    lookups: int = 0
    consumers: dict[str, int] = field(default_factory=dict)


def _service_refs(service: FeatureService) -> list[tuple[str, str, str]]:
    """(view name to read, name to show, feature) for every feature a service lists."""
    refs = []
    for projection in service.feature_view_projections:
        for feature in projection.features:
            refs.append((projection.name, projection.name_to_use(), feature.name))
    return refs


def _parse_refs(definitions: Definitions, features: list[str]) -> list[tuple[str, str, str]]:
    refs = []
    for ref in features:
        if not isinstance(ref, str) or ref.count(":") != 1:
            raise InvalidInput(
                f"feature reference {ref!r} must look like 'feature_view:feature'",
                detail={"feature": ref},
            )
        view, feature = ref.split(":")
        refs.append((view, view, feature))
    return refs


def build_plan(
    definitions: Definitions,
    *,
    features: list[str] | None,
    service: str | None,
    full_feature_names: bool,
) -> LookupPlan:
    if service is not None:
        found = definitions.services.get(service)
        if found is None:
            raise UnknownName("feature service", service, known=sorted(definitions.services))
        refs = _service_refs(found)
    elif features:
        refs = _parse_refs(definitions, features)
    else:
        raise InvalidInput("give either 'features' (a non-empty list) or 'feature_service'")

    definitions.check_features((view_name, feature) for view_name, _, feature in refs)
    builder = _PlanBuilder(definitions, full_feature_names)
    for view_name, shown, feature in refs:
        builder.add(view_name, shown, feature)
    return builder.finish(tuple(f"{v}:{f}" for _, v, f in refs), service)


class _PlanBuilder:
    def __init__(self, definitions: Definitions, full_feature_names: bool) -> None:
        self.defs = definitions
        self.full = full_feature_names
        self.reads: dict[str, list[FeatureSpec]] = {}
        self.hidden_reads: dict[str, list[FeatureSpec]] = {}
        self.outputs: list[tuple[str, str, str, str]] = []  # (name, kind, view/odfv, feature)
        self.odfvs: dict[str, OnDemandFeatureView] = {}
        self.request_fields: set[str] = set()

    def _output_name(self, shown: str, feature: str) -> str:
        name = f"{shown}__{feature}" if self.full else feature
        if any(existing == name for existing, *_ in self.outputs):
            raise InvalidInput(
                f"two requested features are both named {name!r}; "
                "set full_feature_names to true or request only one",
                detail={"feature": name},
            )
        return name

    def add(self, view_name: str, shown: str, feature: str) -> None:
        view = self.defs.views.get(view_name)
        if view is not None:
            spec = view.features.get(feature)
            if spec is None:
                raise UnknownName(
                    "feature", f"{view_name}:{feature}",
                    known=[f"{view_name}:{f}" for f in view.features],
                )
            if not view.online:
                raise InvalidInput(
                    f"feature view {view_name!r} is not served online (online=False)"
                )
            self.outputs.append((self._output_name(shown, feature), "view", view_name, feature))
            self.reads.setdefault(view_name, [])
            if spec not in self.reads[view_name]:
                self.reads[view_name].append(spec)
            return
        odfv = self.defs.on_demand_feature(view_name, feature)
        self.outputs.append((self._output_name(shown, feature), "odfv", view_name, feature))
        if view_name not in self.odfvs:
            self.odfvs[view_name] = odfv
            self._add_odfv_inputs(odfv)

    def _add_odfv_inputs(self, odfv: OnDemandFeatureView) -> None:
        for view, projection in self.defs.on_demand_sources(odfv):
            for feature in projection.features:
                spec = view.features[feature.name]
                self.hidden_reads.setdefault(view.name, [])
                if spec not in self.hidden_reads[view.name]:
                    self.hidden_reads[view.name].append(spec)
        for request_source in odfv.source_request_sources.values():
            self.request_fields.update(f.name for f in request_source.schema)

    def finish(self, refs: tuple[str, ...], service: str | None) -> LookupPlan:
        group_index: dict[tuple[str, ...], int] = {}
        group_fields: list[list[bytes]] = []
        group_slots: list[list[ViewSlot]] = []
        group_views: list[ViewSpec] = []
        slot_of: dict[tuple[str, bool], tuple[int, int]] = {}

        def place(view: ViewSpec, specs: list[FeatureSpec], hidden: bool) -> None:
            key = view.join_key_names
            if key not in group_index:
                group_index[key] = len(group_fields)
                group_fields.append([])
                group_slots.append([])
                group_views.append(view)
            g = group_index[key]
            fields = group_fields[g]
            first = len(fields)
            fields.extend(s.field for s in specs)
            fields.append(view.ts_field)
            slot_of[(view.name, hidden)] = (g, len(group_slots[g]))
            group_slots[g].append(ViewSlot(view, tuple(specs), first, len(fields) - 1, hidden,
                                           ColumnsDecoder([s.value_type for s in specs])))

        for name, specs in self.reads.items():
            place(self.defs.views[name], specs, False)
        for name, specs in self.hidden_reads.items():
            place(self.defs.views[name], specs, True)

        outputs = []
        for name, kind, source, feature in self.outputs:
            if kind == "view":
                g, s = slot_of[(source, False)]
                position = [f.name for f in group_slots[g][s].features].index(feature)
                outputs.append(Output(name, "view", g, s, position))
            else:
                outputs.append(Output(name, "odfv", odfv=source, odfv_feature=feature))
        groups = tuple(
            KeyGroup.build(key, group_views[g].codec, tuple(group_fields[g]), tuple(group_slots[g]),
                     group_views[g].entityless)
            for key, g in group_index.items()
        )
        join_keys = frozenset(k for g in groups if not g.entityless for k in g.join_keys)
        clash = sorted(join_keys.intersection(name for name, *_ in self.outputs))
        if clash:
            raise InvalidInput(
                f"requested feature(s) {clash} have the name of a join key, which the response "
                "already carries; set full_feature_names to true or leave them out",
                detail={"features": clash})
        return LookupPlan(
            id=next(_plan_ids), feature_refs=refs, groups=groups, outputs=tuple(outputs),
            join_keys=join_keys, request_fields=frozenset(self.request_fields),
            odfvs=tuple(self.odfvs.values()), full_feature_names=self.full, service=service,
        )


class PlanCache:
    """Plans per request shape for one registry snapshot; cleared when the snapshot changes."""

    def __init__(self, max_plans: int = 4096) -> None:
        self._plans: dict[object, LookupPlan] = {}
        self._max = max_plans
        self.version = ""
        self.retired: list[LookupPlan] = []  # drained by the catalog's usage collector
        self.retired_reads: Counter[str] = Counter()  # lookups per feature of retired plans

    def _retire(self) -> None:
        for plan in self._plans.values():
            for ref in plan.feature_refs:
                self.retired_reads[ref] += plan.lookups
        self.retired.extend(self._plans.values())

    def reset(self, definitions: Definitions) -> None:
        self._retire()
        self._plans = {}
        self.version = definitions.version

    def plans(self) -> list[LookupPlan]:
        return list(self._plans.values())

    def get(
        self, definitions: Definitions, features: list[str] | None, service: str | None,
        full_feature_names: bool,
    ) -> LookupPlan:
        if definitions.version != self.version:
            self.reset(definitions)
        key: object = (service, full_feature_names) if service is not None else (
            tuple(features) if isinstance(features, list) and all(
                isinstance(f, str) for f in features) else None,
            full_feature_names,
        )
        plan = self._plans.get(key)
        if plan is None:
            plan = build_plan(definitions, features=features, service=service,
                              full_feature_names=full_feature_names)
            if len(self._plans) >= self._max:
                self._retire()
                self._plans.clear()
            self._plans[key] = plan
        return plan
