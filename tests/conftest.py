"""Session fixtures: real servers, migrated databases, and the backend parameter of the contract
suites. A server that cannot start is an error, never a skip."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import sqlalchemy as sa

from adapters.clock import ManualClock
from adapters.memory.backend import MemoryBackend
from adapters.rules.audit_writer import BatchingAuditWriter
from adapters.rules.control_plane import control_plane_units
from adapters.rules.jobs import jobs_units
from adapters.rules.metrics import metrics_repositories
from adapters.rules.processing import processing_units
from adapters.rules.reliability import reliability_units
from adapters.rules.tenancy import tenancy_units
from adapters.sql import migrate
from adapters.sql.backend import SqlBackend
from adapters.sql.control_plane import SqlInferenceMetrics
from adapters.sql.database import SqlDatabase
from adapters.sql.jobs import SqlJobQueries
from adapters.sql.metadata import metadata
from adapters.sql.processing import SqlExecutionQueries
from adapters.transaction_manager import BackendTransactionManager
from adapters.transactions import Backend
from domain.jobs.backoff import Backoff
from ports.control_plane import AuditWriter, ControlPlaneUnitOfWorkFactory
from ports.jobs import JobsUnitOfWorkFactory
from ports.metrics import MetricsRepositoryFactory
from ports.processing import ProcessingUnitOfWorkFactory
from ports.reliability import ReliabilityUnitOfWorkFactory
from ports.tenancy import TenancyUnitOfWorkFactory

if TYPE_CHECKING:
    from adapters.bigquery.database import BigQueryDatabase

from tests.servers import (
    BigQueryEmulator,
    PostgresServer,
    PrometheusServer,
    RedisServer,
    start_bigquery_emulator,
    start_postgres,
    start_prometheus,
    start_redis,
)

POSTGRES_BACKENDS = ("postgres", "psycopg")
"""The same migrated PostgreSQL database through each driver: `postgres` on psycopg2
(`postgresql+psycopg2://`), `psycopg` on psycopg 3 (`postgresql+psycopg://`)."""
SQL_BACKENDS = ("sqlite", *POSTGRES_BACKENDS)
BACKENDS = ("memory", *SQL_BACKENDS)


def backend_param(name: str) -> Any:
    """`name` as a fixture parameter with its markers: a psycopg 3 backend needs the PostgreSQL
    server too, so `-m "not postgres"` leaves it out as well."""
    marks = [pytest.mark.postgres, pytest.mark.psycopg] if name == "psycopg" else [getattr(pytest.mark, name)]
    return pytest.param(name, marks=marks)


POSTGRES_DRIVERS = ("psycopg2", "psycopg")
on_each_postgres_driver = pytest.mark.parametrize(
    "postgres_driver", [pytest.param("psycopg2"), pytest.param("psycopg", marks=pytest.mark.psycopg)], indirect=True)
"""Runs a test that takes `postgres_storage` (or `postgres_driver`) once per driver."""


def on_driver(url: str, driver: str) -> str:
    """`url` (a server's `postgresql+psycopg2://` URL) with `driver` instead."""
    return sa.make_url(url).set(drivername=f"postgresql+{driver}").render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    with start_postgres() as server:
        yield server


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    with start_redis() as server:
        yield server


@pytest.fixture(scope="session")
def bigquery_emulator() -> Iterator[BigQueryEmulator]:
    with start_bigquery_emulator() as emulator:
        yield emulator


@pytest.fixture(scope="session")
def postgres_database(postgres_server: PostgresServer) -> Iterator[SqlDatabase]:
    """Migrated as the owner; the application connects as a role that owns nothing, so that
    row-level security binds it."""
    migrate.upgrade(postgres_server.admin_url, grant_to="portside_app")
    database = SqlDatabase.from_url(postgres_server.app_url)
    yield database
    database.dispose()


@pytest.fixture(scope="session")
def psycopg_database(postgres_server: PostgresServer, postgres_database: SqlDatabase) -> Iterator[SqlDatabase]:
    """`postgres_database` (migrated by it) through psycopg 3."""
    database = SqlDatabase.from_url(on_driver(postgres_server.app_url, "psycopg"))
    yield database
    database.dispose()


@pytest.fixture(scope="session")
def psycopg_admin_engine(postgres_server: PostgresServer) -> Iterator[sa.Engine]:
    engine = sa.create_engine(on_driver(postgres_server.admin_url, "psycopg"))
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def postgres_admin_engine(postgres_server: PostgresServer) -> Iterator[sa.Engine]:
    engine = sa.create_engine(postgres_server.admin_url)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def sqlite_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SqlDatabase]:
    path: Path = tmp_path_factory.mktemp("sqlite") / "portside.db"
    url = f"sqlite:///{path}"
    migrate.upgrade(url)
    database = SqlDatabase.from_url(url)
    yield database
    database.dispose()


