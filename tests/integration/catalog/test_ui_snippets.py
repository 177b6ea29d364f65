"""Every code block the UI shows runs as shown and answers with values.

The shop repo is applied, its Parquet history written and materialized into Redis, and the real
app served over HTTP. Every page (home, each feature view, service and entity) is rendered,
every `<pre class="snippet">` extracted: curl blocks run in bash, Python blocks in this venv's
interpreter with a write key in FEATUREBANK_API_KEY. Both must succeed, and where the page took
its example key from history (no placeholder note), every value must be set: in the training
set unless the page names a view no single event time covers (the shop's inventory is days
older than its customers' rows), online unless the page says a view is stale (older than its
TTL), when that view's values answer OUTSIDE_MAX_AGE.
"""

from __future__ import annotations

import html
import json
import os
import re
import subprocess
import sys
import uuid
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
import pytest
import redis

from featurebank.definitions import load_definitions
from featurebank.feast_repo import apply_repo, open_store
from featurebank.materialize import materialize
from featurebank.settings import Settings
from server.app import create_app
from tests.integration.catalog.conftest import write_shop_data
from tests.support.live_server import live_server
from tests.support.repos import write_repo
from tests.unit.catalog.shop_repo import SOURCE

pytestmark = [
    pytest.mark.integration,
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore::RuntimeWarning"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
]

SECRET = "snippets-" + uuid.uuid4().hex
SNIPPET = re.compile(r'<pre class="snippet" data-lang="(\w+)"[^>]*><code>(.*?)</code></pre>', re.S)
PYTHON_CHECK = """
_nulls = [c for c in df.columns if df[c].isna().any()]
print("NULL_COLUMNS=" + ",".join(_nulls))
"""


@dataclass
class Served:
    base: str
    settings: Settings


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, redis_url: str) -> Iterator[Served]:
    root = tmp_path_factory.mktemp("snippets")
    repo = write_repo(root, "snip_" + uuid.uuid4().hex[:8], SOURCE)
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, FEATUREBANK_REPO=str(repo), FEATUREBANK_DATA_DIR=str(root / "data"),
        REDIS_URL=redis_url, FEATUREBANK_REGISTRY_REFRESH_S=0,
        FEATUREBANK_API_KEYS=f"ci:{SECRET}:read+write",
    )
    write_shop_data(settings.data_path, datetime.now(UTC))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        apply_repo(settings)
        definitions = load_definitions(open_store(settings))
    client = redis.Redis.from_url(redis_url)
    try:
        with_history = [v.name for v in definitions.views.values()
                        if v.source is not None and v.name != "product_price_live"]
        materialize(definitions, client, views=with_history)
    finally:
        client.close()
    with live_server(create_app(settings)) as base:
        yield Served(base, settings)


def pages(base: str) -> list[str]:
    found = ["/"]
    for kind in ("feature-views", "feature-services", "entities", "data-sources"):
        items = httpx.get(f"{base}/catalog/{kind}", timeout=60).json()["items"]
        found += [f"/ui/{kind}/{item['name']}" for item in items]
    return found


def run_curl(code: str) -> dict[str, object]:
    env = {**os.environ, "FEATUREBANK_API_KEY": SECRET}  # a push sends the write key
    done = subprocess.run(["bash", "-c", code], capture_output=True, text=True, timeout=60,
                          check=False, env=env)
    assert done.returncode == 0, done.stderr
    body: dict[str, object] = json.loads(done.stdout)
    assert "error" not in body, body
    return body


def run_python(code: str) -> list[str]:
    env = {**os.environ, "FEATUREBANK_API_KEY": SECRET}
    done = subprocess.run([sys.executable, "-c", code + PYTHON_CHECK], capture_output=True,
                          text=True, timeout=300, env=env, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    line = next(x for x in done.stdout.splitlines() if x.startswith("NULL_COLUMNS="))
    return [c for c in line.removeprefix("NULL_COLUMNS=").split(",") if c]


def gap_columns(base: str, page: str) -> set[str]:
    """Feature columns of the views a page says no single event time covers."""
    note = re.search(r'id="snippet-gaps">[^:]*: (.*?) ha(?:s|ve) no row', page)
    if note is None:
        return set()
    columns: set[str] = set()
    for view in html.unescape(note.group(1)).split(", "):
        body = httpx.get(f"{base}/catalog/feature-views/{view}", timeout=60).json()
        columns |= {f["name"] for f in body["features"]}
    return columns


def test_every_snippet_on_every_page_runs_and_answers_with_values(served: Served) -> None:
    ran: dict[str, int] = {"curl": 0, "python": 0}
    sources = 0
    for page in pages(served.base):
        reply = httpx.get(served.base + page, timeout=120)
        assert reply.status_code == 200, (page, reply.text[:500])
        blocks = [(lang, html.unescape(code)) for lang, code in SNIPPET.findall(reply.text)]
        if page.startswith("/ui/feature-"):
            assert {lang for lang, _ in blocks} == {"curl", "python"}, page
        placeholders = 'id="snippet-placeholders"' in reply.text
        stale = 'id="snippet-stale"' in reply.text
        if page.startswith("/ui/data-sources/"):  # push a row / read files: see run_source
            sources += run_source(page, blocks)
            continue
        for lang, code in blocks:
            ran[lang] += 1
            if lang == "curl":
                body = run_curl(code)
                results = body["results"]
                assert isinstance(results, list)
                values = [v for r in results for v in r["values"]]
                if not placeholders:  # a stale view's value is older than its TTL: no value
                    allowed = {"PRESENT", "OUTSIDE_MAX_AGE"} if stale else {"PRESENT"}
                    for r in results:
                        for value, status in zip(r["values"], r["statuses"], strict=True):
                            assert status in allowed, (page, body)
                            assert value is not None or status == "OUTSIDE_MAX_AGE", (page, body)
                    assert any(v is not None for v in values), page
            else:
                nulls = run_python(code)
                if not placeholders:  # only the views the page names as gaps may be empty
                    assert set(nulls) <= gap_columns(served.base, reply.text), (page, nulls)
    assert ran["curl"] >= 10
    assert ran["python"] == ran["curl"]
    assert sources >= 3  # the push source's curl and file sources' reads


def run_source(page: str, blocks: list[tuple[str, str]]) -> int:
    """A source page's push curl writes its row online; its file read prints rows."""
    for lang, code in blocks:
        if lang == "curl":
            body = run_curl(code)
            assert body["rows"] == 1, (page, body)
            assert body["online_written"], (page, body)
        else:
            done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                  timeout=120, check=False)
            assert done.returncode == 0, (page, done.stderr[-2000:])
            assert "Empty DataFrame" not in done.stdout, (page, done.stdout)
    return len(blocks)


