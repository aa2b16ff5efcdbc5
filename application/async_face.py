"""The container's async face (docs/async.md): every context's unit-of-work factory awaited, on the
runner its backend needs, and the awaited use cases; the container declares the providers."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from dependency_injector import providers

from adapters.asynchronous.awaited import AwaitedCacheProvider, AwaitedMetricsFactory
from adapters.asynchronous.runners import ThreadLaneRunner
from adapters.asynchronous.sql import async_database_url
from adapters.asynchronous.transaction_manager import AsyncBackendTransactionManager
from adapters.asynchronous.unit_of_work import AsyncContextFactory
from application.async_use_cases import AwaitableUseCase
from application.settings import Settings
from ports.async_unit_of_work import AsyncTransactionManager, AsyncUnitOfWorkFactory, SyncRunner
from ports.unit_of_work import UnitOfWork

if TYPE_CHECKING:
    from application.container import Container


def async_url(settings: Settings) -> str:
    return settings.async_database_url or async_database_url(settings.database_url)


def open_thread_lanes(settings: Settings) -> Iterator[ThreadLaneRunner]:
    """A resource: `shutdown_resources()` waits for the lanes' threads."""
    runner = ThreadLaneRunner(settings.async_thread_lanes)
    yield runner
    runner.close()


def async_twin(container: Container) -> Container:
    """The container's SQL contexts on the async engine: a second container that shares every
    setting, the clock, the catalog, the cache, Redis, BigQuery and the waker, and whose SQL database
    is the async engine's sync face. Every context's wiring stays declared once, below."""
    from application.container import Container  # the composition root imports this module

    twin = Container()
    for name in ("settings", "clock", "catalog", "cache", "redis_client", "bigquery_database", "waker"):
        getattr(twin, name).override(getattr(container, name))
    twin.sql_database.override(providers.Object(container.async_sql_database().database))
    return twin


def async_units(container: Container, context: str) -> AsyncUnitOfWorkFactory[UnitOfWork]:
    """The async factory of `context` on the backend its settings choose: SQL on the async engine
    through greenlets, BigQuery on the thread lanes, memory on the loop itself."""
    provider = f"{context}_unit_of_work"
    kind = container.settings().backend_for(context)
    if kind == "sql":  # the sync SQL engine is never opened for it
        return AsyncContextFactory(getattr(container.async_twin(), provider)(), container.greenlet_runner())
    runner: SyncRunner = container.thread_lanes() if kind == "bigquery" else container.direct_runner()
    return AsyncContextFactory(getattr(container, provider)(), runner)


def async_runner(container: Container) -> SyncRunner:
    """Where awaited use cases run: greenlets when the data is in SQL, else on the loop."""
    return container.greenlet_runner() if container.settings().default_backend == "sql" else container.direct_runner()


def async_transaction_manager(container: Container) -> AsyncTransactionManager:
    if container.settings().backend_for("control_plane") == "sql":
        return AsyncBackendTransactionManager(container.async_twin().sql(), container.greenlet_runner())
    return AsyncBackendTransactionManager(container.memory(), container.direct_runner())


def async_cache(container: Container) -> AwaitedCacheProvider:
    """The cache awaited: the container's own cache space (one L1, one single flight for both
    faces), run in greenlets whose Redis and SQL round trips are awaited on the loop; an `async def`
    loader is awaited there too."""
    return AwaitedCacheProvider(container.cache(), container.greenlet_runner())


def async_metrics(container: Container) -> AwaitedMetricsFactory:
    """The metrics repositories awaited, on the runner their store needs: SQL on the async engine
    through greenlets, Prometheus (a sync HTTP client) on the thread lanes, memory on the loop."""
    kind = container.settings().metrics_store_backend
    if kind == "sql":  # the sync SQL engine is never opened for it
        return AwaitedMetricsFactory(container.async_twin().metrics_repository(), container.greenlet_runner())
    runner: SyncRunner = container.thread_lanes() if kind == "prometheus" else container.direct_runner()
    return AwaitedMetricsFactory(container.metrics_repository(), runner)


async def shutdown_async(container: Container) -> None:
    """Close what the async face opened on the running loop (its SQL pool, the cache's Redis
    connections), then the container's resources: the end of an async service's lifespan."""
    settings = container.settings()
    if "sql" in (settings.default_backend, settings.metrics_store_backend) or "sql" in settings.cache_tier_list:
        await container.async_sql_database().dispose()
    if "redis" in settings.cache_tier_list:
        await container.cache_redis_client().aclose()
    container.shutdown_resources()


def awaitable_use_case(container: Container, name: str) -> AwaitableUseCase[Any, Any]:
    """The container's use case `name` (`"enqueue_job"`, `"create_tenant"`...), awaited: its units of
    work on the async face's database, run through the async runner (`await use_case(command)`)."""
    source = container.async_twin() if container.settings().default_backend == "sql" else container
    return AwaitableUseCase(getattr(source, name)(), container.async_runner())
