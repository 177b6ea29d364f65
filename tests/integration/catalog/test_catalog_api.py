"""The catalog over HTTP against a real registry, real Parquet history and real Redis."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
import redis

from featurebank.catalog.training_uses import list_training_uses
from featurebank.freshness import advance_watermarks
from featurebank.training.jobs import JOB_FILE, jobs_root
from tests.integration.catalog.conftest import CUSTOMERS, ShopApp

pytestmark = [
    pytest.mark.integration,
    # Feast warns whenever it builds a stream or on-demand view (they are "alpha" in Feast).
    pytest.mark.filterwarnings("ignore:Stream feature views are experimental:RuntimeWarning"),
    pytest.mark.filterwarnings("ignore:On demand feature view is an experimental:RuntimeWarning"),
]


def test_search_ranks_and_explains(shop_app: ShopApp) -> None:
    body = shop_app.client.get("/catalog/search", params={"q": "chargeback rate"}).json()
    top = body["hits"][0]
    assert top["name"] == "merchant_risk_daily:chargeback_rate_30d"
    assert top["kind"] == "feature"
    assert top["owner"] == "risk-ml@shop.example"
    assert set(top["why"]) >= {"text", "coverage", "matched", "usage", "freshness", "health"}
    assert top["why"]["matched"] == {"chargeback": "chargeback", "rate": "rate"}


def test_search_filters(shop_app: ShopApp) -> None:
    client = shop_app.client
    views = client.get("/catalog/search", params={"q": "customer", "kind": "feature_view"}).json()
    assert views["hits"]
    assert all(h["kind"] == "feature_view" for h in views["hits"])
    risk = client.get("/catalog/search", params={"q": "rate", "owner": "risk-ml"}).json()
    assert risk["hits"]
    assert all(h["owner"].startswith("risk-ml") for h in risk["hits"])
    hourly = client.get("/catalog/search", params={"tag": "cadence:hourly"}).json()
    assert {h["name"] for h in hourly["hits"]} >= {"product_inventory", "warehouse_inventory"}
    bad = client.get("/catalog/search", params={"q": "x", "kind": "spaceship"})
    assert bad.status_code == 422
    assert "spaceship" in bad.json()["error"]["message"]


def test_usage_reorders_otherwise_equal_hits(shop_app: ShopApp) -> None:
    client = shop_app.client
    query = {"q": "session count", "kind": "feature"}
    before = [h["name"] for h in client.get("/catalog/search", params=query).json()["hits"]]
    assert before[:2] == ["app_sessions_daily:session_count_7d",
                          "web_sessions_daily:session_count_7d"]  # tie: ordered by name
    for _ in range(3):
        reply = client.post("/get-online-features", json={
            "features": ["web_sessions_daily:session_count_7d"], "entities": {"customer_id": [1]}})
        assert reply.status_code == 200
    catalog = shop_app.client.app.state.featurebank.extras["catalog"]  # type: ignore[attr-defined]
    catalog.usage.interval = 0.0
    hits = client.get("/catalog/search", params=query).json()["hits"]
    assert [h["name"] for h in hits[:2]] == ["web_sessions_daily:session_count_7d",
                                            "app_sessions_daily:session_count_7d"]
    assert hits[0]["why"]["usage"]["reads"] >= 3
    assert hits[0]["why"]["text"] == hits[1]["why"]["text"]
    consumers = client.get("/catalog/consumers").json()["consumers"]
    assert any(c["consumer"] == "anonymous" and
               any(v["view"] == "web_sessions_daily" for v in c["views"]) for c in consumers)
    unused = client.get("/catalog/unused", params={"days": 1}).json()
    names = {f["feature"] for f in unused["features"]}
    assert "web_sessions_daily:session_count_7d" not in names
    assert "app_sessions_daily:session_count_7d" in names


@pytest.mark.parametrize("q", [
    "'; DROP TABLE features; --", "\" OR 1=1 --", "<script>alert('x')</script>",
    "<img src=x onerror=alert(1)>", "{{ 7*7 }}", "../../etc/passwd", "%00%27",
])
def test_injection_in_q_is_inert(shop_app: ShopApp, q: str) -> None:
    client = shop_app.client
    reply = client.get("/catalog/search", params={"q": q})
    assert reply.status_code == 200
    assert reply.json()["query"] == q
    page = client.get("/", params={"q": q})
    assert page.status_code == 200
    assert "<script>alert" not in page.text
    assert "<img src=x" not in page.text
    assert "49" not in page.text.split("result")[0][-200:]
    if "<" in q:
        assert "&lt;" in page.text
    assert client.get("/catalog/feature-views").status_code == 200  # nothing was dropped


def test_listings_and_not_found(shop_app: ShopApp) -> None:
    client = shop_app.client
    for kind, expected in [("entities", "customer"), ("feature-views", "basket_risk"),
                           ("feature-services", "fraud_screening_v2"),
                           ("data-sources", "checkout_events")]:
        body = client.get(f"/catalog/{kind}").json()
        assert expected in {item["name"] for item in body["items"]}
    assert client.get("/catalog/planets").status_code == 404
    missing = client.get("/catalog/feature-views/no_such_view")
    assert missing.status_code == 404
    assert "no_such_view" in missing.json()["error"]["message"]
    source = client.get("/catalog/data-sources/checkout_events").json()
    assert source["type"] == "kafka"
    assert source["topic"] == "shop-checkout-events"
    assert source["views"] == ["checkout_activity_live"]
    entity = client.get("/catalog/entities/customer").json()
    assert entity["join_key"] == "customer_id"
    assert "customer_order_stats" in entity["views"]


def test_feature_view_detail(shop_app: ShopApp) -> None:
    body = shop_app.client.get("/catalog/feature-views/customer_order_stats").json()
    assert body["type"] == "batch"
    assert body["ttl_seconds"] == 2 * 86400
    assert body["join_keys"] == [{"name": "customer_id", "type": "INT64"}]
    features = {f["name"]: f for f in body["features"]}
    refund = features["refund_rate_90d"]
    assert refund["type"] == "Float32"
    assert refund["description"].startswith("Share of orders")
    stats = refund["statistics"]
    assert stats["count"] == CUSTOMERS - CUSTOMERS // 10
    assert stats["null_pct"] == pytest.approx(10.0)
    assert 0 <= stats["min"] <= stats["p50"] <= stats["p95"] <= stats["p99"] <= stats["max"] <= 1
    assert sum(stats["histogram"]["counts"]) == stats["count"]
    assert body["statistics"]["rows"] == CUSTOMERS
    fresh = body["freshness"]
    assert fresh["status"] == "fresh"
    assert fresh["basis"] == "offline history"
    assert fresh["newest_event"].startswith(shop_app.newest_event.strftime("%Y-%m-%dT%H:%M"))
    assert body["sample_key"]["customer_id"] in range(1, CUSTOMERS + 1)
    down = body["lineage"]["downstream"]
    assert down["feature_services"] == ["recommendations_v1"]
    assert body["lineage"]["upstream"][0]["name"] == "customer_orders_daily"


def test_stream_odfv_and_stale_views(shop_app: ShopApp) -> None:
    client = shop_app.client
    live = client.get("/catalog/feature-views/checkout_activity_live").json()
    assert live["type"] == "stream"
    upstream = live["lineage"]["upstream"]
    assert upstream[0]["topic"] == "shop-checkout-events"
    assert upstream[1]["name"] == "checkout_events_history"
    odfv = client.get("/catalog/feature-views/basket_risk").json()
    assert odfv["type"] == "on_demand"
    assert odfv["source_views"] == ["merchant_risk_daily"]
    assert odfv["freshness"]["status"] == "unknown"
    inventory = client.get("/catalog/feature-views/product_inventory").json()
    assert inventory["freshness"]["status"] == "stale"  # 3 days old, TTL 3 hours
    top = {f["name"]: f for f in inventory["features"]}["warehouse_id"]["statistics"]
    assert {v["value"] for v in top["top_values"]} == {"wh-east", "wh-west"}
    prices = client.get("/catalog/feature-views/product_price_live").json()
    assert prices["statistics"] is None or "unavailable" in prices["statistics"]
    odfv_upstream = client.get("/catalog/feature-views/merchant_risk_daily").json()
    assert odfv_upstream["lineage"]["downstream"]["on_demand_views"] == ["basket_risk"]


def test_online_watermark_drives_freshness(shop_app: ShopApp) -> None:
    project = shop_app.client.app.state.featurebank.definitions.project  # type: ignore[attr-defined]
    client = redis.Redis.from_url(shop_app.settings.redis_url)
    written = datetime.now(UTC) - timedelta(seconds=30)
    advance_watermarks(client, project, {"customer_profile": written.timestamp()})
    client.close()
    fresh = shop_app.client.get("/catalog/feature-views/customer_profile").json()["freshness"]
    assert fresh["basis"] == "online watermark"
    assert 29 <= fresh["age_seconds"] < 120
    assert fresh["offline"]["rows"] == CUSTOMERS


def test_training_sets_count_as_usage_and_lineage(shop_app: ShopApp) -> None:
    jobs = jobs_root(shop_app.settings.data_path) / "ts-catalog-test"
    jobs.mkdir(parents=True, exist_ok=True)
    (jobs / JOB_FILE).write_text(json.dumps({
        "id": "ts-catalog-test", "status": "succeeded",
        "created_at": datetime.now(UTC).isoformat(),
        "feature_refs": ["merchant_risk_daily:dispute_count_30d"],
        "views": ["merchant_risk_daily"], "rows": 10}))
    catalog = shop_app.client.app.state.featurebank.extras["catalog"]  # type: ignore[attr-defined]
    catalog.usage.set_training(list_training_uses(shop_app.settings))
    body = shop_app.client.get("/catalog/feature-views/merchant_risk_daily").json()
    assert [t["id"] for t in body["lineage"]["downstream"]["training_sets"]] == ["ts-catalog-test"]
    unused = shop_app.client.get("/catalog/unused", params={"days": 1}).json()
    assert "merchant_risk_daily:dispute_count_30d" not in {f["feature"] for f in unused["features"]}


@pytest.mark.parametrize(("path", "params", "status", "expected"), [
    ("/ui/feature-views/no_such_view", {}, 404, "no feature view named &#39;no_such_view&#39;"),
    ("/ui/feature-views/<script>alert(1)</script>", {}, 404,
     "&lt;script&gt;alert(1)&lt;/script&gt;"),
    ("/ui/planets/earth", {}, 404, "unknown catalog kind &#39;planets&#39;"),
    ("/ui/feature-services/<b>x</b>", {}, 404, "&lt;b&gt;x&lt;/b&gt;"),
    ("/ui/nothing", {}, 404, "no page at /ui/nothing"),
    ("/ui/usage", {"days": "-1"}, 422, "invalid request: query.days"),
    ("/ui/usage", {"days": "<i>soon</i>"}, 422, "query.days"),
    ("/", {"q": "x" * 1000}, 422, "query.q"),
])
def test_ui_errors_are_escaped_html_pages(shop_app: ShopApp, path: str, params: dict[str, str],
                                          status: int, expected: str) -> None:
    page = shop_app.client.get(path, params=params)
    assert page.status_code == status
    assert page.headers["content-type"].startswith("text/html")
    assert expected in page.text
    assert "<script>alert" not in page.text
    assert "<b>x</b>" not in page.text
    assert '{"error"' not in page.text  # not the JSON envelope
    assert "<title>" in page.text
    assert 'href="/"' in page.text


def test_api_errors_stay_json(shop_app: ShopApp) -> None:
    for path, params, status in [("/catalog/feature-views/no_such_view", {}, 404),
                                 ("/catalog/unused", {"days": "-1"}, 422),
                                 ("/catalog/planets", {}, 404)]:
        reply = shop_app.client.get(path, params=params)
        assert reply.status_code == status
        assert reply.headers["content-type"] == "application/json"
        assert reply.json()["error"]["message"]
