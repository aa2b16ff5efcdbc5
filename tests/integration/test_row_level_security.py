"""PostgreSQL's row-level security: the second wall, checked with raw SQL that forgets the
tenant filter on purpose."""

from __future__ import annotations

import sqlalchemy as sa

from adapters.sql.database import SqlDatabase
from adapters.sql.unit_of_work import SqlUnitOfWork, SqlUnitOfWorkFactory
from application.testing.contracts.tenancy import seed, tenant
from domain.shared.scope import TenantScope
from ports.unit_of_work import UnitOfWorkFactory
from tests.servers import PostgresServer

COUNT_ALL = sa.text("SELECT count(*) FROM tenants")  # no WHERE: only the policy filters


def _connection(uow: object) -> sa.Connection:
    assert isinstance(uow, SqlUnitOfWork)
    return uow.tenants._connection  # type: ignore[attr-defined,no-any-return]


def test_a_query_without_tenant_filter_still_sees_one_tenant(postgres_uow: UnitOfWorkFactory) -> None:
    acme, _globex = seed(postgres_uow, tenant("Acme", "acme"), tenant("Globex", "globex"))
    with postgres_uow.for_tenant(acme.id) as uow:
        assert _connection(uow).execute(COUNT_ALL).scalar_one() == 1
    with postgres_uow.system() as uow:
        assert _connection(uow).execute(COUNT_ALL).scalar_one() == 2


def test_without_a_scope_the_application_role_sees_nothing(
    postgres_uow: UnitOfWorkFactory, postgres_database: SqlDatabase
) -> None:
    seed(postgres_uow, tenant("Acme", "acme"))
    with postgres_database.engine.connect() as connection:
        assert connection.execute(COUNT_ALL).scalar_one() == 0  # fail closed


def test_the_scope_does_not_leak_through_the_pool(
    postgres_uow: UnitOfWorkFactory, postgres_database: SqlDatabase
) -> None:
    [acme] = seed(postgres_uow, tenant("Acme", "acme"))
    with postgres_uow.for_tenant(acme.id):
        pass
    # The setting was transaction-local: a connection checked out next carries no tenant.
    with postgres_database.engine.connect() as connection:
        setting = connection.execute(sa.text("SELECT current_setting('app.tenant_id', true)")).scalar_one()
    assert setting in (None, "")


def test_the_application_role_owns_nothing_and_cannot_bypass(postgres_server: PostgresServer,
                                                              postgres_uow: UnitOfWorkFactory) -> None:
    engine = sa.create_engine(postgres_server.app_url)
    with engine.connect() as connection:
        owner = connection.execute(
            sa.text("SELECT tableowner FROM pg_tables WHERE tablename = 'tenants'")).scalar_one()
        bypass = connection.execute(
            sa.text("SELECT rolbypassrls OR rolsuper FROM pg_roles WHERE rolname = current_user")).scalar_one()
        forced = connection.execute(
            sa.text("SELECT relforcerowsecurity FROM pg_class WHERE relname = 'tenants'")).scalar_one()
    engine.dispose()
    assert owner != "portside_app" and bypass is False and forced is True


def test_a_system_unit_of_work_is_needed_to_write_another_tenant(postgres_uow: UnitOfWorkFactory) -> None:
    acme, globex = seed(postgres_uow, tenant("Acme", "acme"), tenant("Globex", "globex"))
    factory = postgres_uow
    assert isinstance(factory, SqlUnitOfWorkFactory)
    with SqlUnitOfWork(factory.database, TenantScope.of(acme.id)) as uow:
        changed = _connection(uow).execute(
            sa.text("UPDATE tenants SET name = 'Hijacked' WHERE id = :id"), {"id": globex.id}
        ).rowcount
    assert changed == 0
