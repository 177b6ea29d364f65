"""The periodic job: one run per period across replicas, and a drift breach reaches the webhook
exactly once, within one monitoring period."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from fastapi.testclient import TestClient

from featurebank.definitions import Definitions
from featurebank.monitoring.alerts import AlertNotifier, WebhookSender
from featurebank.monitoring.report import MonitorReport
from featurebank.settings import Settings
from server.app import create_app
from server.monitoring_job import MonitoringJob
from tests.integration.monitoring.monitor_api_support import (  # noqa: F401 - *_fixture: fixtures
    VIEW,
    MonitorRepo,
    monitor_settings,
    repo_fixture,
)
from tests.support.monitor_reports import sample_report, write_report
from tests.support.webhook import WebhookReceiver, webhook_receiver

pytestmark = pytest.mark.integration

INTERVAL_S = 1.0


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with webhook_receiver() as hook:
        yield hook


def test_two_replicas_run_once_per_period_and_alert_once(
        receiver: WebhookReceiver, redis_url: str, unique_name: str, tmp_path: Path) -> None:
    settings = Settings(_env_file=None, FEATUREBANK_DATA_DIR=str(tmp_path),  # type: ignore[call-arg]
                        REDIS_URL=redis_url, FEATUREBANK_MONITOR_INTERVAL_S=INTERVAL_S)
    numbers = itertools.count()
    calls: list[float] = []

    def runner(settings: Settings, definitions: Definitions) -> MonitorReport:
        calls.append(time.monotonic())
        report = sample_report(f"run-{next(numbers)}", VIEW, shifted_psi=0.6)
        write_report(settings.data_path, report)
        return report

    async def replicas(seconds: float) -> float:
        clients = [aioredis.Redis.from_url(redis_url) for _ in range(2)]
        jobs = [MonitoringJob(
            settings, client, lambda: None, runner=runner,  # type: ignore[arg-type, return-value]
            notifier=AlertNotifier(WebhookSender(receiver.url, backoff_s=0.01), client,
                                   namespace=f"{unique_name}:alerts", renotify_s=3600),
            namespace=unique_name) for client in clients]
        began = time.monotonic()
        for job in jobs:
            job.start()
        await asyncio.sleep(seconds)
        for job in jobs:
            await job.stop()
        for client in clients:
            await client.aclose()
        return began

    began = asyncio.run(replicas(3.6 * INTERVAL_S))
    assert 2 <= len(calls) <= 4, calls  # one run per period, not one per replica per period
    assert calls[0] - began < 2 * INTERVAL_S
    assert [(b["status"], b["key"]) for b in receiver.received] == [
        ("firing", "drift:orders:x:psi")]


def test_a_real_shift_fires_one_alert_within_a_period_and_the_steady_feature_none(
        receiver: WebhookReceiver, repo: MonitorRepo, redis_url: str) -> None:
    settings = monitor_settings(repo.repo, repo.data, redis_url,
                                FEATUREBANK_MONITOR_INTERVAL_S=INTERVAL_S,
                                FEATUREBANK_ALERT_WEBHOOK_URL=receiver.url,
                                FEATUREBANK_PUBLIC_URL="http://fb.test")
    with TestClient(create_app(settings)) as client:
        began = time.monotonic()
        first = receiver.wait_for(1, timeout=120)
        fired_after = time.monotonic() - began
        job = client.get("/monitoring/summary").json()["job"]
        while job["last_run_id"] is None:
            time.sleep(0.1)
            job = client.get("/monitoring/summary").json()["job"]
        first_run = job["last_run_id"]
        while client.get("/monitoring/summary").json()["job"]["last_run_id"] == first_run:
            time.sleep(0.1)  # at least one more run, whose persisting breach must not re-send
        time.sleep(0.5)
        metrics = client.get("/metrics").text
    keys = [b["key"] for b in receiver.received]
    assert first[0]["run_id"] == first_run
    assert "drift:orders:x:psi" in keys
    assert len(keys) == len(set(keys)), keys  # each breach once, however many runs
    assert all(b["status"] == "firing" for b in receiver.received)
    assert not [b for b in receiver.received if b["feature"] == "y"]
    psi = next(b for b in receiver.received if b["key"] == "drift:orders:x:psi")
    assert psi["value"] > psi["threshold"] == 0.2
    assert psi["links"]["view"] == "http://fb.test/ui/feature-views/orders"
    steady = next(line for line in metrics.splitlines()
                  if line.startswith('featurebank_feature_psi{feature="y",view="orders"}'))
    assert float(steady.split()[-1]) < 0.2
    print(f"first alert {fired_after:.1f}s after start (interval {INTERVAL_S}s, "
          f"run computed in between)")


def test_a_period_that_fails_unexpectedly_does_not_end_the_job(
        receiver: WebhookReceiver, redis_url: str, unique_name: str, tmp_path: Path) -> None:
    settings = Settings(_env_file=None, FEATUREBANK_DATA_DIR=str(tmp_path),  # type: ignore[call-arg]
                        REDIS_URL=redis_url, FEATUREBANK_MONITOR_INTERVAL_S=INTERVAL_S)
    numbers = itertools.count()

    def runner(settings: Settings, definitions: Definitions) -> MonitorReport:
        number = next(numbers)
        report = sample_report(f"run-{number}", VIEW, shifted_psi=0.6)
        if number == 0:  # a value the alert body cannot encode: the first period blows up
            broken = replace(report.breaches[0], value=complex(1, 1))  # type: ignore[arg-type]
            report = replace(report, breaches=[broken])
        return report

    async def one_replica() -> None:
        client = aioredis.Redis.from_url(redis_url)
        job = MonitoringJob(
            settings, client, lambda: None, runner=runner,  # type: ignore[arg-type, return-value]
            notifier=AlertNotifier(WebhookSender(receiver.url, backoff_s=0.01), client,
                                   namespace=f"{unique_name}:alerts", renotify_s=3600),
            namespace=unique_name)
        job.start()
        await asyncio.sleep(2.6 * INTERVAL_S)
        await job.stop()
        await client.aclose()

    asyncio.run(one_replica())
    assert [b["run_id"] for b in receiver.received] == ["run-1"]