def _empty(engine: sa.Engine) -> None:
    tables = list(reversed(metadata.sorted_tables))
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            # The append-only triggers refuse TRUNCATE; the replica role (superuser only) skips
            # ordinary triggers for this transaction.
            connection.exec_driver_sql("SET LOCAL session_replication_role = replica")
            names = ", ".join(table.name for table in tables)
            connection.exec_driver_sql(f"TRUNCATE {names} CASCADE")
        else:
            for table in tables:
                connection.execute(table.delete())


@pytest.fixture(params=[backend_param(name) for name in BACKENDS])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def storage(backend: str, request: pytest.FixtureRequest) -> Iterator[Backend[Any, Any]]:
    """The backend under test, on an empty database."""
    yield from storage_on(backend, request, lambda name: request.getfixturevalue(f"{name}_database"))


def storage_on(backend: str, request: pytest.FixtureRequest,
               database_of: Callable[[str], SqlDatabase]) -> Iterator[Backend[Any, Any]]:
    """`backend` on an empty database; SQL on `database_of(backend)`, the session's database or
    another engine on it (the async face's)."""
    if backend == "memory":
        yield MemoryBackend()
        return
    session_database: SqlDatabase = request.getfixturevalue(f"{backend}_database")
    cleaner = (request.getfixturevalue("postgres_admin_engine") if backend in POSTGRES_BACKENDS
               else session_database.engine)
    _empty(cleaner)
    yield SqlBackend(database_of(backend))
    _empty(cleaner)


