"""The composition root: the only module (with the CLI) that knows the adapters.

`Selector` providers pick each context's backend from the settings, so a service switches from
the embedded SQLite file to PostgreSQL, or a test to memory, by configuration alone.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from dependency_injector import containers, providers

from adapters.asynchronous.awaited import AwaitedCacheProvider, AwaitedMetricsFactory
from adapters.asynchronous.runners import DirectRunner, GreenletRunner, ThreadLaneRunner
from adapters.asynchronous.sql import AsyncSqlDatabase, async_database_url
from adapters.asynchronous.transaction_manager import AsyncBackendTransactionManager
from adapters.asynchronous.unit_of_work import AsyncContextFactory
from adapters.bigquery.analytics import BigQueryAnalyticsBackend, BigQueryInferenceMetrics
from adapters.bigquery.backend import BigQueryBackend
from adapters.bigquery.client import BigQuerySettings, create_bigquery_client
from adapters.bigquery.database import BigQueryDatabase
from adapters.caching.assembly import CacheSettings, build_cache_space
from adapters.caching.service import CacheSpace
from adapters.clock import ManualClock, SystemClock
from adapters.instrumentation import RepositoryInstrumentation, instrument_repositories
from adapters.memory.backend import MemoryBackend
from adapters.memory.metrics import MemoryMetricsStore
from adapters.memory.rate_limit import MemoryRateCounter
from adapters.prometheus.client import PrometheusHttp, PrometheusSettings
from adapters.prometheus.metrics import PrometheusMetricsStore
from adapters.queue_state.memory import MemoryQueueState
from adapters.queue_state.redis import RedisQueueState
from adapters.redis.client import RedisSettings, create_async_redis_client, create_redis_client
from adapters.redis.cooperative import CooperativeRedis
from adapters.redis.rate_limit import RedisRateCounter
from adapters.rules.audit_writer import BatchingAuditWriter
from adapters.rules.control_plane import control_plane_units
from adapters.rules.jobs import jobs_units
from adapters.rules.metrics import metrics_repositories
from adapters.rules.processing import processing_units
from adapters.rules.reliability import reliability_units
from adapters.rules.tenancy import tenancy_units
from adapters.sql.backend import SqlBackend
from adapters.sql.control_plane import SqlInferenceMetrics
from adapters.sql.database import SqlDatabase
from adapters.sql.engine import PoolSettings
from adapters.sql.jobs import SqlJobQueries
from adapters.sql.metrics import SqlMetricsStore
from adapters.sql.processing import SqlExecutionQueries
from adapters.sql.rate_limit import SqlRateCounter
from adapters.transaction_manager import BackendTransactionManager
from adapters.wakeups.local import LocalWaker
from adapters.wakeups.postgres import PostgresWaker
from adapters.wakeups.redis import RedisWaker
from application.async_use_cases import AwaitableUseCase
from application.catalog import as_catalog, load_catalog
from application.control_plane import use_cases as control_plane
from application.jobs import use_cases as jobs
from application.metrics import use_cases as metrics
from application.processing import executions, subscriptions
from application.processing.cached_configs import CachedEffectiveConfig, drop_effective_configs
from application.reliability import incidents, ingestion, kill_switches, vendors, workflows
from application.settings import MEMORY_URL, Settings
from application.tenancy import use_cases as tenancy
from domain.metrics.collector import MetricsCollector
from ports.async_unit_of_work import AsyncTransactionManager, AsyncUnitOfWorkFactory, SyncRunner
from ports.clock import Clock
from ports.unit_of_work import UnitOfWork
from ports.wakeups import Waker


def _backend(settings: Settings, context: str) -> str:
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


def _open_sql_database(url: str, pool: PoolSettings, echo: bool) -> Iterator[SqlDatabase]:
    """A resource: `container.shutdown_resources()` returns the pooled connections."""
    database = SqlDatabase.from_url(url, pool, echo)
    yield database
    database.dispose()


def _open_redis_client(settings: RedisSettings) -> Iterator[Any]:
    """A resource: `shutdown_resources()` closes its connection pool."""
    client = create_redis_client(settings)
    yield client
    client.close()


def _open_bigquery_client(settings: BigQuerySettings) -> Iterator[Any]:
    """A resource: `shutdown_resources()` closes its HTTP session (one leak per container otherwise)."""
    client = create_bigquery_client(settings)
    yield client
    client.close()  # type: ignore[no-untyped-call]


def _waker_kind(settings: Settings) -> str:
    """Redis when configured; else PostgreSQL's NOTIFY when the jobs live there; else in-process."""
    if settings.redis_url:
        return "redis"
    if settings.backend_for("jobs") == "sql" and settings.database_url.startswith("postgresql"):
        return "postgres"
    return "local"


