"""How the container opens and closes its resources (the SQL database, Redis, BigQuery, the cache
space, the waker, Prometheus), and the settings each takes: the composition root's plumbing, kept
apart from its wiring (`application/container.py`)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from functools import partial
from typing import Any

from adapters.asynchronous.sql import AsyncSqlDatabase
from adapters.bigquery.client import BigQuerySettings, create_bigquery_client
from adapters.caching.assembly import CacheSettings, build_cache_space
from adapters.caching.service import CacheSpace
from adapters.clock import SystemClock
from adapters.prometheus.client import PrometheusHttp, PrometheusSettings
from adapters.redis.client import RedisSettings, create_async_redis_client, create_redis_client
from adapters.redis.cooperative import CooperativeRedis
from adapters.rules.audit_writer import BatchingAuditWriter
from adapters.sql.database import SqlDatabase
from adapters.sql.engine import PoolSettings
from application.jobs import use_cases as jobs
from application.settings import Settings
from ports.clock import Clock
from ports.wakeups import Waker


def backend(settings: Settings, context: str) -> str:
    return settings.backend_for(context)


def pool_settings(settings: Settings) -> PoolSettings:
    """The engine pool and timeouts the settings ask for."""
    return PoolSettings(
        size=settings.database_pool_size,
        max_overflow=settings.database_max_overflow,
        timeout_seconds=settings.database_pool_timeout,
        recycle_seconds=settings.database_pool_recycle,
        pre_ping=settings.database_pool_pre_ping,
        ping_idle_seconds=settings.database_pool_ping_idle,
        connect_timeout_seconds=settings.database_connect_timeout,
        statement_timeout_ms=int(settings.database_statement_timeout * 1000),
    )


def open_sql_database(url: str, pool: PoolSettings, echo: bool) -> Iterator[SqlDatabase]:
    """A resource: `container.shutdown_resources()` returns the pooled connections."""
    database = SqlDatabase.from_url(url, pool, echo)
    yield database
    database.dispose()


def open_redis_client(settings: RedisSettings) -> Iterator[Any]:
    """A resource: `shutdown_resources()` closes its connection pool."""
    client = create_redis_client(settings)
    yield client
    client.close()


def open_bigquery_client(settings: BigQuerySettings) -> Iterator[Any]:
    """A resource: `shutdown_resources()` closes its HTTP session (one leak per container otherwise)."""
    client = create_bigquery_client(settings)
    yield client
    client.close()  # type: ignore[no-untyped-call]


def waker_kind(settings: Settings) -> str:
    """Redis when configured; else PostgreSQL's NOTIFY when the jobs live there; else in-process."""
    if settings.redis_url:
        return "redis"
    if settings.backend_for("jobs") == "sql" and settings.database_url.startswith("postgresql"):
        return "postgres"
    return "local"


def job_changes(settings: Settings, cache: Callable[[], Any]) -> Any:
    """The cache's listener of job writes, when job records are cached at all."""
    return jobs.drop_cached_jobs(cache()) if settings.cache_job_ttl > 0 else None


def open_waker(build: Callable[[], Waker]) -> Iterator[Waker]:
    """A resource: `shutdown_resources()` stops its listener."""
    waker = build()
    yield waker
    waker.close()
def open_audit_writer(units: Any, settings: Settings) -> Iterator[BatchingAuditWriter]:
    """A resource: `shutdown_resources()` stores every accepted entry before it returns."""
    writer = BatchingAuditWriter(units, queue_size=settings.audit_queue_size, batch_size=settings.audit_batch_size,
                                 flush_interval=settings.audit_flush_interval)
    yield writer
    writer.close()


def redis_settings(settings: Settings) -> RedisSettings:
    if settings.redis_url is None:
        raise LookupError("PORTSIDE_REDIS_URL is not set")
    return RedisSettings(
        url=settings.redis_url,
        socket_timeout_seconds=settings.redis_socket_timeout,
        connect_timeout_seconds=settings.redis_connect_timeout,
        retries=settings.redis_retries,
        health_check_interval_seconds=settings.redis_health_check_interval,
    )


