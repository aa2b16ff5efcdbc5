"""PostgreSQL's triggers keep events and decisions append-only even for raw SQL, the tables' owner
and a superuser included; inserts and reads go on as usual."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from adapters.rules.reliability import reliability_units
from adapters.rules.tenancy import tenancy_units
from adapters.sql.backend import SqlBackend
from adapters.sql.database import SqlDatabase
from adapters.sql.row_level_security import bind_scope
from application.testing.contracts.reliability import World, new_decision, new_event, seed_world
from domain.shared.scope import TenantScope

pytestmark = pytest.mark.postgres

APPEND_ONLY = ("events", "decisions")


@pytest.fixture
def world(postgres_storage: SqlBackend) -> World:
    postgres_uow = reliability_units(postgres_storage)
    world = seed_world(postgres_uow, tenancy_units(postgres_storage))
    with postgres_uow.for_tenant(world.acme) as uow:
        uow.events.append(new_event(world.acme, world.checkout.id, "k"))
        incident = uow.incidents.create_from_event(new_event(world.acme, world.checkout.id, "k"), title="Timeouts")
        uow.decisions.create(new_decision(world.acme, incident.id))
    return world


def _refused(connection: sa.Connection, statement: str) -> str:
    """Run `statement` in a savepoint; return the error PostgreSQL raised."""
    with pytest.raises(sa.exc.DBAPIError) as raised, connection.begin_nested():
        connection.exec_driver_sql(statement)
    return str(raised.value.orig)


def _statements(table: str) -> list[str]:
    return [f"UPDATE {table} SET updated_at = updated_at", f"DELETE FROM {table}", f"TRUNCATE {table}"]


@pytest.mark.parametrize("table", APPEND_ONLY)
def test_the_owner_cannot_change_or_remove_rows(postgres_admin_engine: sa.Engine, world: World, table: str) -> None:
    with postgres_admin_engine.begin() as connection:
        for statement in _statements(table):
            message = _refused(connection, statement)
            assert f"{statement.split()[0]} on {table} is refused: the table is append-only" in message
        assert connection.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one() == 1


@pytest.mark.parametrize("table", APPEND_ONLY)
def test_the_application_role_cannot_either(postgres_database: SqlDatabase, world: World, table: str) -> None:
    with postgres_database.engine.begin() as connection:
        bind_scope(connection, TenantScope.of(world.acme))
        for statement in _statements(table)[:2]:  # the role has no TRUNCATE privilege to begin with
            assert "append-only" in _refused(connection, statement)
        assert connection.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one() == 1


def test_the_refusal_carries_its_sqlstate(postgres_admin_engine: sa.Engine, world: World) -> None:
    with postgres_admin_engine.begin() as connection:
        with pytest.raises(sa.exc.DBAPIError) as raised, connection.begin_nested():
            connection.exec_driver_sql("DELETE FROM events")
        assert raised.value.orig.pgcode == "0A000"  # type: ignore[union-attr]


def test_other_tables_are_not_append_only(postgres_admin_engine: sa.Engine, world: World) -> None:
    with postgres_admin_engine.begin() as connection:
        assert connection.exec_driver_sql("UPDATE incidents SET title = 'Renamed'").rowcount == 1
        assert connection.exec_driver_sql("DELETE FROM workflows").rowcount == 3