def _job_changes(settings: Settings, cache: Callable[[], Any]) -> Any:
    """The cache's listener of job writes, when job records are cached at all."""
    return jobs.drop_cached_jobs(cache()) if settings.cache_job_ttl > 0 else None


def _open_waker(build: Callable[[], Waker]) -> Iterator[Waker]:
    """A resource: `shutdown_resources()` stops its listener."""
    waker = build()
    yield waker
    waker.close()
def _open_audit_writer(units: Any, settings: Settings) -> Iterator[BatchingAuditWriter]:
    """A resource: `shutdown_resources()` stores every accepted entry before it returns."""
    writer = BatchingAuditWriter(units, queue_size=settings.audit_queue_size, batch_size=settings.audit_batch_size,
                                 flush_interval=settings.audit_flush_interval)
    yield writer
    writer.close()


def _redis_settings(settings: Settings) -> RedisSettings:
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
def _cache_redis_settings(settings: Settings) -> RedisSettings:
    """The cache's own connections: short timeouts and one retry, since a cache that waits on a
    dead Redis is slower than no cache (its fallback takes over instead)."""
    base = _redis_settings(settings)
    return RedisSettings(url=base.url, socket_timeout_seconds=settings.cache_redis_timeout,
                         connect_timeout_seconds=settings.cache_redis_timeout, retries=1,
                         health_check_interval_seconds=base.health_check_interval_seconds)


def _cache_settings(settings: Settings) -> CacheSettings:
    return CacheSettings(
        tiers=settings.cache_tier_list, root=settings.cache_key_prefix, default_ttl=settings.cache_default_ttl,
        l1_ttl_cap=settings.cache_l1_ttl_cap, l2_ttl_cap=settings.cache_l2_ttl_cap,
        l3_ttl_cap=settings.cache_l3_ttl_cap, memory_max_entries=settings.cache_memory_max_entries,
        redis_fallback=settings.cache_redis_fallback, probe_interval=settings.cache_redis_probe_interval,
        sql_purge_interval=settings.cache_sql_purge_interval,
    )


def _open_cooperative_redis_client(settings: RedisSettings) -> Iterator[CooperativeRedis]:
    """The cache's Redis client: sync, and `redis.asyncio` under the async face's loop. A resource:
    `shutdown_resources()` closes the sync pool (`await shutdown_async(container)` a loop's own)."""
    client = CooperativeRedis(create_redis_client(settings), partial(create_async_redis_client, settings))
    yield client
    client.close()


def _open_cache_space(settings: Settings, clock: Clock, redis: Callable[[], Any], sql: Callable[[], SqlDatabase],
                      async_sql: Callable[[], AsyncSqlDatabase]) -> Iterator[CacheSpace]:
    """A resource: `shutdown_resources()` stops the invalidation listener. Redis and the SQL
    database are opened only when a tier needs them; the async face's engine only when the awaited
    cache first reads the SQL tier."""
    tiers = settings.cache_tier_list
    space = build_cache_space(_cache_settings(settings), redis_client=redis() if "redis" in tiers else None,
                              sql_database=sql() if "sql" in tiers else None, now=_seconds_of(clock),
                              sql_on_loop=lambda: async_sql().database)
    yield space
    space.close()


