"""What one kind of lookup logs: its log name, its columns and their Arrow types, its sample rate.

A shape is built once per lookup plan (so per registry snapshot and request shape), never per
request; the hot path only reads it. It is plain data with no dependency on the server, so the
writer and the tests can build one without a running API.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
from feast.embedded_go.type_map import FEAST_TYPE_TO_ARROW_TYPE
from feast.types import from_value_type
from feast.value_type import ValueType

from featurebank.codec.entity_key import EntityKeyCodec
from featurebank.monitoring import log_layout

log = logging.getLogger("featurebank.monitoring")

SAMPLE_RATE_TAG = "monitor.log_sample_rate"
"""A feature service tag that sets its own sample rate, in [0, 1]; it wins over the setting."""

_warned_tags: set[tuple[str, str]] = set()


@dataclass(frozen=True)
class FeatureColumn:
    """One requested feature: the `<view>__<feature>` base name and the view's Arrow type."""

    view: str
    feature: str
    arrow_type: pa.DataType | None
    """None when Feast has no Arrow type for it: the writer lets Arrow infer one."""

    @property
    def name(self) -> str:
        return log_layout.value_column(self.view, self.feature)


@dataclass(frozen=True)
class LogShape:
    log_name: str
    project: str
    feature_service: str
    """"" for an ad-hoc feature list."""
    key_columns: tuple[tuple[str, pa.DataType | None], ...]
    """Join keys and request fields, each a column under its own name, in this order."""
    features: tuple[FeatureColumn, ...]
    sample_rate: float
    sampler_key: tuple[tuple[str, ValueType], ...]
    """The join keys (name, type) whose serialized entity key decides sampling."""
    codec: EntityKeyCodec = field(repr=False, compare=False)

    @property
    def sampled_keys(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.sampler_key)

    def schema(self) -> pa.Schema:
        """Feast's feature-logging schema for this shape (inferred types left to the data)."""
        fields = [pa.field(name, arrow_type or pa.null()) for name, arrow_type in self.key_columns]
        for column in self.features:
            fields += [pa.field(column.name, column.arrow_type or pa.null()),
                       pa.field(column.name + log_layout.TIMESTAMP_SUFFIX,
                                log_layout.TIMESTAMP_TYPE),
                       pa.field(column.name + log_layout.STATUS_SUFFIX, log_layout.STATUS_TYPE)]
        return pa.schema([*fields, *log_layout.SYSTEM_FIELDS])


def arrow_type(feast_type: Any) -> pa.DataType | None:
    """The Arrow type Feast's feature logging uses for a Feast type (None: no mapping)."""
    try:
        found = FEAST_TYPE_TO_ARROW_TYPE.get(feast_type)
    except TypeError:  # unhashable exotic types
        return None
    return found if isinstance(found, pa.DataType) else None


def arrow_type_of_value_type(value_type: ValueType) -> pa.DataType | None:
    try:
        return arrow_type(from_value_type(value_type))
    except (ValueError, KeyError):
        return None


def sample_rate_for(service: str, tags: Mapping[str, str], default: float) -> float:
    """The service's tag when it holds a number in [0, 1], else the global rate.

    A malformed tag comes from the repo, not the request: it must not fail lookups, so it is
    reported once per service and value, naming the tag and what is wrong with it.
    """
    raw = tags.get(SAMPLE_RATE_TAG)
    if raw is None:
        return default
    try:
        rate = float(raw)
    except ValueError:
        rate = math.nan
    if not 0.0 <= rate <= 1.0:
        if (service, raw) not in _warned_tags:
            _warned_tags.add((service, raw))
            log.warning("feature service %r: tag %s=%r is not a number in [0, 1]; "
                        "using the global rate %s", service, SAMPLE_RATE_TAG, raw, default)
        return default
    return rate


def build_shape(
    *,
    project: str,
    feature_service: str | None,
    join_keys: Sequence[tuple[str, ValueType]],
    request_fields: Sequence[tuple[str, Any]],
    features: Sequence[tuple[str, str, pa.DataType | None]],
    sample_rate: float,
) -> LogShape:
    """A shape from a lookup's resolved parts; `features` are (shown view, feature, type)."""
    keys = tuple(sorted(dict(join_keys).items()))
    log_name = log_layout.log_name_for(feature_service)
    if not log_layout.is_safe_log_name(log_name):
        if (log_name, "") not in _warned_tags:
            _warned_tags.add((log_name, ""))
            log.warning("feature service %r is not logged: its name cannot be a directory name "
                        "(letters, digits, '_', '.', '-')", log_name)
        sample_rate = 0.0
    key_columns = [(name, arrow_type_of_value_type(value_type)) for name, value_type in keys]
    key_columns += [(name, arrow_type(dtype)) for name, dtype in sorted(request_fields)]
    return LogShape(
        log_name=log_name,
        project=project,
        feature_service=feature_service or "",
        key_columns=tuple(key_columns),
        features=tuple(FeatureColumn(view, feature, kind) for view, feature, kind in features),
        sample_rate=sample_rate,
        sampler_key=keys,
        codec=EntityKeyCodec(keys, project),
    )
