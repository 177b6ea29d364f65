"""The monitoring panel of a view page: plots over time, reference beside current, freshness and
breaches, all inline SVG and escaped."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from featurebank.monitoring.store import ReportStore, view_history
from server.routes.monitoring import panel_context
from server.routes.ui import templates
from tests.integration.monitoring.monitor_api_support import (  # noqa: F401 - *_fixture: fixtures
    VIEW,
    MonitorRepo,
    client_fixture,
    no_runs_fixture,
    repo_fixture,
)
from tests.support.monitor_reports import drift_breach, sample_report, write_report

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("no_runs")]

VIEW_TEMPLATE = Path(__file__).resolve().parents[3] / "server" / "templates" / "view.html"


def persist_history(data: Path) -> None:
    now = datetime.now(UTC)
    for i, psi in enumerate((0.02, 0.04, 0.3, 0.6)):
        report = sample_report(f"20260101T00{i}000Z-abcdef", VIEW, shifted_psi=psi,
                               at=now - timedelta(minutes=10 * (4 - i)),
                               match_rate_rows=(100, 100 - i))
        if i == 3:  # a message is data: it must reach HTML escaped
            evil = replace(drift_breach(VIEW, "x", psi), message="<script>alert(1)</script>")
            report = replace(report, breaches=[evil])
        write_report(data, report, age_s=100 - 10 * i)


def render_panel(data: Path, view: str) -> str:
    context = panel_context(view_history(ReportStore(data).runs(), view))
    return templates.get_template("monitoring_panel.html").render(monitoring=context,
                                                                  v={"name": view})


def test_panel_draws_history_histograms_freshness_and_breaches(repo: MonitorRepo) -> None:
    persist_history(repo.data)
    html = render_panel(repo.data, VIEW)
    assert 'aria-label="PSI of x over time"' in html
    assert 'aria-label="match rate of x over time"' in html
    psi_svg = html.split('aria-label="PSI of x over time"')[1].split("</svg>")[0]
    assert psi_svg.count("<circle") == 4  # one point per run
    assert psi_svg.count('fill="#c0392b"><title>') == 2  # the two runs over 0.2
    assert "<title>threshold 0.2</title>" in psi_svg
    assert 'aria-label="reference · 500 rows"' in html
    assert 'aria-label="current · 400 rows"' in html
    assert "<title>[3, 4): 48 (48.0%)</title>" in html  # the current window's shifted bin
    assert "<title>b: 4 (40.0%)</title>" in html  # a categorical feature
    assert 'class="badge fresh">30s old</span>' in html
    assert "vs SLA 10.0m" in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script>" not in html
    assert "http" not in html.replace("http://www.w3.org", "")  # nothing fetched: works offline


def test_panel_without_runs_says_how_to_get_one(repo: MonitorRepo) -> None:
    html = render_panel(repo.data, VIEW)
    assert "No monitoring run covers this view yet" in html


def test_view_page_renders_with_the_panel_context(client: TestClient, repo: MonitorRepo) -> None:
    persist_history(repo.data)
    page = client.get(f"/ui/feature-views/{VIEW}")
    assert page.status_code == 200
    if "monitoring_panel.html" in VIEW_TEMPLATE.read_text():  # the include is the UI's to add
        assert 'id="monitoring"' in page.text
        assert 'aria-label="PSI of x over time"' in page.text