@pytest.fixture
def multi_row_inserts(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The statements of the PostgreSQL multi-row inserts (`adapters/sql/bulk.py`) the test sends,
    on either driver; a COPY is not one of them."""
    import adapters.sql.bulk
    from adapters.sql.driver import execute_values as original

    calls: list[str] = []

    def counting(connection: sa.Connection, cursor: Any, sql: str, *args: Any, **kwargs: Any) -> list[Any]:
        calls.append(sql)
        return original(connection, cursor, sql, *args, **kwargs)

    monkeypatch.setattr(adapters.sql.bulk, "execute_values", counting)
    return calls


def copying_from(storage: SqlBackend, rows: int) -> SqlBackend:
    """`storage`'s database with its PostgreSQL bulk inserts of `rows` or more going through COPY."""
    return SqlBackend(dataclasses.replace(storage.database, copy_threshold=rows))


def processing_units_on(storage: Backend[Any, Any]) -> ProcessingUnitOfWorkFactory:
    """The processing factory as the container builds it: SQL answers its two queries itself."""
    if isinstance(storage, SqlBackend):
        return processing_units(storage, queries=SqlExecutionQueries)
    return processing_units(storage)


@pytest.fixture
def tenancy_uow(storage: Backend[Any, Any]) -> TenancyUnitOfWorkFactory:
    return tenancy_units(storage)


@pytest.fixture
def reliability_uow(storage: Backend[Any, Any]) -> ReliabilityUnitOfWorkFactory:
    return reliability_units(storage)


@pytest.fixture
def processing_uow(storage: Backend[Any, Any]) -> ProcessingUnitOfWorkFactory:
    return processing_units_on(storage)


def jobs_units_on(storage: Backend[Any, Any], **options: Any) -> JobsUnitOfWorkFactory:
    """The jobs factory as the container builds it: SQL claims in one statement on PostgreSQL."""
    if isinstance(storage, SqlBackend):
        return jobs_units(storage, queries=SqlJobQueries, **options)
    return jobs_units(storage, **options)


@pytest.fixture
def jobs_clock() -> ManualClock:
    return ManualClock(datetime(2026, 3, 1, 12, 0, tzinfo=UTC))


@pytest.fixture
def jobs_uow(storage: Backend[Any, Any], jobs_clock: ManualClock) -> JobsUnitOfWorkFactory:
    """Retries wait exactly their exponential delay: no jitter, so the tests know when."""
    return jobs_units_on(storage, clock=jobs_clock, backoff=Backoff(random=lambda: 1.0))
# -- control plane ------------------------------------------------------------------------------
@pytest.fixture
def control_plane_uow(storage: Backend[Any, Any]) -> ControlPlaneUnitOfWorkFactory:
    """As the container builds it: SQL answers `get_metrics` in one statement."""
    if isinstance(storage, SqlBackend):
        return control_plane_units(storage, metrics=SqlInferenceMetrics)
    return control_plane_units(storage)


@pytest.fixture
def transaction_manager(storage: Backend[Any, Any]) -> BackendTransactionManager:
    return BackendTransactionManager(storage)


@pytest.fixture
def audit_writer_of(control_plane_uow: ControlPlaneUnitOfWorkFactory) -> Iterator[Callable[..., AuditWriter]]:
    """Builds asynchronous audit writers with a small queue (so that `submit` does wait), on
    `control_plane_uow` or the factory given, closed after the test whatever it did."""
    writers: list[BatchingAuditWriter] = []

    def build(units: ControlPlaneUnitOfWorkFactory | None = None) -> AuditWriter:
        writer = BatchingAuditWriter(units or control_plane_uow, queue_size=64, batch_size=50, flush_interval=0.02)
        writers.append(writer)
        return writer

    yield build
    for writer in writers:
        writer.close()


@pytest.fixture
def uow_factory_for_cleanup(request: pytest.FixtureRequest) -> Iterator[Callable[[str], None]]:
    """Empties the database of a backend now and again after the test: for tests that build their
    own container on the session databases."""
    cleaned: list[sa.Engine] = []

    def clean(backend: str) -> None:
        database: SqlDatabase = request.getfixturevalue(f"{backend}_database")
        engine = request.getfixturevalue("postgres_admin_engine") if backend in POSTGRES_BACKENDS else database.engine
        _empty(engine)
        cleaned.append(engine)

    yield clean
    for engine in cleaned:
        _empty(engine)


@pytest.fixture
def postgres_driver(request: pytest.FixtureRequest) -> str:
    """The driver of `postgres_storage`: psycopg2, or each in turn under `on_each_postgres_driver`."""
    return str(getattr(request, "param", "psycopg2"))


@pytest.fixture
def postgres_storage(postgres_admin_engine: sa.Engine, postgres_driver: str,
                     request: pytest.FixtureRequest) -> Iterator[SqlBackend]:
    """The PostgreSQL backend alone, on an empty database, for PostgreSQL-only tests."""
    database: SqlDatabase = request.getfixturevalue("postgres_database" if postgres_driver == "psycopg2"
                                                    else "psycopg_database")
    _empty(postgres_admin_engine)
    yield SqlBackend(database)
    _empty(postgres_admin_engine)


@pytest.fixture
def bigquery_database(bigquery_emulator: BigQueryEmulator) -> Iterator[BigQueryDatabase]:
    """The processing schema in a dataset of its own on the emulator, dropped afterwards."""
    from adapters.bigquery.client import BigQuerySettings, create_bigquery_client
    from adapters.bigquery.database import BigQueryDatabase
    from adapters.bigquery.schema import drop_schema, ensure_schema

    settings = BigQuerySettings(project=bigquery_emulator.project, dataset=f"processing_{uuid.uuid4().hex[:12]}",
                                endpoint=bigquery_emulator.endpoint)
    client = create_bigquery_client(settings)
    ensure_schema(client, settings)
    yield BigQueryDatabase(client, settings)
    drop_schema(client, settings)
    client.close()  # type: ignore[no-untyped-call]


# -- metrics: the repositories on each backend, Prometheus included --------------------------------
METRICS_BACKENDS = (*BACKENDS, "prometheus")


@pytest.fixture(scope="session")
def prometheus_server() -> Iterator[PrometheusServer]:
    with start_prometheus() as server:
        yield server


@pytest.fixture
def memory_metrics() -> MetricsRepositoryFactory:
    from adapters.memory.metrics import MemoryMetricsStore

    return metrics_repositories(MemoryMetricsStore())


@pytest.fixture
def sqlite_metrics(sqlite_database: SqlDatabase) -> MetricsRepositoryFactory:
    from adapters.sql.metrics import SqlMetricsStore

    return metrics_repositories(SqlMetricsStore(sqlite_database))


@pytest.fixture
def postgres_metrics(postgres_database: SqlDatabase) -> MetricsRepositoryFactory:
    """As the application role: row-level security confines the metrics table too."""
    from adapters.sql.metrics import SqlMetricsStore

    return metrics_repositories(SqlMetricsStore(postgres_database))


@pytest.fixture
def psycopg_metrics(psycopg_database: SqlDatabase) -> MetricsRepositoryFactory:
    from adapters.sql.metrics import SqlMetricsStore

    return metrics_repositories(SqlMetricsStore(psycopg_database))


@pytest.fixture
def prometheus_metrics(prometheus_server: PrometheusServer) -> Iterator[MetricsRepositoryFactory]:
    """Prometheus keeps what earlier tests wrote: the contract writes under tenants of its own."""
    from adapters.prometheus.client import PrometheusHttp, PrometheusSettings
    from adapters.prometheus.metrics import PrometheusMetricsStore

    http = PrometheusHttp(PrometheusSettings(url=prometheus_server.url))
    yield metrics_repositories(PrometheusMetricsStore(http))
    http.close()
