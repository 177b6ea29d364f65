"""Reads per feature survive a registry change (plans retired from the cache)."""

from __future__ import annotations

from types import SimpleNamespace

from server.lookup.plan import LookupPlan, PlanCache
from server.metrics import ApiStats, render


def test_retired_plans_keep_their_reads_in_metrics() -> None:
    cache = PlanCache()
    plan = LookupPlan(id=1, feature_refs=("v:a", "v:b"), groups=(), outputs=(),
                      join_keys=frozenset(), request_fields=frozenset(), odfvs=(),
                      full_feature_names=False)
    plan.lookups = 5
    cache._plans[("k",)] = plan
    stats = ApiStats()
    stats.observe(200, 0.003)
    before = render(stats, cache, lambda: "v1").decode()
    cache.reset(SimpleNamespace(version="v2"))  # type: ignore[arg-type]
    cache.retired.clear()  # the catalog's collector drains this list
    after = render(stats, cache, lambda: "v2").decode()
    for text in (before, after):
        assert 'feature="v:a"' in text
        line = next(x for x in text.splitlines() if 'feature="v:b"' in x)
        assert line.endswith(" 5.0")
    assert 'featurebank_online_request_seconds_bucket{le="0.005"' in after
