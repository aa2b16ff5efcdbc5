"""The composition root: the only module (with the CLI) that knows the adapters.

`Selector` providers pick each context's backend from the settings, so a service switches from
the embedded SQLite file to PostgreSQL, or a test to memory, by configuration alone.
"""

from __future__ import annotations

from datetime import datetime

from dependency_injector import containers, providers

from adapters.asynchronous.runners import DirectRunner, GreenletRunner
from adapters.asynchronous.sql import AsyncSqlDatabase
from adapters.bigquery.analytics import BigQueryAnalyticsBackend, BigQueryInferenceMetrics
from adapters.bigquery.backend import BigQueryBackend
from adapters.bigquery.database import BigQueryDatabase
from adapters.clock import ManualClock, SystemClock
from adapters.instrumentation import RepositoryInstrumentation, instrument_repositories
from adapters.memory.backend import MemoryBackend
from adapters.memory.metrics import MemoryMetricsStore
from adapters.memory.rate_limit import MemoryRateCounter
from adapters.prometheus.metrics import PrometheusMetricsStore
from adapters.queue_state.memory import MemoryQueueState
from adapters.queue_state.redis import RedisQueueState
from adapters.redis.rate_limit import RedisRateCounter
from adapters.rules.control_plane import control_plane_units
from adapters.rules.jobs import jobs_units
from adapters.rules.metrics import metrics_repositories
from adapters.rules.processing import processing_units
from adapters.rules.reliability import reliability_units
from adapters.rules.tenancy import tenancy_units
from adapters.sql.backend import SqlBackend
from adapters.sql.control_plane import SqlInferenceMetrics
from adapters.sql.jobs import SqlJobQueries
from adapters.sql.metrics import SqlMetricsStore
from adapters.sql.processing import SqlExecutionQueries
from adapters.sql.rate_limit import SqlRateCounter
from adapters.transaction_manager import BackendTransactionManager
from adapters.wakeups.local import LocalWaker
from adapters.wakeups.postgres import PostgresWaker
from adapters.wakeups.redis import RedisWaker
from application import async_face
from application import container_resources as resources
from application.async_face import awaitable_use_case, shutdown_async
from application.catalog import as_catalog, load_catalog
from application.container_resources import pool_settings
from application.control_plane import use_cases as control_plane
from application.jobs import use_cases as jobs
from application.metrics import use_cases as metrics
from application.processing import executions, subscriptions
from application.processing.cached_configs import CachedEffectiveConfig, drop_effective_configs
from application.reliability import incidents, ingestion, kill_switches, vendors, workflows
from application.settings import MEMORY_URL, Settings
from application.tenancy import use_cases as tenancy
from domain.metrics.collector import MetricsCollector


