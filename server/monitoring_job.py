"""The periodic monitoring job of `serve`: one run per period across all replicas, then alerts.

Every replica ticks every `FEATUREBANK_MONITOR_INTERVAL_S`; two Redis keys decide which one works:

    <ns>:period    SET NX PX ~interval   claimed by the first replica to tick in a period, so N
                                        replicas make one run per period, not N
    <ns>:running   SET NX PX LOCK_TTL   held (and renewed) while a run computes, so a run longer
                                        than the period, or one triggered by `POST
                                        /monitoring/run`, never overlaps another

The run itself (`featurebank.monitoring.run.run_monitoring`, DuckDB over Parquet) happens in a
thread; it persists its report, which is what the gauges of every replica read, and the replica
that ran it then hands the report to the webhook notifier. If the computing module is missing the
job reports itself disabled instead of failing the app.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from featurebank.definitions import Definitions
from featurebank.errors import Conflict, DependencyUnavailable, FeatureBankError
from featurebank.monitoring.alerts import AlertNotifier, WebhookSender
from featurebank.monitoring.report import MonitorReport
from featurebank.settings import Settings

log = logging.getLogger("featurebank.monitoring")

Runner = Callable[[Settings, Definitions], MonitorReport]
LOCK_TTL_S = 60.0
RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end " \
          "return 0"


def default_runner() -> Runner | None:
    """`run_monitoring` on the served registry snapshot, or None when it is not installed."""
    try:
        from featurebank.monitoring.run import run_monitoring
    except ImportError as exc:
        log.warning("monitoring job disabled: the run module is missing (%s)", exc)
        return None

    def run(settings: Settings, definitions: Definitions) -> MonitorReport:
        return run_monitoring(settings, definitions=definitions)

    return run


@dataclass
class JobStatus:
    enabled: bool
    interval_s: float
    running: bool = False
    last_started: float | None = None
    last_finished: float | None = None
    last_run_id: str | None = None
    last_error: str | None = None


class MonitoringJob:
    def __init__(self, settings: Settings, redis: aioredis.Redis,
                 definitions: Callable[[], Definitions], *, runner: Runner | None,
                 notifier: AlertNotifier | None, namespace: str) -> None:
        self.settings = settings
        self.redis = redis
        self.definitions = definitions
        self.runner = runner
        self.notifier = notifier
        self.namespace = namespace
        self.interval_s = settings.monitor_interval_s
        self.status = JobStatus(enabled=runner is not None and self.interval_s > 0,
                                interval_s=self.interval_s)
        self._loop: asyncio.Task[None] | None = None
        self._manual: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self.status.enabled:
            self._loop = asyncio.create_task(self._periodic(), name="monitoring-job")

    async def stop(self) -> None:
        for task in (self._loop, self._manual):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    async def _periodic(self) -> None:
        while True:
            await asyncio.sleep(self.interval_s)
            try:
                await self.tick()
            except RedisError as exc:  # the next period tries again
                log.warning("monitoring job skipped a period: Redis: %s", type(exc).__name__)
            except Exception:  # a bug in one period must not end monitoring for the process
                log.exception("monitoring job failed a period; trying again next period")

    async def tick(self) -> MonitorReport | None:
        """One period: run if this replica is the first to claim it and no run is going on."""
        period_ms = max(100, int(self.interval_s * 950))  # a little under the period: no drift
        if not await self.redis.set(f"{self.namespace}:period", "1", nx=True, px=period_ms):
            return None
        return await self.run_now()

    async def trigger(self) -> None:
        """Start a run now in the background (`POST /monitoring/run`)."""
        if self.runner is None:
            raise DependencyUnavailable("monitoring runs are not available: the run module is "
                                        "not installed")
        busy = self.status.running or (self._manual is not None and not self._manual.done())
        if busy or await self.redis.exists(f"{self.namespace}:running"):
            raise Conflict("a monitoring run is already in progress; see GET /monitoring/summary")
        self._manual = asyncio.create_task(self._manual_run(), name="monitoring-run")

    async def _manual_run(self) -> None:
        try:
            await self.run_now()
        except RedisError as exc:
            log.warning("manual monitoring run not started: Redis: %s", type(exc).__name__)

    async def run_now(self) -> MonitorReport | None:
        """Compute, persist and alert, unless another run holds the lock (then None)."""
        if self.runner is None:
            return None
        token = secrets.token_hex(8)
        lock = f"{self.namespace}:running"
        if not await self.redis.set(lock, token, nx=True, px=int(LOCK_TTL_S * 1000)):
            log.info("monitoring run skipped: another run is in progress")
            return None
        renew = asyncio.create_task(self._renew(lock, token))
        self.status.running, self.status.last_started = True, time.time()
        try:
            report = await asyncio.to_thread(self.runner, self.settings, self.definitions())
        except FeatureBankError as exc:
            self.status.last_error = exc.message
            log.warning("monitoring run failed: %s", exc.message)
            return None
        except Exception as exc:  # a failing run must not stop the job or the API
            self.status.last_error = f"internal error ({type(exc).__name__}); see the server log"
            log.exception("monitoring run failed")
            return None
        finally:
            self.status.running, self.status.last_finished = False, time.time()
            renew.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renew
            with contextlib.suppress(RedisError):
                await self.redis.eval(RELEASE, 1, lock, token)  # type: ignore[misc]
        self.status.last_run_id, self.status.last_error = report.run_id, None
        log.info("monitoring run %s: %d breaches", report.run_id, len(report.breaches))
        if self.notifier is not None:
            try:
                outcome = await self.notifier.process(report)
            except RedisError as exc:
                log.warning("alerts for run %s not sent: Redis: %s", report.run_id,
                            type(exc).__name__)
            else:
                if outcome.fired or outcome.resolved or outcome.failed:
                    log.info("alerts for run %s: %d fired, %d resolved, %d failed",
                             report.run_id, len(outcome.fired), len(outcome.resolved),
                             len(outcome.failed))
        return report

    async def _renew(self, lock: str, token: str) -> None:
        while True:
            await asyncio.sleep(LOCK_TTL_S / 3)
            with contextlib.suppress(RedisError):
                if await self.redis.get(lock) in (token, token.encode()):
                    await self.redis.pexpire(lock, int(LOCK_TTL_S * 1000))

    def describe(self) -> dict[str, Any]:
        return {"enabled": self.status.enabled, "interval_s": self.status.interval_s,
                "available": self.runner is not None, "running": self.status.running,
                "last_started": self.status.last_started,
                "last_finished": self.status.last_finished,
                "last_run_id": self.status.last_run_id, "last_error": self.status.last_error,
                "webhook": self.notifier is not None}


def build_job(settings: Settings, redis: aioredis.Redis, definitions: Callable[[], Definitions],
              *, runner: Runner | None = None) -> MonitoringJob:
    """The job for a server: its namespace is the Feast project, so stores sharing a Redis keep
    separate locks and alert state."""
    namespace = f"featurebank:monitor:{definitions().project}"
    notifier = None
    if settings.alert_webhook_url:
        notifier = AlertNotifier(WebhookSender(settings.alert_webhook_url), redis,
                                 namespace=f"{namespace}:alerts",
                                 renotify_s=settings.alert_renotify_s,
                                 public_url=settings.public_url)
    return MonitoringJob(settings, redis, definitions, runner=runner or default_runner(),
                         notifier=notifier, namespace=namespace)
