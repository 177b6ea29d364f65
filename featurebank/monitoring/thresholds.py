"""Monitoring thresholds, read from Feast tags so a team sets them where it defines features.

A feature view's tags set its thresholds (`monitor.psi_max`, `monitor.js_max`,
`monitor.match_min`, `monitor.null_rate_delta_max`, `monitor.freshness_max`); a field's own
tags override the view's for that one feature (all but `monitor.freshness_max`, which is per
view). A bad value is reported (naming the view, the feature and the tag) and the default is
used: one typo must not stop a run from checking every other view.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from featurebank.definitions import ViewSpec
from featurebank.errors import InvalidInput

log = logging.getLogger("featurebank.monitoring")

PSI_MAX = "monitor.psi_max"
JS_MAX = "monitor.js_max"
MATCH_MIN = "monitor.match_min"
NULL_RATE_DELTA_MAX = "monitor.null_rate_delta_max"
FRESHNESS_MAX = "monitor.freshness_max"
DEFAULT_FRESHNESS_S = 3600.0
"""Used for a view with neither a `monitor.freshness_max` tag nor a TTL."""

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)?\s*$")
_UNIT_S = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}


@dataclass(frozen=True)
class FeatureThresholds:
    """The limits one feature is held to."""

    psi_max: float = 0.2
    js_max: float = 0.1
    match_min: float = 0.99
    null_rate_delta_max: float = 0.1


@dataclass(frozen=True)
class ViewThresholds:
    """A view's freshness limit and its features' limits (view tags, then field tags)."""

    view: str
    freshness_max_s: float
    default: FeatureThresholds
    features: dict[str, FeatureThresholds] = field(default_factory=dict)
    problems: tuple[str, ...] = ()
    """Tags that could not be read (the default was used instead), one message each."""

    def for_feature(self, feature: str) -> FeatureThresholds:
        return self.features.get(feature, self.default)


def parse_duration(text: str) -> float:
    """Seconds in `900`, `90s`, `15m`, `2h`, `1d`, `1w` or `500ms`; ValueError otherwise."""
    match = _DURATION.match(text)
    if match is None:
        raise ValueError(f"{text!r} is not a duration like '900', '15m', '2h' or '1d'")
    seconds = float(match.group(1)) * _UNIT_S[match.group(2) or "s"]
    if seconds <= 0:
        raise ValueError(f"{text!r} must be a positive duration")
    return seconds


def _fraction(text: str, *, upper: float | None) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a number") from None
    if not math.isfinite(value) or value < 0 or (upper is not None and value > upper):
        bound = f"between 0 and {upper:g}" if upper is not None else "a finite number >= 0"
        raise ValueError(f"{text!r} must be {bound}")
    return value


_FEATURE_TAGS = {PSI_MAX: ("psi_max", None), JS_MAX: ("js_max", 1.0),
                 MATCH_MIN: ("match_min", 1.0), NULL_RATE_DELTA_MAX: ("null_rate_delta_max", 1.0)}


def parse_tag(view: str, feature: str | None, tag: str, value: str) -> float:
    """One tag's value, or `InvalidInput` naming the view, the feature and the tag."""
    try:
        if tag == FRESHNESS_MAX:
            return parse_duration(value)
        return _fraction(value, upper=_FEATURE_TAGS[tag][1])
    except ValueError as exc:
        where = f"feature {view}:{feature}" if feature else f"feature view {view!r}"
        raise InvalidInput(f"{where}: tag {tag} = {value!r} is invalid: {exc}",
                           detail={"feature_view": view, "feature": feature, "tag": tag}) from None


def _apply(base: FeatureThresholds, tags: Mapping[str, str], view: str, feature: str | None,
           problems: list[str]) -> FeatureThresholds:
    values: dict[str, float] = {}
    for tag, (attribute, _) in _FEATURE_TAGS.items():
        if tag not in tags:
            continue
        try:
            values[attribute] = parse_tag(view, feature, tag, str(tags[tag]))
        except InvalidInput as exc:
            problems.append(f"{exc.message}; using {getattr(base, attribute):g}")
    return replace(base, **values) if values else base


def view_thresholds(view: ViewSpec) -> ViewThresholds:
    """Thresholds of `view`; unreadable tags are logged and listed in `problems`."""
    feast_view = view.feast_view
    problems: list[str] = []
    view_tags = dict(feast_view.tags or {})
    default = _apply(FeatureThresholds(), view_tags, view.name, None, problems)
    freshness = view.ttl_seconds or DEFAULT_FRESHNESS_S
    if FRESHNESS_MAX in view_tags:
        try:
            freshness = parse_tag(view.name, None, FRESHNESS_MAX, str(view_tags[FRESHNESS_MAX]))
        except InvalidInput as exc:
            problems.append(f"{exc.message}; using {freshness:.10g}s")
    features: dict[str, FeatureThresholds] = {}
    for feast_field in feast_view.features:
        field_tags = dict(getattr(feast_field, "tags", None) or {})
        if any(tag in field_tags for tag in _FEATURE_TAGS):
            features[feast_field.name] = _apply(default, field_tags, view.name, feast_field.name,
                                                problems)
    for problem in problems:
        log.warning("monitoring thresholds: %s", problem)
    return ViewThresholds(view=view.name, freshness_max_s=freshness, default=default,
                          features=features, problems=tuple(problems))