def test_a_view_without_history_says_its_keys_are_placeholders(served: Served) -> None:
    text = httpx.get(served.base + "/ui/feature-views/product_price_live", timeout=60).text
    assert 'id="snippet-placeholders"' in text
    text = httpx.get(served.base + "/ui/feature-views/customer_order_stats", timeout=60).text
    assert 'id="snippet-placeholders"' not in text


def test_a_stream_views_join_key_is_not_a_feature_anywhere(served: Served) -> None:
    base = served.base
    view = httpx.get(f"{base}/catalog/feature-views/checkout_activity_live", timeout=60).json()
    names = [f["name"] for f in view["features"]]
    assert names
    assert "customer_id" not in names
    assert view["feature_count"] == len(names) == 3
    unused = httpx.get(f"{base}/catalog/unused", params={"days": 1}, timeout=60).json()
    assert "checkout_activity_live:customer_id" not in {f["feature"] for f in unused["features"]}
    page = httpx.get(f"{base}/ui/feature-views/checkout_activity_live", timeout=60).text
    curl = html.unescape(dict(SNIPPET.findall(page))["curl"])
    assert "checkout_activity_live:customer_id" not in curl


def test_pages_show_times_and_counts_for_people(served: Served) -> None:
    base = served.base
    reply = httpx.post(f"{base}/get-online-features", json={
        "features": ["customer_order_stats:orders_count_7d"], "entities": {"customer_id": [1]}})
    assert reply.status_code == 200
    catalog = httpx.get(f"{base}/catalog/feature-views/customer_order_stats", timeout=60).json()
    assert catalog["feature_services"] == ["recommendations_v1"]  # exactly one
    view = httpx.get(f"{base}/ui/feature-views/customer_order_stats", timeout=60).text
    assert "1 feature service," in view
    assert "1 feature services" not in view
    assert "0 on-demand views" in view
    usage = httpx.get(f"{base}/ui/usage", timeout=60).text
    assert "(unix)" not in usage
    assert re.search(r"since \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC \(", usage)
    assert not re.search(r"<td>1\d{9}(\.\d+)?</td>", usage)  # no raw epoch seconds


@pytest.mark.parametrize(("path", "heading"), [
    ("/ui/feature-services/fraud_screening_v2", "service-name"),
    ("/ui/entities/customer", "entity-name"),
])
def test_service_and_entity_pages_are_pages_not_json(served: Served, path: str,
                                                     heading: str) -> None:
    text = httpx.get(served.base + path, timeout=60).text
    assert f'id="{heading}"' in text
    assert "<h2>JSON</h2>" not in text
    assert text.count('class="node ') >= 3  # lineage boxes
    assert 'class="badge fresh"' in text
    assert 'data-lang="curl"' in text
    assert 'data-lang="python"' in text


def test_api_docs_need_no_internet(served: Served) -> None:
    page = httpx.get(served.base + "/docs", timeout=60)
    assert page.status_code == 200
    scripts = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert scripts
    assert all(s.startswith("/") for s in scripts), scripts  # nothing from another host
    for asset in scripts:
        reply = httpx.get(served.base + asset, timeout=60)
        assert reply.status_code == 200, asset
        assert len(reply.content) > 500
    assert httpx.get(served.base + "/static/swagger-ui/..%2Fsettings.py").status_code == 404
    assert httpx.get(served.base + "/openapi.json").json()["openapi"].startswith("3.")


@pytest.mark.parametrize(("path", "shown"), [
    ("/ui/data-sources/price_updates_push", ['id="snippet-push"', "POST /push"]),
    ("/ui/data-sources/customer_orders_daily", ['id="snippet-read"', 'id="source-files"',
                                                "<code>orders_count_7d</code>"]),
    ("/ui/data-sources/checkout_events", ["shop-checkout-events", 'id="schema"',
                                          "checkout_events_history"]),
])
def test_data_source_pages_are_pages_not_json(served: Served, path: str,
                                              shown: list[str]) -> None:
    text = httpx.get(served.base + path, timeout=60).text
    assert 'id="source-name"' in text
    assert "<h2>JSON</h2>" not in text
    assert text.count('class="node ') >= 3  # lineage: data → source → views
    assert 'class="view-row"' in text  # the views it feeds, with their freshness
    for piece in shown:
        assert piece in text, piece