# -- caching -------------------------------------------------------------------------------------
def cache_redis_settings(settings: Settings) -> RedisSettings:
    """The cache's own connections: short timeouts and one retry, since a cache that waits on a
    dead Redis is slower than no cache (its fallback takes over instead)."""
    base = redis_settings(settings)
    return RedisSettings(url=base.url, socket_timeout_seconds=settings.cache_redis_timeout,
                         connect_timeout_seconds=settings.cache_redis_timeout, retries=1,
                         health_check_interval_seconds=base.health_check_interval_seconds)


def cache_settings(settings: Settings) -> CacheSettings:
    return CacheSettings(
        tiers=settings.cache_tier_list, root=settings.cache_key_prefix, default_ttl=settings.cache_default_ttl,
        l1_ttl_cap=settings.cache_l1_ttl_cap, l2_ttl_cap=settings.cache_l2_ttl_cap,
        l3_ttl_cap=settings.cache_l3_ttl_cap, memory_max_entries=settings.cache_memory_max_entries,
        redis_fallback=settings.cache_redis_fallback, probe_interval=settings.cache_redis_probe_interval,
        sql_purge_interval=settings.cache_sql_purge_interval,
    )


def open_cooperative_redis_client(settings: RedisSettings) -> Iterator[CooperativeRedis]:
    """The cache's Redis client: sync, and `redis.asyncio` under the async face's loop. A resource:
    `shutdown_resources()` closes the sync pool (`await shutdown_async(container)` a loop's own)."""
    client = CooperativeRedis(create_redis_client(settings), partial(create_async_redis_client, settings))
    yield client
    client.close()


def open_cache_space(settings: Settings, clock: Clock, redis: Callable[[], Any], sql: Callable[[], SqlDatabase],
                      async_sql: Callable[[], AsyncSqlDatabase]) -> Iterator[CacheSpace]:
    """A resource: `shutdown_resources()` stops the invalidation listener. Redis and the SQL
    database are opened only when a tier needs them; the async face's engine only when the awaited
    cache first reads the SQL tier."""
    tiers = settings.cache_tier_list
    space = build_cache_space(cache_settings(settings), redis_client=redis() if "redis" in tiers else None,
                              sql_database=sql() if "sql" in tiers else None, now=seconds_of(clock),
                              sql_on_loop=lambda: async_sql().database)
    yield space
    space.close()


def seconds_of(clock: Clock) -> Callable[[], float]:
    """The cache's time: the system's, or a test's manual clock (TTL expiry under control)."""
    if isinstance(clock, SystemClock):
        return time.time
    return lambda: clock.now().timestamp()
# -- end of caching ------------------------------------------------------------------------------


def bigquery_settings(settings: Settings) -> BigQuerySettings:
    if settings.bigquery_project is None:
        raise LookupError("PORTSIDE_BIGQUERY_PROJECT is not set")
    return BigQuerySettings(
        project=settings.bigquery_project,
        dataset=settings.bigquery_dataset,
        endpoint=settings.bigquery_endpoint,
        location=settings.bigquery_location,
        maximum_bytes_billed=settings.bigquery_maximum_bytes_billed,
    )


# -- metrics (spec 002) ------------------------------------------------------------------------------
def prometheus_settings(settings: Settings) -> PrometheusSettings:
    if settings.prometheus_url is None:
        raise LookupError("PORTSIDE_PROMETHEUS_URL is not set")
    return PrometheusSettings(url=settings.prometheus_url, timeout_seconds=settings.prometheus_timeout,
                              retries=settings.prometheus_retries)


def open_prometheus_http(settings: PrometheusSettings) -> Iterator[PrometheusHttp]:
    """A resource: `shutdown_resources()` closes its connection pool."""
    http = PrometheusHttp(settings)
    yield http
    http.close()


def prometheus_history(settings: Settings) -> timedelta:
    return timedelta(days=settings.prometheus_history_days)


