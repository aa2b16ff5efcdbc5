"""Configuration from the environment (`PORTSIDE_*`), validated once at start-up."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

MEMORY_URL = "memory://"
DEFAULT_DATABASE_URL = "sqlite:///portside.db"
"""The embedded default: a SQLite file in the working directory."""

Backend = Literal["memory", "sql"]

_DATABASE_URL = re.compile(r"^(sqlite(\+pysqlite)?|postgresql(\+(psycopg2|psycopg|asyncpg))?)://")
"""The SQL dialects and drivers Portside runs on."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PORTSIDE_", extra="ignore", frozen=True)

    database_url: str = DEFAULT_DATABASE_URL
    """SQLAlchemy URL: `sqlite:///path.db`, `postgresql+psycopg2://user:pw@host/db`, or `memory://`."""
    async_database_url: str | None = Field(default=None, pattern=r"^(sqlite\+aiosqlite|postgresql\+(asyncpg|psycopg))://")
    """The async face's URL of the same database (`postgresql+asyncpg://`, `postgresql+psycopg://`,
    `sqlite+aiosqlite://`); by default derived from `database_url` (docs/async.md)."""
    async_thread_lanes: int = Field(default=8, ge=1, le=256)
    """Threads the async face runs BigQuery's sync client on, at most."""
    database_migration_url: str | None = None
    """The schema owner's URL for `portside init`, when the application connects as another role."""
    database_app_role: str | None = None
    """PostgreSQL role that `portside init` grants table privileges to."""
    database_pool_size: int = Field(default=10, ge=1)
    database_max_overflow: int = Field(default=20, ge=0)
    database_pool_timeout: float = Field(default=30.0, gt=0)
    database_pool_recycle: int = Field(default=3600, ge=-1)
    database_pool_pre_ping: bool = True
    database_pool_ping_idle: float = Field(default=1.0, ge=0)
    """Seconds a pooled PostgreSQL connection sits idle before its checkout pings it; 0: every checkout."""
    database_echo: bool = False
    database_connect_timeout: int = Field(default=10, ge=1, le=3600)
    """Seconds a new PostgreSQL connection may take."""
    database_statement_timeout: float = Field(default=30.0, ge=0, le=86_400)
    """Seconds a statement may run before PostgreSQL cancels it (`StorageUnavailable`); 0: no limit."""

    tenancy_backend: Backend | None = None
    """Overrides the backend of the tenancy context; by default it follows `database_url`."""
    processing_backend: Literal["memory", "sql", "bigquery"] | None = None
    """Overrides the backend of the processing context (spec 000 runs on PostgreSQL or BigQuery)."""
    jobs_backend: Literal["memory", "sql"] | None = None
    """Overrides the backend of the jobs context; by default it follows `database_url`."""
    reliability_backend: Backend | None = None
    """Overrides the backend of the reliability context; by default it follows `database_url`."""

    # -- control plane ------------------------------------------------------------------------
    control_plane_backend: Backend | None = None
    """Overrides the backend of the control-plane context; by default it follows `database_url`."""
    control_plane_analytics_backend: Literal["bigquery"] | None = None
    """`bigquery`: the audit log and inference requests in BigQuery (the `bigquery_*` settings), the rest
    of the control plane on its backend, which must then be `sql`."""
    audit_queue_size: int = Field(default=10_000, ge=1, le=10_000_000)
    """Audit entries the asynchronous writer holds before `submit` waits for room."""
    audit_batch_size: int = Field(default=1_000, ge=1, le=100_000)
    """Audit entries the asynchronous writer stores per statement at most."""
    audit_flush_interval: float = Field(default=0.2, gt=0, le=3600)
    """Seconds the asynchronous writer waits for a batch to fill before storing what it has."""

    processor_catalog: str | None = None
    """`module:attribute` of the deployment's processors (a `ProcessorCatalog`, processor classes, or a
    function returning either); the shipped example processors when unset."""

    redis_url: str | None = None
    redis_socket_timeout: float = Field(default=2.0, gt=0)
    redis_connect_timeout: float = Field(default=2.0, gt=0)
    redis_retries: int = Field(default=3, ge=0)
    redis_health_check_interval: int = Field(default=30, ge=0)

    # -- caching (docs/caching.md) ---------------------------------------------------------
    cache_tiers: str | None = None
    """Comma-separated, among memory, redis, sql (L1, L2, L3); default: memory, plus redis when
    PORTSIDE_REDIS_URL is set."""
    cache_default_ttl: float = Field(default=3600.0, gt=0)
    cache_l1_ttl_cap: float = Field(default=300.0, gt=0)
    cache_l2_ttl_cap: float = Field(default=86_400.0, gt=0)
    cache_l3_ttl_cap: float | None = Field(default=None, gt=0)
    """None: the entry's full TTL (spec 002)."""
    cache_memory_max_entries: int = Field(default=10_000, ge=1)
    cache_key_prefix: str = Field(default="portside:cache", pattern=r"^[A-Za-z0-9_.:-]{1,40}$")
    cache_redis_fallback: bool = True
    """Serve from memory while Redis is unreachable instead of raising StorageUnavailable."""
    cache_redis_timeout: float = Field(default=0.5, gt=0)
    """Socket and connect timeout of the cache's own Redis connections: a cache fails fast."""
    cache_redis_probe_interval: float = Field(default=0.5, gt=0)
    cache_sql_purge_interval: float = Field(default=60.0, gt=0)
    cache_config_ttl: float = Field(default=3600.0, gt=0)
    """How long an effective config stays cached (writes drop it at once anyway)."""
    cache_job_ttl: float = Field(default=60.0, ge=0)
    """Seconds `get_job` keeps a job record in the cache; 0: job records are not cached (no cache
    is told of job writes either)."""
    jobs_state_ttl: float = Field(default=1.0, ge=0, le=86_400)
    """Seconds a queue's position and statistics snapshot is answered from the queue state (Redis
    when `redis_url` is set, else in process) before it is rebuilt from the jobs table; 0: always
    from the table."""

    @property
    def cache_tier_list(self) -> tuple[str, ...]:
        if self.cache_tiers:
            return tuple(part.strip() for part in self.cache_tiers.split(",") if part.strip())
        return ("memory", "redis") if self.redis_url else ("memory",)
    # -- end of caching ---------------------------------------------------------------------

    bigquery_project: str | None = None
    bigquery_dataset: str = "portside"
    bigquery_endpoint: str | None = None
    """An emulator endpoint such as `http://127.0.0.1:9050`; anonymous credentials are used then."""
    bigquery_location: str = "US"
    bigquery_maximum_bytes_billed: int = Field(default=10 * 1024**3, gt=0)

    # -- metrics (spec 002) ------------------------------------------------------------------------
    metrics_backend: Literal["memory", "sql", "prometheus"] | None = None
    """Where metric series go; by default Prometheus when `prometheus_url` is set, else beside the data."""
    prometheus_url: str | None = None
    """`http://host:9090` of a Prometheus started with `--web.enable-remote-write-receiver`."""
    prometheus_timeout: float = Field(default=5.0, gt=0)
    prometheus_retries: int = Field(default=2, ge=0, le=10)
    prometheus_history_days: int = Field(default=15, ge=1)
    """How far back Prometheus reads look (its own retention is 15 days by default)."""
    metrics_instrument_repositories: bool = False
    """Count and time every repository method call into the container's `repository_metrics`."""

    @field_validator("database_url", "database_migration_url")
    @classmethod
    def _known_database(cls, url: str | None) -> str | None:
        """Refused here, with the setting's name, rather than deep inside the engine factory."""
        if url is None or url == MEMORY_URL:
            return url
        if not _DATABASE_URL.match(url):
            raise ValueError(f"expected {MEMORY_URL}, sqlite:///<file> or postgresql+<driver>://..., got {url!r}")
        return url

    @property
    def rate_counter_backend(self) -> str:
        """Vendor call counts live in Redis when it is configured, else beside the reliability data."""
        return "redis" if self.redis_url else self.backend_for("reliability")

    @property
    def metrics_store_backend(self) -> str:
        if self.metrics_backend is not None:
            return self.metrics_backend
        return "prometheus" if self.prometheus_url else self.default_backend

    @property
    def default_backend(self) -> Backend:
        return "memory" if self.database_url == MEMORY_URL else "sql"

    @property
    def control_plane_wiring(self) -> str:
        """`memory`, `sql`, or `sql+bigquery` (the analytics tables in BigQuery)."""
        backend = self.backend_for("control_plane")
        return backend if self.control_plane_analytics_backend is None else f"{backend}+bigquery"

    def backend_for(self, context: str) -> str:
        chosen: str | None = getattr(self, f"{context}_backend", None)
        return chosen or self.default_backend
