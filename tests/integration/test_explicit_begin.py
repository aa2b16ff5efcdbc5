"""A unit of work on psycopg2 or psycopg 3 begins with BEGIN and the scope binding in one round trip
(`adapters/sql/explicit_begin.py`): its driver connection is in autocommit while it runs. Whatever
way the unit of work ends, the connection goes back to the pool as the pool gave it: no transaction
open, autocommit off, no tenant bound; and what the unit of work wrote is committed or rolled back
as a whole."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from adapters.rules.tenancy import tenancy_units
from adapters.sql.backend import SqlBackend
from adapters.sql.database import SqlDatabase
from adapters.sql.engine import PoolSettings
from adapters.sql.records import SqlRecordStore
from application.testing.contracts.tenancy import tenant
from domain.shared.errors import Conflict
from ports.tenancy import TenancyUnitOfWork, TenancyUnitOfWorkFactory
from tests.conftest import on_driver, on_each_postgres_driver
from tests.integration.round_trips import counting_round_trips
from tests.servers import PostgresServer

pytestmark = pytest.mark.postgres


@pytest.fixture
def one_connection(postgres_server: PostgresServer, postgres_driver: str,
                   postgres_storage: SqlBackend) -> Iterator[SqlDatabase]:
    """A database of the application role whose pool holds one connection: every unit of work and
    every look at the pool's state gets the same one. (`postgres_storage` brings the schema.)"""
    database = SqlDatabase.from_url(on_driver(postgres_server.app_url, postgres_driver),
                                    PoolSettings(size=1, max_overflow=0))
    try:
        yield database
    finally:
        database.dispose()


def _connection(uow: TenancyUnitOfWork) -> sa.Connection:
    store = uow.tenants.store  # type: ignore[attr-defined]
    assert isinstance(store, SqlRecordStore)
    return store.connection


def _pooled_state(database: SqlDatabase) -> tuple[bool, int, str | None, str | None]:
    """The pooled connection as the next checkout finds it, before anything is sent on it: driver
    autocommit, libpq's transaction status; then the settings a plain statement sees."""
    raw = database.engine.raw_connection()
    try:
        driver: Any = raw.driver_connection
        autocommit, status = bool(driver.autocommit), int(driver.info.transaction_status)
        cursor = raw.cursor()
        cursor.execute("SELECT current_setting('app.tenant_id', true), current_setting('app.system_scope', true)")
        tenant_setting, system_setting = cursor.fetchone() or (None, None)
        cursor.close()
        raw.rollback()
        return autocommit, status, tenant_setting or None, system_setting or None
    finally:
        raw.close()


CLEAN = (False, 0, None, None)


def _raise(error: Exception) -> None:
    raise error


@on_each_postgres_driver
@pytest.mark.parametrize("ending", ["commit", "exception", "failed statement", "explicit commit and more",
                                    "conflict caught"])
def test_the_connection_goes_back_clean_and_the_writes_follow_the_ending(one_connection: SqlDatabase,
                                                                         ending: str) -> None:
    units: TenancyUnitOfWorkFactory = tenancy_units(SqlBackend(one_connection))
    slug = f"t-{uuid.uuid4().hex[:8]}"
    actions: dict[str, Callable[[TenancyUnitOfWork], object]] = {
        "commit": lambda uow: None,
        "exception": lambda uow: _raise(RuntimeError("the caller's own failure")),
        "failed statement": lambda uow: _connection(uow).execute(sa.text("SELECT 1 / 0")),
        "explicit commit and more": lambda uow: (uow.commit(), uow.tenants.create(tenant("Second", slug + "-2"))),
        "conflict caught": lambda uow: _conflict_caught(uow, slug),
    }
    raised: Exception | None = None
    try:
        with units.system() as uow:
            uow.tenants.create(tenant("First", slug))
            actions[ending](uow)
    except Exception as error:
        raised = error
    assert (raised is not None) == (ending in ("exception", "failed statement")), raised
    assert _pooled_state(one_connection) == CLEAN
    with units.system() as uow:
        stored = {wanted for wanted in (slug, slug + "-2") if uow.tenants.get_by_slug(wanted) is not None}
    expected = {"commit": {slug}, "exception": set(), "failed statement": set(),
                "explicit commit and more": {slug, slug + "-2"}, "conflict caught": {slug}}[ending]
    assert stored == expected
    assert _pooled_state(one_connection) == CLEAN


