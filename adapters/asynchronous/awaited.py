"""Any sync port object with its methods awaited through a runner: the cache (`Cache` port), run in
greenlets, where its Redis tier talks `redis.asyncio` (`adapters/redis/cooperative.py`) and its SQL
tier the async engine, each reply awaited on the loop; the metrics repository (`MetricsRepository`),
on the runner of its store (greenlets for SQL, the thread lanes for Prometheus's HTTP client, the
loop itself for memory)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any

from ports.async_unit_of_work import (
    AsyncCache,
    AsyncCacheProvider,
    AsyncMetricsRepository,
    AsyncMetricsRepositoryFactory,
    SyncRunner,
)
from ports.caching import Cache, CacheProvider
from ports.metrics import MetricsRepository, MetricsRepositoryFactory


def awaited(runner: SyncRunner, method: Callable[..., Any]) -> Callable[..., Awaitable[Any]]:
    """`method`, awaited: run by `runner` (its name and docstring kept)."""

    @wraps(method)
    async def call(*args: Any, **kwargs: Any) -> Any:
        return await runner.call(method, *args, **kwargs)

    return call


@dataclass(frozen=True, slots=True)
class AwaitedCache(AsyncCache):
    """`await cache.get(key)`, `await cache.set(key, value, ttl)`...: the sync `Cache`'s methods, the
    same keys, namespaces, TTLs and single flight; its plain attributes (`namespace`) as they are."""

    cache: Cache
    runner: SyncRunner

    def __getattr__(self, name: str) -> Any:
        return _member(self.cache, self.runner, name)


def _member(target: object, runner: SyncRunner, name: str) -> Any:
    """`target`'s public method `name` awaited through `runner`; a plain attribute as it is."""
    member = getattr(target, name) if not name.startswith("_") else None
    if member is None:
        raise AttributeError(name)
    return awaited(runner, member) if callable(member) else member


@dataclass(frozen=True, slots=True)
class AwaitedCacheProvider(AsyncCacheProvider):
    provider: CacheProvider
    runner: SyncRunner

    def for_tenant(self, tenant: object) -> AsyncCache:
        return AwaitedCache(self.provider.for_tenant(tenant), self.runner)

    def system(self) -> AsyncCache:
        return AwaitedCache(self.provider.system(), self.runner)


@dataclass(frozen=True, slots=True)
class AwaitedMetrics(AsyncMetricsRepository):
    """`await metrics.save(collector)`, `await metrics.query_latest(name)`...: the sync repository's
    checks, tenant labels and answers."""

    repository: MetricsRepository
    runner: SyncRunner

    def __getattr__(self, name: str) -> Any:
        return _member(self.repository, self.runner, name)


@dataclass(frozen=True, slots=True)
class AwaitedMetricsFactory(AsyncMetricsRepositoryFactory):
    factory: MetricsRepositoryFactory
    runner: SyncRunner

    def for_tenant(self, tenant: object) -> AsyncMetricsRepository:
        return AwaitedMetrics(self.factory.for_tenant(tenant), self.runner)

    def system(self) -> AsyncMetricsRepository:
        return AwaitedMetrics(self.factory.system(), self.runner)