def _seconds_of(clock: Clock) -> Callable[[], float]:
    """The cache's time: the system's, or a test's manual clock (TTL expiry under control)."""
    if isinstance(clock, SystemClock):
        return time.time
    return lambda: clock.now().timestamp()
# -- end of caching ------------------------------------------------------------------------------


def _bigquery_settings(settings: Settings) -> BigQuerySettings:
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
def _prometheus_settings(settings: Settings) -> PrometheusSettings:
    if settings.prometheus_url is None:
        raise LookupError("PORTSIDE_PROMETHEUS_URL is not set")
    return PrometheusSettings(url=settings.prometheus_url, timeout_seconds=settings.prometheus_timeout,
                              retries=settings.prometheus_retries)


def _open_prometheus_http(settings: PrometheusSettings) -> Iterator[PrometheusHttp]:
    """A resource: `shutdown_resources()` closes its connection pool."""
    http = PrometheusHttp(settings)
    yield http
    http.close()


def _prometheus_history(settings: Settings) -> timedelta:
    return timedelta(days=settings.prometheus_history_days)


# -- the async face (docs/async.md) ---------------------------------------------------------------
def _async_url(settings: Settings) -> str:
    return settings.async_database_url or async_database_url(settings.database_url)


def _open_thread_lanes(settings: Settings) -> Iterator[ThreadLaneRunner]:
    """A resource: `shutdown_resources()` waits for the lanes' threads."""
    runner = ThreadLaneRunner(settings.async_thread_lanes)
    yield runner
    runner.close()


def _async_twin(container: Container) -> Container:
    """The container's SQL contexts on the async engine: a second container that shares every
    setting, the clock, the catalog, the cache, Redis, BigQuery and the waker, and whose SQL database
    is the async engine's sync face. Every context's wiring stays declared once, below."""
    twin = Container()
    for name in ("settings", "clock", "catalog", "cache", "redis_client", "bigquery_database", "waker"):
        getattr(twin, name).override(getattr(container, name))
    twin.sql_database.override(providers.Object(container.async_sql_database().database))
    return twin


def _async_units(container: Container, context: str) -> AsyncUnitOfWorkFactory[UnitOfWork]:
    """The async factory of `context` on the backend its settings choose: SQL on the async engine
    through greenlets, BigQuery on the thread lanes, memory on the loop itself."""
    provider = f"{context}_unit_of_work"
    kind = container.settings().backend_for(context)
    if kind == "sql":  # the sync SQL engine is never opened for it
        return AsyncContextFactory(getattr(container.async_twin(), provider)(), container.greenlet_runner())
    runner: SyncRunner = container.thread_lanes() if kind == "bigquery" else container.direct_runner()
    return AsyncContextFactory(getattr(container, provider)(), runner)


def _async_runner(container: Container) -> SyncRunner:
    """Where awaited use cases run: greenlets when the data is in SQL, else on the loop."""
    return container.greenlet_runner() if container.settings().default_backend == "sql" else container.direct_runner()


def _async_transaction_manager(container: Container) -> AsyncTransactionManager:
    if container.settings().backend_for("control_plane") == "sql":
        return AsyncBackendTransactionManager(container.async_twin().sql(), container.greenlet_runner())
    return AsyncBackendTransactionManager(container.memory(), container.direct_runner())


def _async_cache(container: Container) -> AwaitedCacheProvider:
    """The cache awaited: the container's own cache space (one L1, one single flight for both
    faces), run in greenlets whose Redis and SQL round trips are awaited on the loop; an `async def`
    loader is awaited there too."""
    return AwaitedCacheProvider(container.cache(), container.greenlet_runner())


def _async_metrics(container: Container) -> AwaitedMetricsFactory:
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
# -- end of the async face ---------------------------------------------------------------------------