def _conflict_caught(uow: TenancyUnitOfWork, slug: str) -> None:
    """A refused write inside the unit of work, caught: its savepoint keeps the rest."""
    with pytest.raises(Conflict):
        uow.tenants.create(tenant("Clash", slug))


@on_each_postgres_driver
def test_the_tenant_bound_in_one_unit_of_work_is_gone_in_the_next(one_connection: SqlDatabase) -> None:
    units = tenancy_units(SqlBackend(one_connection))
    acme = uuid.uuid4()
    with units.for_tenant(acme) as uow:
        seen = _connection(uow).execute(sa.text("SELECT current_setting('app.tenant_id', true)")).scalar_one()
        assert seen == str(acme)
        # One transaction block: two statements share one transaction id (each would have its own
        # if the driver's autocommit reached the server).
        first, second = (_connection(uow).execute(sa.text("SELECT txid_current()")).scalar_one() for _ in range(2))
        assert first == second
    with units.system() as uow:
        assert _connection(uow).execute(sa.text("SELECT current_setting('app.tenant_id', true)")).scalar_one() == ""
    assert _pooled_state(one_connection) == CLEAN


@on_each_postgres_driver
def test_a_connection_released_inside_its_transaction_is_rolled_back(one_connection: SqlDatabase) -> None:
    """`release` on a transaction nobody ended (a unit of work whose block failed before its first
    frame): the write is gone and the connection clean."""
    from adapters.sql import explicit_begin
    from domain.shared.scope import TenantScope

    slug = f"t-{uuid.uuid4().hex[:8]}"
    with one_connection.engine.connect() as connection:
        connection.begin()
        assert explicit_begin.can_begin_explicitly(connection, TenantScope.system())
        explicit_begin.begin_bound(connection, TenantScope.system())
        connection.execute(sa.text("INSERT INTO tenants (id, name, slug, is_active, settings, created_at, updated_at, "
                                   "version) VALUES (:id, 'Left', :slug, true, '{}', now(), now(), 1)"),
                           {"id": uuid.uuid4(), "slug": slug})
        explicit_begin.release(connection)
    assert _pooled_state(one_connection) == CLEAN
    with tenancy_units(SqlBackend(one_connection)).system() as uow:
        assert uow.tenants.get_by_slug(slug) is None


# -- psycopg2: the BEGIN deferred to the first statement ----------------------------------------


@pytest.fixture
def psycopg2_connection(postgres_server: PostgresServer, postgres_storage: SqlBackend) -> Iterator[SqlDatabase]:
    database = SqlDatabase.from_url(on_driver(postgres_server.app_url, "psycopg2"),
                                    PoolSettings(size=1, max_overflow=0))
    try:
        yield database
    finally:
        database.dispose()


def _insert_tenant(connection: sa.Connection, slug: str) -> None:
    connection.execute(sa.text("INSERT INTO tenants (id, name, slug, is_active, settings, created_at, updated_at, "
                               "version) VALUES (:id, 'Deferred', :slug, true, '{}', now(), now(), 1)"),
                       {"id": uuid.uuid4(), "slug": slug})


def test_a_read_is_two_round_trips_and_an_idle_unit_of_work_none(psycopg2_connection: SqlDatabase) -> None:
    units = tenancy_units(SqlBackend(psycopg2_connection))
    round_trips = counting_round_trips(psycopg2_connection)
    with units.system() as uow:
        assert uow.tenants.get_by_slug(f"missing-{uuid.uuid4().hex[:8]}") is None
    assert round_trips() == 2  # BEGIN, binding and SELECT; COMMIT
    with units.system():
        pass
    assert round_trips() == 2  # nothing sent, nothing to end
    assert _pooled_state(psycopg2_connection) == CLEAN


