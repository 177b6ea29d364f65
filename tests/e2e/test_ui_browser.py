"""The web UI in a real headless Chromium, driven over the W3C WebDriver protocol.

chromedriver speaks plain JSON over HTTP, so httpx drives it without a Selenium dependency:
open the home page, type a query into the search box, submit, open the top feature-view hit,
and check the histogram and freshness badge are rendered. The screenshot lands in
test-artifacts/ (gitignored). Skipped, saying why, when chromium/chromedriver are absent.
"""

from __future__ import annotations

import base64
import shutil
import subprocess
import time
import uuid
import warnings
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from featurebank.feast_repo import apply_repo
from featurebank.settings import Settings
from server.app import create_app
from tests.integration.catalog.conftest import write_shop_data
from tests.support.live_server import live_server
from tests.support.repos import write_repo
from tests.support.services import free_port, wait_for_port
from tests.unit.catalog.shop_repo import SOURCE

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
ELEMENT = "element-6066-11e4-a52e-4f735466cecf"

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.slow,
    pytest.mark.skipif(CHROMIUM is None or CHROMEDRIVER is None,
                       reason="needs Debian's chromium and chromium-driver (apt-get install)"),
    pytest.mark.filterwarnings("ignore::RuntimeWarning"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
]


class Browser:
    """A minimal WebDriver client: just what this test needs."""

    def __init__(self, base: str) -> None:
        self.http = httpx.Client(base_url=base, timeout=30)
        caps = {"capabilities": {"alwaysMatch": {"browserName": "chrome", "goog:chromeOptions": {
            "binary": CHROMIUM,
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                     "--disable-dev-shm-usage", "--window-size=1280,1800"]}}}}
        self.session = self._call("POST", "/session", caps)["sessionId"]

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        reply = self.http.request(method, path, json=body)
        value = reply.json()["value"]
        if reply.status_code != 200:
            raise AssertionError(f"webdriver {method} {path}: {value}")
        return value

    def cmd(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        return self._call(method, f"/session/{self.session}{path}", body)

    def get(self, url: str) -> None:
        self.cmd("POST", "/url", {"url": url})

    def find(self, css: str) -> str:
        return str(self.cmd("POST", "/element", {"using": "css selector", "value": css})[ELEMENT])

    def find_all(self, css: str) -> list[str]:
        found = self.cmd("POST", "/elements", {"using": "css selector", "value": css})
        return [str(e[ELEMENT]) for e in found]

    def text(self, element: str) -> str:
        return str(self.cmd("GET", f"/element/{element}/text"))

    def attr(self, element: str, name: str) -> str | None:
        value = self.cmd("GET", f"/element/{element}/attribute/{name}")
        return None if value is None else str(value)

    def type(self, element: str, text: str) -> None:
        self.cmd("POST", f"/element/{element}/value", {"text": text})

    def click(self, element: str) -> None:
        self.cmd("POST", f"/element/{element}/click", {})

    def run(self, script: str) -> Any:
        return self.cmd("POST", "/execute/sync", {"script": script, "args": []})

    def screenshot(self, path: Path) -> None:
        path.write_bytes(base64.b64decode(self.cmd("GET", "/screenshot")))

    def close(self) -> None:
        self.http.delete(f"/session/{self.session}")
        self.http.close()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, redis_url: str) -> Iterator[str]:
    root = tmp_path_factory.mktemp("ui")
    repo = write_repo(root, "ui_" + uuid.uuid4().hex[:8], SOURCE)
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, FEATUREBANK_REPO=str(repo), FEATUREBANK_DATA_DIR=str(root / "data"),
        REDIS_URL=redis_url, FEATUREBANK_REGISTRY_REFRESH_S=0,
    )
    write_shop_data(settings.data_path, datetime.now(UTC))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        apply_repo(settings)
    with live_server(create_app(settings)) as base:
        yield base


@pytest.fixture
def browser() -> Iterator[Browser]:
    assert CHROMEDRIVER is not None
    port = free_port()
    driver = subprocess.Popen([CHROMEDRIVER, f"--port={port}"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port)
        session = Browser(f"http://127.0.0.1:{port}")
        try:
            yield session
        finally:
            session.close()
    finally:
        driver.terminate()
        driver.wait(timeout=10)


def test_search_open_view_see_histogram_and_freshness(served: str, browser: Browser) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    browser.get(served + "/")
    box = browser.find("form.search input[name=q]")
    browser.type(box, "customer order value")
    browser.click(browser.find("form.search button[type=submit]"))
    first = browser.find("table.results tr.hit a")
    assert browser.text(first) == "customer_order_stats:avg_order_value_30d"
    browser.screenshot(ARTIFACTS / "catalog-search.png")
    browser.click(first)
    assert browser.text(browser.find("#view-name")).startswith("customer_order_stats")
    badge = browser.find("#freshness")
    assert browser.text(badge).startswith("fresh")
    assert "fresh" in (browser.attr(badge, "class") or "")
    bars = browser.find_all("svg.histogram rect")
    assert len(bars) >= 20
    assert browser.find_all("svg#lineage g.node")
    curl = browser.text(browser.find("#snippet-curl"))
    assert "customer_id" in curl
    assert "/get-online-features" in curl
    browser.screenshot(ARTIFACTS / "catalog-feature-view.png")
    assert (ARTIFACTS / "catalog-feature-view.png").stat().st_size > 10_000
    # every code block shows all of its text: nothing cut off on the right
    widths = browser.run("return [...document.querySelectorAll('pre')]"
                         ".map(p => [p.scrollWidth, p.clientWidth]);")
    assert widths
    assert all(scroll <= client for scroll, client in widths), widths


def test_service_and_entity_pages_in_a_browser(served: str, browser: Browser) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    for path, heading in (("/ui/feature-services/fraud_screening_v2", "#service-name"),
                          ("/ui/entities/customer", "#entity-name")):
        browser.get(served + path)
        assert browser.text(browser.find(heading))
        assert browser.find_all("svg#lineage g.node")
        assert browser.find_all("svg#lineage path.edge")
        assert browser.find_all("#views .badge")
        assert "/get-online-features" in browser.text(browser.find("#snippet-curl"))
        name = path.rsplit("/", 2)[-2]
        browser.screenshot(ARTIFACTS / f"catalog-{name}.png")


def test_api_docs_render_offline(served: str, browser: Browser) -> None:
    browser.get(served + "/docs")
    deadline = time.monotonic() + 20
    while not browser.find_all(".opblock") and time.monotonic() < deadline:
        time.sleep(0.2)
    assert len(browser.find_all(".opblock")) >= 5  # operations rendered from /openapi.json
