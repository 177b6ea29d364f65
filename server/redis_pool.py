"""The API's Redis client: bounded timeouts so an outage is a fast 503, never a hang."""

from __future__ import annotations

import redis.asyncio as aioredis

from featurebank.settings import Settings


def create_redis(settings: Settings) -> aioredis.Redis:
    """A pooled client; waiting for a free connection is bounded by the same timeout."""
    timeout = settings.redis_timeout_s
    pool = aioredis.BlockingConnectionPool.from_url(
        settings.redis_url,
        max_connections=settings.redis_pool_size,
        timeout=timeout,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        retry_on_timeout=False,
    )
    return aioredis.Redis(connection_pool=pool)
