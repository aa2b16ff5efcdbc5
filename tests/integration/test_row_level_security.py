"""PostgreSQL's row-level security: the second wall, checked with raw SQL that forgets the
tenant filter on purpose."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from adapters.rules.reliability import reliability_units
from adapters.rules.tenancy import tenancy_units
from adapters.sql.backend import SqlBackend
from adapters.sql.records import SqlRecordStore
from application.testing.contracts.reliability import new_event, new_workflow
from application.testing.contracts.tenancy import seed, tenant
from ports.tenancy import TENANT_SCHEMA, TenancyUnitOfWork, TenancyUnitOfWorkFactory
from tests.conftest import on_driver, on_each_postgres_driver
from tests.servers import PostgresServer

COUNT_ALL = sa.text("SELECT count(*) FROM tenants")  # no WHERE: only the policy filters


def _connection(uow: TenancyUnitOfWork) -> sa.Connection:
    store = uow.tenants.store  # type: ignore[attr-defined]
    assert isinstance(store, SqlRecordStore) and store.schema is TENANT_SCHEMA
    return store.connection


@pytest.fixture
def postgres_uow(postgres_storage: SqlBackend) -> TenancyUnitOfWorkFactory:
    return tenancy_units(postgres_storage)


@on_each_postgres_driver
def test_a_query_without_tenant_filter_still_sees_one_tenant(postgres_uow: TenancyUnitOfWorkFactory) -> None:
    acme, _globex = seed(postgres_uow, tenant("Acme", "acme"), tenant("Globex", "globex"))
    with postgres_uow.for_tenant(acme.id) as uow:
        assert _connection(uow).execute(COUNT_ALL).scalar_one() == 1
    with postgres_uow.system() as uow:
        assert _connection(uow).execute(COUNT_ALL).scalar_one() == 2


@on_each_postgres_driver
def test_without_a_scope_the_application_role_sees_nothing(
    postgres_uow: TenancyUnitOfWorkFactory, postgres_storage: SqlBackend
) -> None:
    seed(postgres_uow, tenant("Acme", "acme"))
    with postgres_storage.database.engine.connect() as connection:
        assert connection.execute(COUNT_ALL).scalar_one() == 0  # fail closed


@on_each_postgres_driver
def test_the_scope_does_not_leak_through_the_pool(
    postgres_uow: TenancyUnitOfWorkFactory, postgres_storage: SqlBackend
) -> None:
    [acme] = seed(postgres_uow, tenant("Acme", "acme"))
    with postgres_uow.for_tenant(acme.id):
        pass
    # The setting was transaction-local: a connection checked out next carries no tenant.
    with postgres_storage.database.engine.connect() as connection:
        setting = connection.execute(sa.text("SELECT current_setting('app.tenant_id', true)")).scalar_one()
    assert setting in (None, "")


@on_each_postgres_driver
def test_the_application_role_owns_nothing_and_cannot_bypass(postgres_server: PostgresServer, postgres_driver: str,
                                                              postgres_uow: TenancyUnitOfWorkFactory) -> None:
    engine = sa.create_engine(on_driver(postgres_server.app_url, postgres_driver))
    with engine.connect() as connection:
        owner = connection.execute(
            sa.text("SELECT tableowner FROM pg_tables WHERE tablename = 'tenants'")).scalar_one()
        bypass = connection.execute(
            sa.text("SELECT rolbypassrls OR rolsuper FROM pg_roles WHERE rolname = current_user")).scalar_one()
        forced = connection.execute(
            sa.text("SELECT relforcerowsecurity FROM pg_class WHERE relname = 'tenants'")).scalar_one()
    engine.dispose()
    assert owner != "portside_app" and bypass is False and forced is True


@on_each_postgres_driver
def test_a_system_unit_of_work_is_needed_to_write_another_tenant(postgres_uow: TenancyUnitOfWorkFactory) -> None:
    acme, globex = seed(postgres_uow, tenant("Acme", "acme"), tenant("Globex", "globex"))
    with postgres_uow.for_tenant(acme.id) as uow:
        changed = _connection(uow).execute(
            sa.text("UPDATE tenants SET name = 'Hijacked' WHERE id = :id"), {"id": globex.id}
        ).rowcount
    assert changed == 0


TENANT_TABLES = ("workflows", "events", "incidents", "decisions", "actions", "kill_switches")


def test_every_tenant_table_is_confined_by_row_level_security(postgres_admin_engine: sa.Engine) -> None:
    with postgres_admin_engine.connect() as connection:
        rows = connection.execute(sa.text(
            "SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity, count(p.polname) "
            "FROM pg_class c LEFT JOIN pg_policy p ON p.polrelid = c.oid "
            "WHERE c.relname = ANY(:names) GROUP BY 1, 2, 3"), {"names": list(TENANT_TABLES)}).all()
    assert {name: (enabled, forced, policies) for name, enabled, forced, policies in rows} == {
        name: (True, True, 1) for name in TENANT_TABLES
    }


@on_each_postgres_driver
def test_raw_sql_of_one_tenant_sees_none_of_anothers_events(postgres_uow: TenancyUnitOfWorkFactory,
                                                          postgres_storage: SqlBackend) -> None:
    acme, globex = seed(postgres_uow, tenant("Acme", "acme"), tenant("Globex", "globex"))
    reliability = reliability_units(postgres_storage)
    for owner in (acme, globex):
        with reliability.for_tenant(owner.id) as work:
            flow = work.workflows.create(new_workflow(owner.id))
            work.events.append(new_event(owner.id, flow.id, "same-key"))
    with postgres_uow.for_tenant(acme.id) as uow:
        seen = _connection(uow).execute(sa.text("SELECT DISTINCT tenant_id FROM events")).scalars().all()
    assert seen == [acme.id]