def test_a_first_statement_that_never_reached_the_server_keeps_the_begin(psycopg2_connection: SqlDatabase) -> None:
    """psycopg2 refuses parameters that do not fit before sending anything: the BEGIN is still
    to come, so the next statement runs inside the unit of work's transaction and rolls back with it."""
    units = tenancy_units(SqlBackend(psycopg2_connection))
    slug = f"t-{uuid.uuid4().hex[:8]}"
    with pytest.raises(RuntimeError), units.system() as uow:
        connection = _connection(uow)
        with pytest.raises(Exception) as refused:
            connection.exec_driver_sql("SELECT %s, %s", (1,))
        assert not isinstance(refused.value, sa.exc.OperationalError)
        first, second = (connection.execute(sa.text("SELECT txid_current()")).scalar_one() for _ in range(2))
        assert first == second
        _insert_tenant(connection, slug)
        raise RuntimeError("the caller's own failure")
    assert _pooled_state(psycopg2_connection) == CLEAN
    with units.system() as uow:
        assert uow.tenants.get_by_slug(slug) is None


def test_a_syntax_error_first_leaves_nothing_begun(psycopg2_connection: SqlDatabase) -> None:
    units = tenancy_units(SqlBackend(psycopg2_connection))
    with pytest.raises(sa.exc.ProgrammingError), units.system() as uow:
        _connection(uow).execute(sa.text("SELEKT 1"))
    assert _pooled_state(psycopg2_connection) == CLEAN


@pytest.mark.parametrize("first", ["copy", "executemany"])
def test_statements_that_cannot_carry_the_begin_send_it_first(psycopg2_connection: SqlDatabase, first: str) -> None:
    """COPY and `executemany` get the BEGIN on its own, before them: they run in the unit of work's
    transaction, and what it wrote rolls back with it."""
    units = tenancy_units(SqlBackend(psycopg2_connection))
    slugs = [f"t-{uuid.uuid4().hex[:8]}" for _ in range(2)]
    rows = [(str(uuid.uuid4()), slug) for slug in slugs]
    with pytest.raises(RuntimeError), units.system() as uow:
        connection = _connection(uow)
        driver: Any = connection.connection.driver_connection
        if first == "copy":  # out: COPY FROM is refused under row-level security (bulk loads use a staging table)
            import io

            copied = io.StringIO()
            with driver.cursor() as cursor:
                cursor.copy_expert("COPY (SELECT txid_current()) TO STDOUT", copied)
            assert connection.execute(sa.text("SELECT txid_current()")).scalar_one() == int(copied.getvalue())
            for slug in slugs:
                _insert_tenant(connection, slug)
        else:
            with driver.cursor() as cursor:
                cursor.executemany("INSERT INTO tenants (id, name, slug, is_active, settings, created_at, updated_at, "
                                   "version) VALUES (%s, 'Many', %s, true, '{}', now(), now(), 1)", rows)
        assert connection.execute(sa.text("SELECT count(*) FROM tenants WHERE slug = ANY(:slugs)"),
                                  {"slugs": slugs}).scalar_one() == 2
        raise RuntimeError("the caller's own failure")
    assert _pooled_state(psycopg2_connection) == CLEAN
    with units.system() as uow:
        assert all(uow.tenants.get_by_slug(slug) is None for slug in slugs)


def test_a_begin_left_pending_does_not_outlive_the_checkout(psycopg2_connection: SqlDatabase) -> None:
    """A connection handed back with its BEGIN still pending (no unit of work ended it): the pool's
    reset drops it, and the next borrower's statements carry no one else's scope."""
    from adapters.sql import explicit_begin
    from domain.shared.scope import TenantScope

    with psycopg2_connection.engine.connect() as connection:
        connection.begin()
        explicit_begin.begin_bound(connection, TenantScope.system())
        driver: Any = connection.connection.driver_connection
        assert driver.pending_begin is not None
        driver.autocommit = False  # as `release` would leave it, without its clearing
    assert _pooled_state(psycopg2_connection) == CLEAN
