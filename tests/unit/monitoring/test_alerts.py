"""The webhook notifier against a real local HTTP server and the session Redis."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from dataclasses import replace

import pytest
import redis.asyncio as aioredis
from pydantic import ValidationError

from featurebank.monitoring.alerts import AlertNotifier, AlertOutcome, WebhookSender
from featurebank.monitoring.report import MonitorReport
from featurebank.settings import Settings
from tests.support.monitor_reports import drift_breach, sample_report
from tests.support.services import free_port
from tests.support.webhook import WebhookReceiver, webhook_receiver

SHIFTED = 0.6


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with webhook_receiver() as hook:
        yield hook


def notifier(url: str, redis_url: str, namespace: str, *, renotify_s: float = 3600,
             attempts: int = 4) -> tuple[AlertNotifier, aioredis.Redis]:
    client = aioredis.Redis.from_url(redis_url)
    sender = WebhookSender(url, attempts=attempts, backoff_s=0.01, timeout_s=2)
    return AlertNotifier(sender, client, namespace=namespace, renotify_s=renotify_s,
                         public_url="https://fb.example.com/"), client


def process(redis_url: str, url: str, namespace: str, *reports: MonitorReport,
            replicas: int = 1, renotify_s: float = 3600,
            attempts: int = 4) -> list[list[AlertOutcome]]:
    """Each report handled by `replicas` notifiers at once (like API replicas sharing Redis)."""

    async def run() -> list[list[AlertOutcome]]:
        made = [notifier(url, redis_url, namespace, renotify_s=renotify_s, attempts=attempts)
                for _ in range(replicas)]
        try:
            return [list(await asyncio.gather(*(n.process(r) for n, _ in made)))
                    for r in reports]
        finally:
            for _, client in made:
                await client.aclose()

    return asyncio.run(run())


def test_a_breach_is_sent_once_with_the_contract_fields(
        receiver: WebhookReceiver, redis_url: str, unique_name: str) -> None:
    report = sample_report("run-1", "orders", shifted_psi=SHIFTED)
    process(redis_url, receiver.url, unique_name, report)
    (body,) = receiver.received
    assert body["status"] == "firing"
    assert {k: body[k] for k in ("kind", "view", "feature", "metric", "value", "threshold")} == {
        "kind": "drift", "view": "orders", "feature": "x", "metric": "psi", "value": SHIFTED,
        "threshold": 0.2}
    assert body["run_id"] == "run-1"
    assert "PSI 0.600" in body["message"]
    assert body["key"] == report.breaches[0].key
    assert body["links"]["view"] == "https://fb.example.com/ui/feature-views/orders"
    assert body["links"]["run"] == "https://fb.example.com/monitoring/runs/run-1"


def test_server_errors_are_retried_until_accepted(
        receiver: WebhookReceiver, redis_url: str, unique_name: str) -> None:
    receiver.statuses[:] = [500, 503]
    report = sample_report("run-1", "orders", shifted_psi=SHIFTED)
    ((outcome,),) = process(redis_url, receiver.url, unique_name, report)
    assert receiver.attempts == 3
    assert len(receiver.received) == 1
    assert outcome.fired == [report.breaches[0].key]


def test_a_failed_send_is_not_lost_but_tried_again_next_run(
        receiver: WebhookReceiver, redis_url: str, unique_name: str) -> None:
    receiver.statuses[:] = [500] * 3
    first = sample_report("run-1", "orders", shifted_psi=SHIFTED)
    second = sample_report("run-2", "orders", shifted_psi=SHIFTED)
    outcomes = process(redis_url, receiver.url, unique_name, first, second, attempts=3)
    assert outcomes[0][0].failed == [first.breaches[0].key]
    assert receiver.attempts == 4  # bounded: 3 for the first run, then 1 that succeeded
    assert [b["run_id"] for b in receiver.received] == ["run-2"]


def test_client_errors_are_not_retried(
        receiver: WebhookReceiver, redis_url: str, unique_name: str) -> None:
    receiver.statuses[:] = [404]
    process(redis_url, receiver.url, unique_name, sample_report("r", "v", shifted_psi=SHIFTED))
    assert receiver.attempts == 1
    assert receiver.received == []


def test_connection_refused_gives_up_after_the_bounded_attempts(
        redis_url: str, unique_name: str) -> None:
    url = f"http://127.0.0.1:{free_port()}/hook"
    ((outcome,),) = process(redis_url, url, unique_name,
                            sample_report("r", "v", shifted_psi=SHIFTED), attempts=2)
    assert outcome.failed
    assert not outcome.fired


def test_two_replicas_sharing_redis_send_once_then_one_resolve(
        receiver: WebhookReceiver, redis_url: str, unique_name: str) -> None:
    reports = [sample_report("run-1", "orders", shifted_psi=SHIFTED),
               sample_report("run-2", "orders", shifted_psi=SHIFTED),  # persists: not re-sent
               sample_report("run-3", "orders", shifted_psi=0.05),     # cleared: one resolve
               sample_report("run-4", "orders", shifted_psi=0.05),
               sample_report("run-5", "orders", shifted_psi=SHIFTED)]  # recurs: sent again
    process(redis_url, receiver.url, unique_name, *reports, replicas=2)
    assert [(b["status"], b["run_id"]) for b in receiver.received] == [
        ("firing", "run-1"), ("resolved", "run-3"), ("firing", "run-5")]
    resolved = receiver.received[1]
    assert resolved["view"] == "orders"
    assert resolved["feature"] == "x"
    assert resolved["message"].startswith("resolved: ")


def test_a_persisting_breach_is_sent_again_after_the_renotify_interval(
        receiver: WebhookReceiver, redis_url: str, unique_name: str) -> None:
    report = sample_report("run-1", "orders", shifted_psi=SHIFTED)
    process(redis_url, receiver.url, unique_name, report, report, renotify_s=1)
    assert len(receiver.received) == 1
    time.sleep(1.2)
    process(redis_url, receiver.url, unique_name, report, renotify_s=1)
    assert len(receiver.received) == 2


def test_namespaces_do_not_share_state(
        receiver: WebhookReceiver, redis_url: str, unique_name: str) -> None:
    report = sample_report("run-1", "orders", shifted_psi=SHIFTED)
    process(redis_url, receiver.url, unique_name + "a", report)
    process(redis_url, receiver.url, unique_name + "b", report)
    assert len(receiver.received) == 2


@pytest.mark.parametrize("url", ["ftp://hooks.example.com/x", "hooks.example.com/x", "http://"])
def test_a_webhook_url_that_is_not_http_is_refused_naming_the_variable(url: str) -> None:
    with pytest.raises(ValidationError, match="FEATUREBANK_ALERT_WEBHOOK_URL must be an http"):
        Settings(_env_file=None, FEATUREBANK_ALERT_WEBHOOK_URL=url)  # type: ignore[call-arg]
    assert Settings(_env_file=None,  # type: ignore[call-arg]
                    FEATUREBANK_ALERT_WEBHOOK_URL="").alert_webhook_url is None


def test_a_down_webhook_stops_the_round_and_the_next_run_sends_everything(
        receiver: WebhookReceiver, redis_url: str, unique_name: str) -> None:
    receiver.statuses[:] = [503] * 2
    report = sample_report("run-1", "orders", shifted_psi=SHIFTED)
    report = replace(report, breaches=[drift_breach("orders", f, 0.5) for f in ("x", "y", "z")])
    again = replace(report, run_id="run-2")
    ((first,), (second,)) = process(redis_url, receiver.url, unique_name, report, again,
                                    attempts=2)
    assert first.failed == ["drift:orders:x:psi"]
    assert receiver.attempts == 2 + 3  # two tries for the first message, none for the others
    assert sorted(second.fired) == [f"drift:orders:{f}:psi" for f in ("x", "y", "z")]
    assert {b["run_id"] for b in receiver.received} == {"run-2"}
