"""What PostgreSQL itself guarantees for the control-plane tables, shown with raw SQL: audit_logs is
append-only to everyone, except for the cascade of deleting its organization; row-level security
confines every table to the transaction's tenant (applications and users are also visible from
system scope); the composite foreign keys refuse a reference into another tenant."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from adapters.rules.control_plane import control_plane_units
from adapters.rules.tenancy import tenancy_units
from adapters.sql.backend import SqlBackend
from adapters.sql.database import SqlDatabase
from adapters.sql.row_level_security import bind_scope
from application.testing.contracts.control_plane import World, new_entry, new_policy, seed_world
from domain.shared.scope import TenantScope

pytestmark = pytest.mark.postgres

TABLES = ("applications", "users", "policies", "audit_logs", "inference_requests")


@pytest.fixture
def world(postgres_storage: SqlBackend) -> World:
    units = control_plane_units(postgres_storage)
    world = seed_world(units, tenancy_units(postgres_storage))
    for tenant in (world.acme, world.globex):
        with units.for_tenant(tenant) as uow:
            uow.audit_logs.insert(new_entry(tenant))
            uow.policies.create(new_policy(tenant))
    return world


def _refused(connection: sa.Connection, statement: str, parameters: dict[str, object] | None = None) -> str:
    with pytest.raises(sa.exc.DBAPIError) as raised, connection.begin_nested():
        connection.execute(sa.text(statement), parameters or {})
    return str(raised.value.orig)


def _count(connection: sa.Connection, table: str) -> int:
    return int(connection.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one())


def test_audit_entries_cannot_be_changed_or_removed_by_the_owner(postgres_admin_engine: sa.Engine,
                                                                 world: World) -> None:
    with postgres_admin_engine.begin() as connection:
        for statement in ("UPDATE audit_logs SET action = 'forged'", "DELETE FROM audit_logs", "TRUNCATE audit_logs"):
            assert f"{statement.split()[0]} on audit_logs is refused: the table is append-only" in _refused(
                connection, statement)
        assert _count(connection, "audit_logs") == 2


def test_deleting_an_organization_takes_its_audit_trail_with_it(postgres_database: SqlDatabase,
                                                                world: World) -> None:
    with postgres_database.engine.begin() as connection:
        bind_scope(connection, TenantScope.system())
        connection.execute(sa.text("DELETE FROM tenants WHERE id = :id"), {"id": world.acme})
    with postgres_database.engine.begin() as connection:
        bind_scope(connection, TenantScope.of(world.acme))
        assert [_count(connection, table) for table in TABLES] == [0] * len(TABLES)
        bind_scope(connection, TenantScope.of(world.globex))
        assert [_count(connection, table) for table in TABLES] == [1] * len(TABLES[:4]) + [0]


def test_row_level_security_confines_every_table(postgres_database: SqlDatabase, world: World) -> None:
    with postgres_database.engine.begin() as connection:
        bind_scope(connection, TenantScope.of(world.globex))
        assert [_count(connection, table) for table in TABLES] == [1, 1, 1, 1, 0]
        bind_scope(connection, TenantScope.system())
        assert [_count(connection, table) for table in TABLES] == [3, 3, 0, 0, 0]


def test_a_reference_into_another_tenant_is_refused_by_the_foreign_key(postgres_admin_engine: sa.Engine,
                                                                       world: World) -> None:
    with postgres_admin_engine.begin() as connection:
        message = _refused(connection, """
            INSERT INTO policies (id, tenant_id, policy_type, config, priority, application_id, user_id,
                                  enabled, created_at, updated_at, version)
            VALUES (gen_random_uuid(), :acme, 'rate_limit', '{"requests_per_minute": 1}', 0, :app, NULL, true,
                    now(), now(), 1)""", {"acme": world.acme, "app": world.globex_app.id})
        assert "fk_policies_application_id" in message