class Container(containers.DeclarativeContainer):
    __self__ = providers.Self()
    settings = providers.Singleton(Settings)
    clock = providers.Singleton(SystemClock)
    catalog = providers.Singleton(load_catalog, settings.provided.processor_catalog)
    """The processors the processing context knows (`build_container(catalog=...)` to hand yours)."""

    sql_database = providers.Resource(
        _open_sql_database,
        url=settings.provided.database_url,
        pool=providers.Callable(pool_settings, settings),
        echo=settings.provided.database_echo,
    )
    redis_settings = providers.Singleton(_redis_settings, settings)
    redis_client = providers.Resource(_open_redis_client, redis_settings)
    bigquery_settings = providers.Singleton(_bigquery_settings, settings)
    bigquery_client = providers.Resource(_open_bigquery_client, bigquery_settings)
    bigquery_database = providers.Singleton(BigQueryDatabase, bigquery_client, bigquery_settings)

    # One backend object per database: units of work of any contexts on it join one transaction.
    memory = providers.Singleton(MemoryBackend)
    sql = providers.Singleton(SqlBackend, sql_database)
    bigquery = providers.Singleton(BigQueryBackend, bigquery_database)

    # -- caching (docs/caching.md): the tiers from PORTSIDE_CACHE_*, one space per container ------
    async_sql_database = providers.Singleton(
        AsyncSqlDatabase.from_url,
        url=providers.Callable(_async_url, settings),
        pool=providers.Callable(pool_settings, settings),
        echo=settings.provided.database_echo,
    )
    """The async face's engine (docs/async.md). Disposed on the loop that used it:
    `await container.async_sql_database().dispose()`, or `await shutdown_async(container)`."""
    cache_redis_client = providers.Resource(_open_cooperative_redis_client,
                                            providers.Callable(_cache_redis_settings, settings))
    cache = providers.Resource(_open_cache_space, settings, clock, redis=cache_redis_client.provider,
                               sql=sql_database.provider, async_sql=async_sql_database.provider)
    """The `CacheProvider`: `container.cache().for_tenant(tenant_id)`."""
    config_changes = providers.Singleton(drop_effective_configs, cache)
    """Drops the cached effective configs a processing transaction changed, after it commits."""
    # -- end of caching ----------------------------------------------------------------------

    # One factory per context; a backend that cannot store a context's tables is refused when the
    # factory is built. Adding a context adds one Selector here.
    tenancy_unit_of_work = providers.Selector(
        providers.Callable(_backend, settings, "tenancy"),
        memory=providers.Singleton(tenancy_units, memory, clock=clock),
        sql=providers.Singleton(tenancy_units, sql, clock=clock),
    )
    reliability_unit_of_work = providers.Selector(
        providers.Callable(_backend, settings, "reliability"),
        memory=providers.Singleton(reliability_units, memory, clock=clock),
        sql=providers.Singleton(reliability_units, sql, clock=clock),
    )
    processing_unit_of_work = providers.Selector(
        providers.Callable(_backend, settings, "processing"),
        memory=providers.Singleton(processing_units, memory, catalog=catalog, clock=clock,
                                   config_changes=config_changes),
        sql=providers.Singleton(processing_units, sql, catalog=catalog, clock=clock, queries=SqlExecutionQueries,
                                config_changes=config_changes),
        bigquery=providers.Singleton(processing_units, bigquery, catalog=catalog, clock=clock,
                                     config_changes=config_changes),
    )
    job_changes = providers.Callable(_job_changes, settings, cache.provider)
    """Drops cached job records after each commit that wrote them (None unless `cache_job_ttl`)."""
    jobs_unit_of_work = providers.Selector(
        providers.Callable(_backend, settings, "jobs"),
        memory=providers.Singleton(jobs_units, memory, clock=clock, job_changes=job_changes),
        sql=providers.Singleton(jobs_units, sql, clock=clock, queries=SqlJobQueries, job_changes=job_changes),
    )
    waker = providers.Selector(
        providers.Callable(_waker_kind, settings),
        redis=providers.Resource(_open_waker, providers.Factory(RedisWaker, redis_client).provider),
        postgres=providers.Resource(_open_waker, providers.Factory(
            PostgresWaker, sql_database.provided.open_driver_connection).provider),
        local=providers.Resource(_open_waker, providers.Factory(LocalWaker).provider),
    )
    """Wakes idle job workers when `enqueue_job` commits a job."""
    queue_state = providers.Selector(
        providers.Callable(lambda settings: "redis" if settings.redis_url else "memory", settings),
        redis=providers.Singleton(RedisQueueState, redis_client),
        memory=providers.Singleton(MemoryQueueState),
    )
    """Queue positions and statistics snapshots (spec 002's secondary storage), rebuilt from the table."""
    # -- control plane (spec 003) ----------------------------------------------------------------
    bigquery_analytics = providers.Singleton(BigQueryAnalyticsBackend, bigquery_database)
    control_plane_unit_of_work = providers.Selector(
        providers.Callable(lambda settings: settings.control_plane_wiring, settings),
        memory=providers.Singleton(control_plane_units, memory, clock=clock),
        sql=providers.Singleton(control_plane_units, sql, clock=clock, metrics=SqlInferenceMetrics),
        **{"sql+bigquery": providers.Singleton(control_plane_units, sql, clock=clock, analytics=bigquery_analytics,
                                               metrics=BigQueryInferenceMetrics)},
    )
    transaction_manager = providers.Selector(
        providers.Callable(_backend, settings, "control_plane"),
        memory=providers.Singleton(BackendTransactionManager, memory),
        sql=providers.Singleton(BackendTransactionManager, sql),
    )
    """Spec 003's `InTransaction` on the control plane's database: every context's units of work on
    that database join the transaction it runs its function in."""
    audit_writer = providers.Resource(_open_audit_writer, control_plane_unit_of_work, settings)
    # -- end control plane ----------------------------------------------------------------------

    rate_counter = providers.Selector(
        providers.Callable(lambda settings: settings.rate_counter_backend, settings),
        memory=providers.Singleton(MemoryRateCounter),
        sql=providers.Singleton(SqlRateCounter, sql_database),
        redis=providers.Singleton(RedisRateCounter, redis_client),
    )

    # -- metrics (spec 002): one store per configuration, repositories bound to a tenant each --------
    prometheus_settings = providers.Singleton(_prometheus_settings, settings)
    prometheus_http = providers.Resource(_open_prometheus_http, prometheus_settings)
    metrics_store = providers.Selector(
        providers.Callable(lambda settings: settings.metrics_store_backend, settings),
        memory=providers.Singleton(MemoryMetricsStore),
        sql=providers.Singleton(SqlMetricsStore, sql_database),
        prometheus=providers.Singleton(PrometheusMetricsStore, prometheus_http,
                                       providers.Callable(_prometheus_history, settings)),
    )
    metrics_repository = providers.Singleton(metrics_repositories, metrics_store)
    repository_metrics = providers.Singleton(MetricsCollector, clock.provided.now)
    """The repositories' own counts and latencies, while `instrument_repository_metrics` has them on."""
    save_repository_metrics = providers.Factory(metrics.SaveRepositoryMetrics, metrics_repository,
                                                repository_metrics)

    create_tenant = providers.Factory(tenancy.CreateTenant, tenancy_unit_of_work, clock)
    create_tenants = providers.Factory(tenancy.CreateTenants, tenancy_unit_of_work, clock)
    get_tenant = providers.Factory(tenancy.GetTenant, tenancy_unit_of_work)
    update_tenant = providers.Factory(tenancy.UpdateTenant, tenancy_unit_of_work, clock)
    delete_tenant = providers.Factory(tenancy.DeleteTenant, tenancy_unit_of_work)
    list_tenants = providers.Factory(tenancy.ListTenants, tenancy_unit_of_work)

    register_workflow = providers.Factory(workflows.RegisterWorkflow, reliability_unit_of_work, clock,
                                          tenancy_unit_of_work)
    set_workflow_active = providers.Factory(workflows.SetWorkflowActive, reliability_unit_of_work, clock)
    register_vendor = providers.Factory(workflows.RegisterVendor, reliability_unit_of_work, clock)
    ingest_event = providers.Factory(ingestion.IngestEvent, reliability_unit_of_work, clock)
    ingest_events = providers.Factory(ingestion.IngestEvents, reliability_unit_of_work, clock)
    record_decision = providers.Factory(incidents.RecordDecision, reliability_unit_of_work, clock)
    move_incident = providers.Factory(incidents.MoveIncident, reliability_unit_of_work, clock)
    propose_action = providers.Factory(incidents.ProposeAction, reliability_unit_of_work, clock)
    start_action = providers.Factory(incidents.StartAction, reliability_unit_of_work, clock)
    finish_action = providers.Factory(incidents.FinishAction, reliability_unit_of_work, clock)
    list_incidents = providers.Factory(incidents.ListIncidents, reliability_unit_of_work)
    record_vendor_call = providers.Factory(vendors.RecordVendorCall, reliability_unit_of_work, clock)
    admit_vendor_call = providers.Factory(vendors.AdmitVendorCall, reliability_unit_of_work, clock, rate_counter)
    activate_kill_switch = providers.Factory(kill_switches.ActivateKillSwitch, reliability_unit_of_work, clock,
                                             tenancy_unit_of_work)
    release_kill_switch = providers.Factory(kill_switches.ReleaseKillSwitch, reliability_unit_of_work, clock)

    purchase_processor = providers.Factory(subscriptions.PurchaseProcessor, processing_unit_of_work, clock)
    attach_processor = providers.Factory(subscriptions.AttachToUnderwriting, processing_unit_of_work, clock)
    resolve_effective_config = providers.Factory(subscriptions.ResolveEffectiveConfig, processing_unit_of_work)
    change_subscription_config = providers.Factory(subscriptions.ChangeSubscriptionConfig, processing_unit_of_work,
                                                   clock)
    set_subscription_enabled = providers.Factory(subscriptions.SetSubscriptionEnabled, processing_unit_of_work, clock)
    change_underwriting_override = providers.Factory(subscriptions.ChangeUnderwritingOverride,
                                                     processing_unit_of_work, clock)
    submit_execution = providers.Factory(executions.SubmitExecution, processing_unit_of_work, clock)
    start_execution = providers.Factory(executions.StartExecution, processing_unit_of_work, clock)
    complete_execution = providers.Factory(executions.CompleteExecution, processing_unit_of_work, clock)
    fail_execution = providers.Factory(executions.FailExecution, processing_unit_of_work, clock)
    supersede_execution = providers.Factory(executions.SupersedeExecution, processing_unit_of_work)
    rollback_supersession = providers.Factory(executions.RollbackSupersession, processing_unit_of_work)
    consolidate_factors = providers.Factory(executions.ConsolidateFactors, processing_unit_of_work)
    auto_execute = providers.Factory(executions.AutoExecute, processing_unit_of_work, clock)

    enqueue_job = providers.Factory(jobs.EnqueueJob, jobs_unit_of_work, clock, waker)
    get_job_stats = providers.Factory(jobs.GetJobStats, jobs_unit_of_work, queue_state,
                                      settings.provided.jobs_state_ttl)
    get_queue_position = providers.Factory(jobs.GetQueuePosition, jobs_unit_of_work, queue_state,
                                           settings.provided.jobs_state_ttl)
    get_job = providers.Factory(jobs.GetJob, jobs_unit_of_work, cache, settings.provided.cache_job_ttl)
    # -- caching use cases -------------------------------------------------------------------
    cached_effective_config = providers.Factory(CachedEffectiveConfig, resolve_effective_config, cache,
                                                ttl=settings.provided.cache_config_ttl)
    # -- control plane (spec 003) ----------------------------------------------------------------
    register_application = providers.Factory(control_plane.RegisterApplication, control_plane_unit_of_work, clock,
                                             tenancy_unit_of_work)
    authenticate_api_key = providers.Factory(control_plane.AuthenticateApiKey, control_plane_unit_of_work)
    rotate_api_key = providers.Factory(control_plane.RotateApiKey, control_plane_unit_of_work, clock)
    revoke_api_key = providers.Factory(control_plane.RevokeApiKey, control_plane_unit_of_work, clock)
    register_user = providers.Factory(control_plane.RegisterUser, control_plane_unit_of_work, clock)
    define_policy = providers.Factory(control_plane.DefinePolicy, transaction_manager, control_plane_unit_of_work,
                                      clock)
    change_policy = providers.Factory(control_plane.ChangePolicy, transaction_manager, control_plane_unit_of_work,
                                      clock)
    resolve_policies = providers.Factory(control_plane.ResolvePolicies, control_plane_unit_of_work)
    record_inference = providers.Factory(control_plane.RecordInference, control_plane_unit_of_work, clock)
    inference_metrics = providers.Factory(control_plane.InferenceMetricsReport, control_plane_unit_of_work)
    # -- end control plane ----------------------------------------------------------------------

    # -- the async face (docs/async.md): every context's factory awaited, chosen by the same settings
    async_twin = providers.Singleton(_async_twin, __self__)
    greenlet_runner = providers.Singleton(GreenletRunner)
    direct_runner = providers.Singleton(DirectRunner)
    thread_lanes = providers.Resource(_open_thread_lanes, settings)
    async_runner = providers.Singleton(_async_runner, __self__)
    async_tenancy_unit_of_work = providers.Singleton(_async_units, __self__, "tenancy")
    async_reliability_unit_of_work = providers.Singleton(_async_units, __self__, "reliability")
    async_processing_unit_of_work = providers.Singleton(_async_units, __self__, "processing")
    async_jobs_unit_of_work = providers.Singleton(_async_units, __self__, "jobs")
    async_control_plane_unit_of_work = providers.Singleton(_async_units, __self__, "control_plane")
    async_transaction_manager = providers.Singleton(_async_transaction_manager, __self__)
    async_cache = providers.Singleton(_async_cache, __self__)
    """The `CacheProvider` awaited: `await container.async_cache().for_tenant(t).get(key)`."""
    async_metrics_repository = providers.Singleton(_async_metrics, __self__)
    """The metrics repositories awaited: `await container.async_metrics_repository().for_tenant(t).save(c)`."""
    # -- end of the async face ------------------------------------------------------------------