class Container(containers.DeclarativeContainer):
    __self__ = providers.Self()
    settings = providers.Singleton(Settings)
    clock = providers.Singleton(SystemClock)
    catalog = providers.Singleton(load_catalog, settings.provided.processor_catalog)
    """The processors the processing context knows (`build_container(catalog=...)` to hand yours)."""

    sql_database = providers.Resource(
        resources.open_sql_database,
        url=settings.provided.database_url,
        pool=providers.Callable(pool_settings, settings),
        echo=settings.provided.database_echo,
    )
    redis_settings = providers.Singleton(resources.redis_settings, settings)
    redis_client = providers.Resource(resources.open_redis_client, redis_settings)
    bigquery_settings = providers.Singleton(resources.bigquery_settings, settings)
    bigquery_client = providers.Resource(resources.open_bigquery_client, bigquery_settings)
    bigquery_database = providers.Singleton(BigQueryDatabase, bigquery_client, bigquery_settings)

    # One backend object per database: units of work of any contexts on it join one transaction.
    memory = providers.Singleton(MemoryBackend)
    sql = providers.Singleton(SqlBackend, sql_database)
    bigquery = providers.Singleton(BigQueryBackend, bigquery_database)

    # -- caching (docs/caching.md): the tiers from PORTSIDE_CACHE_*, one space per container ------
    async_sql_database = providers.Singleton(
        AsyncSqlDatabase.from_url,
        url=providers.Callable(async_face.async_url, settings),
        pool=providers.Callable(pool_settings, settings),
        echo=settings.provided.database_echo,
    )
    """The async face's engine (docs/async.md). Disposed on the loop that used it:
    `await container.async_sql_database().dispose()`, or `await shutdown_async(container)`."""
    cache_redis_client = providers.Resource(resources.open_cooperative_redis_client,
                                            providers.Callable(resources.cache_redis_settings, settings))
    cache = providers.Resource(resources.open_cache_space, settings, clock, redis=cache_redis_client.provider,
                               sql=sql_database.provider, async_sql=async_sql_database.provider)
    """The `CacheProvider`: `container.cache().for_tenant(tenant_id)`."""
    config_changes = providers.Singleton(drop_effective_configs, cache)
    """Drops the cached effective configs a processing transaction changed, after it commits."""
    # -- end of caching ----------------------------------------------------------------------

    # One factory per context; a backend that cannot store a context's tables is refused when the
    # factory is built. Adding a context adds one Selector here.
    tenancy_unit_of_work = providers.Selector(
        providers.Callable(resources.backend, settings, "tenancy"),
        memory=providers.Singleton(tenancy_units, memory, clock=clock),
        sql=providers.Singleton(tenancy_units, sql, clock=clock),
    )
    reliability_unit_of_work = providers.Selector(
        providers.Callable(resources.backend, settings, "reliability"),
        memory=providers.Singleton(reliability_units, memory, clock=clock),
        sql=providers.Singleton(reliability_units, sql, clock=clock),
    )
    processing_unit_of_work = providers.Selector(
        providers.Callable(resources.backend, settings, "processing"),
        memory=providers.Singleton(processing_units, memory, catalog=catalog, clock=clock,
                                   config_changes=config_changes),
        sql=providers.Singleton(processing_units, sql, catalog=catalog, clock=clock, queries=SqlExecutionQueries,
                                config_changes=config_changes),
        bigquery=providers.Singleton(processing_units, bigquery, catalog=catalog, clock=clock,
                                     config_changes=config_changes),
    )
    job_changes = providers.Callable(resources.job_changes, settings, cache.provider)
    """Drops cached job records after each commit that wrote them (None unless `cache_job_ttl`)."""
    jobs_unit_of_work = providers.Selector(
        providers.Callable(resources.backend, settings, "jobs"),
        memory=providers.Singleton(jobs_units, memory, clock=clock, job_changes=job_changes),
        sql=providers.Singleton(jobs_units, sql, clock=clock, queries=SqlJobQueries, job_changes=job_changes),
    )
    waker = providers.Selector(
        providers.Callable(resources.waker_kind, settings),
        redis=providers.Resource(resources.open_waker, providers.Factory(RedisWaker, redis_client).provider),
        postgres=providers.Resource(resources.open_waker, providers.Factory(
            PostgresWaker, sql_database.provided.open_driver_connection).provider),
        local=providers.Resource(resources.open_waker, providers.Factory(LocalWaker).provider),
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
        providers.Callable(resources.backend, settings, "control_plane"),
        memory=providers.Singleton(BackendTransactionManager, memory),
        sql=providers.Singleton(BackendTransactionManager, sql),
    )
    """Spec 003's `InTransaction` on the control plane's database: every context's units of work on
    that database join the transaction it runs its function in."""
    audit_writer = providers.Resource(resources.open_audit_writer, control_plane_unit_of_work, settings)
    # -- end control plane ----------------------------------------------------------------------

    rate_counter = providers.Selector(
        providers.Callable(lambda settings: settings.rate_counter_backend, settings),
        memory=providers.Singleton(MemoryRateCounter),
        sql=providers.Singleton(SqlRateCounter, sql_database),
        redis=providers.Singleton(RedisRateCounter, redis_client),
    )

    # -- metrics (spec 002): one store per configuration, repositories bound to a tenant each --------
    prometheus_settings = providers.Singleton(resources.prometheus_settings, settings)
    prometheus_http = providers.Resource(resources.open_prometheus_http, prometheus_settings)
    metrics_store = providers.Selector(
        providers.Callable(lambda settings: settings.metrics_store_backend, settings),
        memory=providers.Singleton(MemoryMetricsStore),
        sql=providers.Singleton(SqlMetricsStore, sql_database),
        prometheus=providers.Singleton(PrometheusMetricsStore, prometheus_http,
                                       providers.Callable(resources.prometheus_history, settings)),
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
    async_twin = providers.Singleton(async_face.async_twin, __self__)
    greenlet_runner = providers.Singleton(GreenletRunner)
    direct_runner = providers.Singleton(DirectRunner)
    thread_lanes = providers.Resource(async_face.open_thread_lanes, settings)
    async_runner = providers.Singleton(async_face.async_runner, __self__)
    async_tenancy_unit_of_work = providers.Singleton(async_face.async_units, __self__, "tenancy")
    async_reliability_unit_of_work = providers.Singleton(async_face.async_units, __self__, "reliability")
    async_processing_unit_of_work = providers.Singleton(async_face.async_units, __self__, "processing")
    async_jobs_unit_of_work = providers.Singleton(async_face.async_units, __self__, "jobs")
    async_control_plane_unit_of_work = providers.Singleton(async_face.async_units, __self__, "control_plane")
    async_transaction_manager = providers.Singleton(async_face.async_transaction_manager, __self__)
    async_cache = providers.Singleton(async_face.async_cache, __self__)
    """The `CacheProvider` awaited: `await container.async_cache().for_tenant(t).get(key)`."""
    async_metrics_repository = providers.Singleton(async_face.async_metrics, __self__)
    """The metrics repositories awaited: `await container.async_metrics_repository().for_tenant(t).save(c)`."""
    # -- end of the async face ------------------------------------------------------------------


__all__ = ["Container", "ManualClock", "awaitable_use_case", "build_container", "in_memory_container",
           "instrument_repository_metrics", "pool_settings", "shutdown_async"]


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
