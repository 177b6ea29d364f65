"""The webhook notifier: one JSON message when a breach opens, one when it resolves.

A breach is identified across runs by `Breach.key`. Its state lives in Redis, so every API replica
(and the CLI) shares it and a message is sent by exactly one of them:

    <ns>:sent:<key>   SET NX EX renotify_s  the claim to send "firing"; while it lives, a breach
                                            that persists run after run is not sent again
    <ns>:open         hash key -> breach    what was sent as firing, so a run without the breach
                                            sends "resolved" (HDEL decides who sends it)

A send that fails after its retries gives the claim back (and the open entry, for a resolve), so
the next run tries again: an alert is late rather than lost. The webhook address may carry a
token, so it is never logged.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import quote

import httpx
import orjson
import redis.asyncio as aioredis

from featurebank.monitoring.report import Breach, MonitorReport

log = logging.getLogger("featurebank.monitoring")

Status = Literal["firing", "resolved"]


@dataclass
class AlertOutcome:
    """What one report caused: keys sent as firing or resolved, and sends that failed."""

    fired: list[str]
    resolved: list[str]
    failed: list[str]


def alert_body(breach: Breach, status: Status, run_id: str, generated_at: str,
               public_url: str | None) -> dict[str, Any]:
    """The JSON a webhook receives for one breach."""
    base = (public_url or "").rstrip("/")
    view = quote(breach.view, safe="")
    return {
        "status": status, "key": breach.key, "kind": breach.kind, "view": breach.view,
        "feature": breach.feature, "metric": breach.metric, "value": breach.value,
        "threshold": breach.threshold,
        "message": breach.message if status == "firing" else f"resolved: {breach.message}",
        "run_id": run_id, "generated_at": generated_at,
        "links": {"view": f"{base}/ui/feature-views/{view}",
                  "history": f"{base}/monitoring/views/{view}",
                  "run": f"{base}/monitoring/runs/{quote(run_id, safe='')}"},
    }


class WebhookSender:
    """POSTs JSON with bounded retries: connection errors, timeouts, 429 and 5xx are retried
    with exponential backoff; another 4xx is a configuration error and is not."""

    def __init__(self, url: str, *, attempts: int = 4, backoff_s: float = 0.5,
                 timeout_s: float = 5.0, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.url = url
        self.attempts = max(1, attempts)
        self.backoff_s = backoff_s
        self.timeout_s = timeout_s
        self.transport = transport

    async def send(self, body: dict[str, Any]) -> bool:
        content = orjson.dumps(body)  # NaN/inf become null: the body stays valid JSON
        headers = {"content-type": "application/json", "user-agent": "featurebank-alerts"}
        async with httpx.AsyncClient(timeout=self.timeout_s, transport=self.transport) as client:
            for attempt in range(self.attempts):
                if attempt:
                    await asyncio.sleep(self.backoff_s * 2 ** (attempt - 1))
                try:
                    response = await client.post(self.url, content=content, headers=headers)
                except httpx.TransportError as exc:
                    log.warning("alert webhook: %s (attempt %d/%d)", type(exc).__name__,
                                attempt + 1, self.attempts)
                    continue
                if response.status_code < 300:
                    return True
                log.warning("alert webhook answered %d (attempt %d/%d)", response.status_code,
                            attempt + 1, self.attempts)
                if response.status_code < 500 and response.status_code != 429:
                    return False
        return False


class AlertNotifier:
    """Turns each new report into firing/resolved messages, deduplicated through Redis."""

    def __init__(self, sender: WebhookSender, redis: aioredis.Redis, *, namespace: str,
                 renotify_s: float, public_url: str | None = None) -> None:
        self.sender = sender
        self.redis = redis
        self.namespace = namespace
        self.renotify_ms = max(1000, int(renotify_s * 1000))
        self.public_url = public_url

    @property
    def open_key(self) -> str:
        return f"{self.namespace}:open"

    def sent_key(self, key: str) -> str:
        return f"{self.namespace}:sent:{key}"

    async def process(self, report: MonitorReport) -> AlertOutcome:
        """Send what `report` changed. After one send fails for good the rest wait for the next
        run (the webhook is down: retrying each message would only stretch the run by minutes)."""
        outcome = AlertOutcome([], [], [])
        current = {b.key: b for b in report.breaches}
        for key, breach in current.items():
            await self._fire(key, breach, report, outcome)
            if outcome.failed:
                return outcome
        for raw in await self.redis.hkeys(self.open_key):  # type: ignore[misc]
            key = raw.decode() if isinstance(raw, bytes) else str(raw)
            if key not in current:
                await self._resolve(key, report, outcome)
                if outcome.failed:
                    return outcome
        return outcome

    async def _fire(self, key: str, breach: Breach, report: MonitorReport,
                    outcome: AlertOutcome) -> None:
        claimed = await self.redis.set(self.sent_key(key), report.run_id, nx=True,
                                       px=self.renotify_ms)
        if not claimed:
            return  # sent already this episode (by us or another replica)
        sent, newly_open = False, 0
        try:
            stored = orjson.dumps({"breach": _breach_dict(breach)}).decode()
            newly_open = await self.redis.hset(self.open_key, key, stored)  # type: ignore[misc]
            body = alert_body(breach, "firing", report.run_id, report.generated_at,
                              self.public_url)
            sent = await self.sender.send(body)
        finally:  # whatever stopped the send, give the claim back so the next run retries
            if sent:
                outcome.fired.append(key)
            else:
                outcome.failed.append(key)
                await self.redis.delete(self.sent_key(key))
                if newly_open:
                    await self.redis.hdel(self.open_key, key)  # type: ignore[misc]

    async def _resolve(self, key: str, report: MonitorReport, outcome: AlertOutcome) -> None:
        stored = await self.redis.hget(self.open_key, key)  # type: ignore[misc]
        if stored is None or not await self.redis.hdel(self.open_key, key):  # type: ignore[misc]
            return  # another replica resolved it first
        await self.redis.delete(self.sent_key(key))  # a recurrence is a new episode
        try:
            breach = Breach(**orjson.loads(stored)["breach"])
        except (ValueError, TypeError, KeyError):
            log.warning("alert state for %s is unreadable; dropping it", key)
            return
        sent = False
        try:
            body = alert_body(breach, "resolved", report.run_id, report.generated_at,
                              self.public_url)
            sent = await self.sender.send(body)
        finally:  # not sent: keep it open, so the next run sends the resolve again
            if sent:
                outcome.resolved.append(key)
            else:
                outcome.failed.append(key)
                await self.redis.hset(self.open_key, key,  # type: ignore[misc]
                                      bytes(stored).decode())


def _breach_dict(breach: Breach) -> dict[str, Any]:
    return {"kind": breach.kind, "view": breach.view, "feature": breach.feature,
            "metric": breach.metric, "value": breach.value, "threshold": breach.threshold,
            "message": breach.message}