__all__ = ["Container", "ManualClock", "awaitable_use_case", "build_container", "in_memory_container",
           "instrument_repository_metrics"]


def build_container(settings: Settings | None = None, *, catalog: object = None) -> Container:
    """`catalog`: the deployment's processors (a `ProcessorCatalog` or processor classes); else the
    `PORTSIDE_PROCESSOR_CATALOG` setting's, else the shipped examples."""
    container = Container()
    if settings is not None:
        container.settings.override(providers.Object(settings))
    if catalog is not None:
        container.catalog.override(providers.Object(as_catalog(catalog, "catalog")))
    if container.settings().metrics_instrument_repositories:
        instrument_repository_metrics(container)
    return container


def instrument_repository_metrics(container: Container, on: bool = True) -> MetricsCollector:
    """Count and time every repository call of this process into `container.repository_metrics()`
    (process-wide: units of work are built by every container alike); `on=False` stops it."""
    collector: MetricsCollector = container.repository_metrics()
    instrument_repositories(RepositoryInstrumentation(collector) if on else None)
    return collector


def in_memory_container(start: datetime | None = None, *, catalog: object = None) -> Container:
    """Every context on the in-memory adapters, time on a manual clock:
    `container = in_memory_container()` in a test, then `container.clock().advance(...)`."""
    container = build_container(Settings(database_url=MEMORY_URL), catalog=catalog)
    container.clock.override(providers.Object(ManualClock(start)))
    return container
