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


def test_a_connection_lost_inside_a_bulk_insert_keeps_the_real_cause(
    postgres_uow: TenancyUnitOfWorkFactory, postgres_admin_engine: sa.Engine
) -> None:
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
