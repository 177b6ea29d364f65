"""Thresholds from Feast tags: defaults, view tags, field overrides, and bad values."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from feast import Entity, FeatureView, Field, FileSource, ValueType
from feast.types import Float64, Int64

from featurebank.definitions import ViewSpec, compile_view
from featurebank.errors import InvalidInput
from featurebank.monitoring import thresholds as th


def _view(tags: dict[str, str] | None = None, field_tags: dict[str, str] | None = None,
          ttl: timedelta | None = timedelta(hours=2)) -> ViewSpec:
    entity = Entity(name="thing", join_keys=["thing_id"], value_type=ValueType.INT64)
    source = FileSource(name="src", path="/tmp/none/*.parquet", timestamp_field="ts")
    view = FeatureView(
        name="things", entities=[entity], ttl=ttl, source=source, tags=tags or {},
        schema=[Field(name="thing_id", dtype=Int64),
                Field(name="a", dtype=Float64, tags=field_tags or {}),
                Field(name="b", dtype=Float64)])
    return compile_view(view, "p", {"thing": entity})


def test_defaults_and_ttl() -> None:
    found = th.view_thresholds(_view())
    assert found.default == th.FeatureThresholds(psi_max=0.2, js_max=0.1, match_min=0.99,
                                                 null_rate_delta_max=0.1)
    assert found.freshness_max_s == 7200
    assert found.problems == ()
    assert th.view_thresholds(_view(ttl=None)).freshness_max_s == th.DEFAULT_FRESHNESS_S
    assert th.view_thresholds(_view(ttl=timedelta(0))).freshness_max_s == 3600


def test_view_tags_then_field_overrides() -> None:
    found = th.view_thresholds(_view(
        tags={"monitor.psi_max": "0.5", "monitor.freshness_max": "15m",
              "monitor.match_min": "0.9"},
        field_tags={"monitor.psi_max": "0.05", "monitor.null_rate_delta_max": "0.3"}))
    assert found.freshness_max_s == 900
    assert found.for_feature("b").psi_max == 0.5
    assert found.for_feature("b").match_min == 0.9
    a = found.for_feature("a")
    assert (a.psi_max, a.match_min, a.null_rate_delta_max, a.js_max) == (0.05, 0.9, 0.3, 0.1)


@pytest.mark.parametrize(("text", "seconds"), [
    ("900", 900), ("15m", 900), ("2h", 7200), ("1d", 86400), ("90s", 90), ("1.5h", 5400),
    ("500ms", 0.5), (" 2 h ", 7200)])
def test_durations(text: str, seconds: float) -> None:
    assert th.parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "abc", "15 minutes", "-5m", "0", "1e3", "m"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ValueError, match="duration"):
        th.parse_duration(text)


def test_bad_tags_fall_back_with_a_warning_naming_them(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="featurebank.monitoring"):
        found = th.view_thresholds(_view(
            tags={"monitor.freshness_max": "soon", "monitor.js_max": "2"},
            field_tags={"monitor.psi_max": "high", "monitor.match_min": "0.5"}))
    assert found.freshness_max_s == 7200  # the TTL, not the bad tag
    assert found.default.js_max == 0.1
    assert found.for_feature("a").psi_max == 0.2
    assert found.for_feature("a").match_min == 0.5  # the good tag beside a bad one still counts
    assert len(found.problems) == 3
    text = " | ".join(found.problems)
    assert "'things'" in text
    assert "monitor.freshness_max = 'soon'" in text
    assert "monitor.js_max = '2'" in text
    assert "feature things:a: tag monitor.psi_max = 'high'" in text
    assert len([r for r in caplog.records if "monitor." in r.getMessage()]) == 3


def test_parse_tag_raises_invalid_input() -> None:
    with pytest.raises(InvalidInput, match=r"feature view 'v': tag monitor.psi_max = 'nan'"):
        th.parse_tag("v", None, th.PSI_MAX, "nan")
    with pytest.raises(InvalidInput, match="between 0 and 1"):
        th.parse_tag("v", "f", th.MATCH_MIN, "1.5")
    assert th.parse_tag("v", "f", th.PSI_MAX, "3") == 3.0


def test_a_bad_freshness_tag_reports_the_fallback_in_plain_seconds() -> None:
    """A 30-day TTL was reported as 'using 2.592e+06s', which nobody reads at a glance."""
    found = th.view_thresholds(_view(tags={th.FRESHNESS_MAX: "soon"}, ttl=timedelta(days=30)))
    assert found.freshness_max_s == 2_592_000
    assert len(found.problems) == 1
    assert found.problems[0].endswith("; using 2592000s")
