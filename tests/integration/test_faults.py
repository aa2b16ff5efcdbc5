"""Real faults on the real PostgreSQL server: what a caller is told when the connection dies."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from adapters.rules.tenancy import tenancy_units
from adapters.sql.backend import SqlBackend
from adapters.sql.records import SqlRecordStore
from application.testing.contracts.tenancy import tenant
from domain.shared.errors import CommitOutcomeUnknown, StorageUnavailable
from ports.tenancy import TenancyUnitOfWork, TenancyUnitOfWorkFactory
from tests.conftest import copying_from
from tests.servers import PostgresServer

pytestmark = pytest.mark.postgres


def _connection(uow: TenancyUnitOfWork) -> sa.Connection:
    store = uow.tenants.store  # type: ignore[attr-defined]
    assert isinstance(store, SqlRecordStore)
    return store.connection


@pytest.fixture
def postgres_uow(postgres_storage: SqlBackend) -> TenancyUnitOfWorkFactory:
    return tenancy_units(postgres_storage)


def test_a_connection_lost_during_commit_says_the_outcome_is_unknown(
    postgres_uow: TenancyUnitOfWorkFactory, postgres_admin_engine: sa.Engine
) -> None:
    with pytest.raises(CommitOutcomeUnknown) as raised, postgres_uow.system() as uow:
        uow.tenants.create(tenant("Acme", "acme"))
        pid = _connection(uow).execute(sa.text("SELECT pg_backend_pid()")).scalar_one()
        with postgres_admin_engine.connect() as admin:
            admin.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    assert isinstance(raised.value, StorageUnavailable)  # still transient: retrying idempotent work is safe
    with postgres_uow.system() as uow:  # the pool recovers
        assert uow.tenants.get_by_slug("acme") is None  # here the server died first: nothing landed


@pytest.mark.parametrize("path", ["execute_values", "COPY"])
def test_a_connection_lost_inside_a_bulk_insert_keeps_the_real_cause(
    postgres_storage: SqlBackend, postgres_admin_engine: sa.Engine, path: str
) -> None:
    postgres_uow = tenancy_units(copying_from(postgres_storage, 2 if path == "COPY" else 4))
    with pytest.raises(StorageUnavailable) as raised, postgres_uow.system() as uow:
        pid = _connection(uow).execute(sa.text("SELECT pg_backend_pid()")).scalar_one()
        with postgres_admin_engine.connect() as admin:
            admin.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        uow.tenants.bulk_create([tenant(f"Tenant {i}", f"tenant-{i}") for i in range(3)])
    chain = []
    error: BaseException | None = raised.value
    while error is not None:
        chain.append(str(error))
        error = error.__cause__ or error.__context__
    # What broke is the server going away, not the rollback that could not be sent afterwards.
    assert "terminat" in str(raised.value) or "closed the connection unexpectedly" in str(raised.value), chain
    with postgres_uow.system() as uow:
        assert uow.tenants.count() == 0


def test_a_statement_past_the_timeout_is_cancelled_as_unavailable(postgres_server: PostgresServer) -> None:
    """`PORTSIDE_DATABASE_STATEMENT_TIMEOUT`: the server cancels it; the caller may retry."""
    import time

    from adapters.sql.database import SqlDatabase
    from adapters.sql.engine import PoolSettings
    from adapters.sql.errors import translated

    database = SqlDatabase.from_url(postgres_server.app_url, PoolSettings(statement_timeout_ms=200))
    try:
        units = tenancy_units(SqlBackend(database))
        started = time.monotonic()
        with pytest.raises(StorageUnavailable), units.system() as uow, translated("probe"):
            _connection(uow).execute(sa.text("SELECT pg_sleep(5)"))  # translated as every adapter call is
        assert time.monotonic() - started < 3
        with units.system() as uow:  # the connection goes on serving
            assert uow.tenants.count() >= 0
    finally:
        database.dispose()


def test_the_timeouts_are_settings() -> None:
    from application.container import _pool
    from application.settings import Settings

    pool = _pool(Settings(database_connect_timeout=3, database_statement_timeout=1.5))
    assert (pool.connect_timeout_seconds, pool.statement_timeout_ms) == (3, 1500)
    with pytest.raises(ValueError, match="database_statement_timeout"):
        Settings(database_statement_timeout=-1)
