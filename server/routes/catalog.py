"""`/catalog/*`: search, listings, detail pages, consumers and unused features as JSON.

Handlers are thin: they reach the per-app `Catalog` (built on first use and rebuilt on every
registry change) and call its plain methods. `/catalog/search`, `/catalog/consumers` and
`/catalog/unused` are registered before `/catalog/{kind}` so they are never read as a kind.

The router's lifespan (merged into the app's by FastAPI) starts the background task that
flushes lookup usage to Redis, and flushes once more on shutdown, so every replica's reads are
counted even when nobody opens its catalog, and a restart loses none.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Query

from featurebank.catalog.search import MAX_LIMIT, MAX_QUERY_CHARS
from featurebank.catalog.search import Query as SearchQuery
from featurebank.catalog.service import Catalog
from featurebank.catalog.usage import UsageTracker, flush_usage, flush_usage_forever
from server.deps import ReadKey, State
from server.lookup.plan import PlanCache
from server.state import AppState

log = logging.getLogger("featurebank.catalog")


def plans_of(state: AppState) -> PlanCache:
    plans = state.extras.get("plans")
    if plans is None:
        plans = state.extras["plans"] = PlanCache()
    assert isinstance(plans, PlanCache)
    return plans


def usage_of(state: AppState) -> UsageTracker:
    """The app's usage tracker: made at startup, before the catalog index exists."""
    usage = state.extras.get("catalog_usage")
    if usage is None:
        usage = state.extras["catalog_usage"] = UsageTracker()
    assert isinstance(usage, UsageTracker)
    return usage


@contextlib.asynccontextmanager
async def usage_lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Flush usage in the background while the app runs, and once more when it stops."""
    state = getattr(app.state, "featurebank", None)
    if not isinstance(state, AppState):
        yield
        return
    usage = usage_of(state)
    task = asyncio.create_task(flush_usage_forever(
        usage, lambda: state.extras.get("plans"), state.redis,
        lambda: state.definitions.project), name="catalog-usage-flush")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        try:
            await flush_usage(usage, state.extras.get("plans"), state.redis,
                              state.definitions.project)
        except Exception:  # shutting down must not fail over usage counts
            log.exception("final usage flush failed")


router = APIRouter(prefix="/catalog", tags=["catalog"], lifespan=usage_lifespan)


def catalog_of(state: AppState) -> Catalog:
    """The app's catalog, created once and kept current through `on_definitions_change`."""
    catalog = state.extras.get("catalog")
    if catalog is None:
        catalog = Catalog(state.settings, plans_of(state), usage_of(state))
        state.extras["catalog"] = catalog
        state.on_definitions_change(catalog.rebuild)
    assert isinstance(catalog, Catalog)
    catalog.start_warming(state.redis)
    return catalog


async def synced_catalog(state: AppState) -> Catalog:
    """The catalog with read counts merged from every replica (when Redis answers)."""
    catalog = catalog_of(state)
    await catalog.sync_usage(state.redis)
    return catalog


@router.get("/search", summary="Ranked search over every catalog object")
async def search(
    state: State, _key: ReadKey,
    q: Annotated[str, Query(max_length=MAX_QUERY_CHARS)] = "",
    kind: str | None = None, owner: str | None = None, tag: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 20,
) -> dict[str, Any]:
    return (await synced_catalog(state)).search(SearchQuery(q, kind, owner, tag, limit))


@router.get("/consumers", summary="Who reads which feature views, and when last")
async def consumers(state: State, _key: ReadKey) -> dict[str, Any]:
    catalog = await synced_catalog(state)
    return {"tracking_since": catalog.usage.tracking_since,
            "usage_source": catalog.usage.source, "consumers": catalog.consumers()}


@router.get("/unused", summary="Features not read online or by a training set in N days")
async def unused(
    state: State, _key: ReadKey, days: Annotated[float, Query(gt=0, le=3650)] = 30,
) -> dict[str, Any]:
    return (await synced_catalog(state)).unused(days)


@router.get("/{kind}", summary="List entities, feature-views, feature-services or data-sources")
async def listing(kind: str, state: State, _key: ReadKey) -> dict[str, Any]:
    items = (await synced_catalog(state)).listing(kind)
    return {"kind": kind, "count": len(items), "items": items}


@router.get("/{kind}/{name}", summary="One catalog object; a feature view includes statistics")
async def detail(
    kind: str, name: str, state: State, _key: ReadKey, stats: bool = True,
) -> dict[str, Any]:
    catalog = await synced_catalog(state)
    if kind == "feature-views":
        return await catalog.view_detail(name, with_stats=stats, redis=state.redis)
    return catalog.detail(kind, name)
