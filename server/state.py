"""What the app holds while it runs: settings, the Redis pool and the registry snapshot.

The lifespan creates one `AppState`; handlers reach it through `server.deps`. A background task
swaps `definitions` when the registry changes, and every component that caches per snapshot
(lookup plans, the catalog index) keys its cache on `definitions.version`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import redis.asyncio as aioredis
from feast import FeatureStore

from featurebank.definitions import Definitions, load_definitions
from featurebank.monitoring.serving_log import ServingLog
from featurebank.settings import Settings
from server.lookup.wire import LookupRedis
from server.metrics import ApiStats

log = logging.getLogger("featurebank.server")


@dataclass
class AppState:
    settings: Settings
    store: FeatureStore
    redis: aioredis.Redis
    definitions: Definitions
    wire: LookupRedis
    listeners: list[Callable[[Definitions], None]] = field(default_factory=list)
    extras: dict[str, Any] = field(default_factory=dict)
    stats: ApiStats = field(default_factory=ApiStats)
    serving_log: ServingLog | None = None
    _refresher: asyncio.Task[None] | None = None

    def on_definitions_change(self, listener: Callable[[Definitions], None]) -> None:
        """Call `listener` now and whenever the registry changes."""
        self.listeners.append(listener)
        listener(self.definitions)

    async def refresh_definitions(self) -> bool:
        """Reload the registry; returns True when a definition changed."""
        fresh = await asyncio.to_thread(load_definitions, self.store, refresh=True)
        if fresh.version == self.definitions.version:
            return False
        self.definitions = fresh
        for listener in self.listeners:
            listener(fresh)
        log.info("registry changed: version %s, %d views", fresh.version, len(fresh.views))
        return True

    def start_refresher(self) -> None:
        interval = self.settings.registry_refresh_s
        if interval <= 0:
            return

        async def loop() -> None:
            while True:
                await asyncio.sleep(interval)
                try:
                    await self.refresh_definitions()
                except Exception:  # keep serving the last good snapshot
                    log.exception("registry refresh failed; keeping version %s",
                                  self.definitions.version)

        self._refresher = asyncio.create_task(loop(), name="registry-refresh")

    def start_serving_log(self) -> None:
        """The served-value log's writer thread; lookups find it at `serving_log`."""
        settings = self.settings
        self.serving_log = ServingLog(
            settings.data_path, sample_rate=settings.log_sample_rate,
            queue_rows=settings.log_queue_rows, flush_s=settings.log_flush_s,
            flush_rows=settings.log_flush_rows, counters=self.stats.serving_log)
        self.serving_log.start()

    async def close(self) -> None:
        runner = self.extras.get("training_jobs")
        if runner is not None:  # queued jobs are cancelled now; a running one finishes first
            runner.shutdown()
        if self._refresher is not None:
            self._refresher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._refresher
        if self.serving_log is not None:  # after the last lookup: everything queued is written
            await asyncio.to_thread(self.serving_log.close)
        self.wire.close()
        await self.redis.aclose()
