"""Real faults on the real PostgreSQL server: what a caller is told when the connection dies."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import pytest
import sqlalchemy as sa

from adapters.rules.tenancy import tenancy_units
from adapters.sql.backend import SqlBackend
from adapters.sql.records import SqlRecordStore
from application.testing.contracts.tenancy import tenant
from domain.shared.errors import (
    CommitOutcomeUnknown,
    ConnectionLost,
    DatabaseConnectionError,
    DatabaseTimeoutError,
    StorageTimeout,
    StorageUnavailable,
)
from ports.tenancy import TenancyUnitOfWork, TenancyUnitOfWorkFactory
from tests.conftest import copying_from, on_driver, on_each_postgres_driver
from tests.servers import PostgresServer

pytestmark = pytest.mark.postgres


def _connection(uow: TenancyUnitOfWork) -> sa.Connection:
    store = uow.tenants.store  # type: ignore[attr-defined]
    assert isinstance(store, SqlRecordStore)
    return store.connection


@pytest.fixture
def postgres_uow(postgres_storage: SqlBackend) -> TenancyUnitOfWorkFactory:
    return tenancy_units(postgres_storage)


@on_each_postgres_driver
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


@on_each_postgres_driver
@pytest.mark.parametrize("path", ["multi-row VALUES", "COPY"])
def test_a_connection_lost_inside_a_bulk_insert_keeps_the_real_cause(
    postgres_storage: SqlBackend, postgres_admin_engine: sa.Engine, path: str
) -> None:
    postgres_uow = tenancy_units(copying_from(postgres_storage, 2 if path == "COPY" else 4))
    with pytest.raises(ConnectionLost) as raised, postgres_uow.system() as uow:
        pid = _connection(uow).execute(sa.text("SELECT pg_backend_pid()")).scalar_one()
        with postgres_admin_engine.connect() as admin:
            admin.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        uow.tenants.bulk_create([tenant(f"Tenant {i}", f"tenant-{i}") for i in range(3)])
    assert isinstance(raised.value, DatabaseConnectionError)  # spec 000's name for it
    chain = []
    error: BaseException | None = raised.value
    while error is not None:
        chain.append(str(error))
        error = error.__cause__ or error.__context__
    # What broke is the server going away, not the rollback that could not be sent afterwards.
    assert "terminat" in str(raised.value) or "closed the connection unexpectedly" in str(raised.value), chain
    with postgres_uow.system() as uow:
        assert uow.tenants.count() == 0


@on_each_postgres_driver
def test_a_statement_past_the_timeout_is_cancelled_as_unavailable(postgres_server: PostgresServer,
                                                                  postgres_driver: str) -> None:
    """`PORTSIDE_DATABASE_STATEMENT_TIMEOUT`: the server cancels it; the caller may retry."""
    from adapters.sql.database import SqlDatabase
    from adapters.sql.engine import PoolSettings
    from adapters.sql.errors import translated

    database = SqlDatabase.from_url(on_driver(postgres_server.app_url, postgres_driver),
                                    PoolSettings(statement_timeout_ms=200))
    try:
        units = tenancy_units(SqlBackend(database))
        started = time.monotonic()
        with pytest.raises(StorageTimeout) as raised, units.system() as uow, translated("probe"):
            _connection(uow).execute(sa.text("SELECT pg_sleep(5)"))  # translated as every adapter call is
        assert time.monotonic() - started < 3
        # Spec 000's name for it, and still the transient kind every retry catches.
        assert isinstance(raised.value, DatabaseTimeoutError) and isinstance(raised.value, StorageUnavailable)
        assert not isinstance(raised.value, DatabaseConnectionError)
        with units.system() as uow:  # the connection goes on serving
            assert uow.tenants.count() >= 0
    finally:
        database.dispose()


@on_each_postgres_driver
def test_a_lock_wait_past_its_limit_is_a_timeout_and_nothing_is_written(
    postgres_uow: TenancyUnitOfWorkFactory,
) -> None:
    """A row another transaction holds, waited for past `lock_timeout`: `StorageTimeout` (spec 000's
    `DatabaseTimeoutError`), not a lost connection; the waiter's own write is rolled back."""
    from adapters.sql.errors import translated

    with postgres_uow.system() as uow:
        uow.tenants.create(tenant("Held", "held"))
    raised: list[BaseException] = []
    holding, done = threading.Event(), threading.Event()

    def waiter() -> None:
        holding.wait(10)
        try:
            with postgres_uow.system() as uow, translated("probe"):
                uow.tenants.create(tenant("Waiter", "waiter"))
                _connection(uow).execute(sa.text("SET LOCAL lock_timeout = '100ms'"))
                _connection(uow).execute(sa.text("SELECT id FROM tenants WHERE slug = 'held' FOR UPDATE"))
        except BaseException as error:  # the thread hands whatever it met to the test
            raised.append(error)
        finally:
            done.set()

    thread = threading.Thread(target=waiter)
    thread.start()
    with postgres_uow.system() as uow:
        _connection(uow).execute(sa.text("SELECT id FROM tenants WHERE slug = 'held' FOR UPDATE"))
        holding.set()
        assert done.wait(10)
    thread.join()
    assert len(raised) == 1 and isinstance(raised[0], StorageTimeout), raised
    assert isinstance(raised[0], DatabaseTimeoutError) and not isinstance(raised[0], ConnectionLost)
    with postgres_uow.system() as uow:
        assert uow.tenants.get_by_slug("waiter") is None


def test_the_timeouts_are_settings() -> None:
    from application.container import pool_settings
    from application.settings import Settings

    pool = pool_settings(Settings(database_connect_timeout=3, database_statement_timeout=1.5))
    assert (pool.connect_timeout_seconds, pool.statement_timeout_ms) == (3, 1500)
    with pytest.raises(ValueError, match="database_statement_timeout"):
        Settings(database_statement_timeout=-1)


def _server_processes(backend_pid: int) -> list[int]:
    """The postmaster that runs this backend, and every process it started."""
    def parent(pid: int) -> int:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("PPid:"):
                return int(line.split()[1])
        raise AssertionError(f"no parent for {pid}")

    postmaster = parent(backend_pid)
    children = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if parent(int(entry.name)) == postmaster:
                    children.append(int(entry.name))
            except (OSError, AssertionError):
                continue  # gone in the meantime
    return [postmaster, *children]


@contextmanager
def _frozen(processes: list[int], at_most: float = 30.0) -> Iterator[None]:
    """Stop the processes; resume them on leaving, or after `at_most` seconds whatever happens, so
    that a call that hangs makes the test fail instead of the suite hang."""

    def resume() -> None:
        for pid in processes:
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)

    for pid in processes:
        os.kill(pid, signal.SIGSTOP)
    safety = threading.Timer(at_most, resume)
    safety.start()
    try:
        yield
    finally:
        safety.cancel()
        resume()


@on_each_postgres_driver
def test_a_frozen_server_ends_every_call_in_unavailable_within_the_bound(
    postgres_server: PostgresServer, postgres_storage: SqlBackend, postgres_driver: str
) -> None:
    """SIGSTOP on every server process: the kernel still acknowledges, the server enforces nothing.
    The client's deadline (statement timeout and a half) and the connect timeout bound each call."""
    from adapters.sql.database import SqlDatabase
    from adapters.sql.deadline import WATCH_INTERVAL_SECONDS, answer_deadline_seconds
    from adapters.sql.engine import PoolSettings

    pool = PoolSettings(statement_timeout_ms=500, connect_timeout_seconds=1)
    database = SqlDatabase.from_url(on_driver(postgres_server.app_url, postgres_driver), pool)
    bound = answer_deadline_seconds(500) + WATCH_INTERVAL_SECONDS + pool.connect_timeout_seconds
    try:
        units = tenancy_units(SqlBackend(database))
        with units.system() as uow:  # a warm pooled connection, as a running service has
            created = uow.tenants.create(tenant("Acme", "acme"))
            backend_pid = _connection(uow).execute(sa.text("SELECT pg_backend_pid()")).scalar_one()
        with _frozen(_server_processes(backend_pid)):
            for _attempt in range(2):  # the warm connection, then one that has to be opened
                started = time.monotonic()
                with pytest.raises(StorageUnavailable), units.system() as uow:
                    uow.tenants.get_by_id(created.id)
                waited = time.monotonic() - started
                assert waited < bound * 2, f"waited {waited:.1f} s on a frozen server (bound {bound:.1f} s)"
        with units.system() as uow:  # the server is back: so is the caller, with nothing lost
            assert uow.tenants.get_by_id_or_raise(created.id).slug == "acme"
            uow.tenants.delete(created.id)
    finally:
        database.dispose()


@on_each_postgres_driver
def test_a_round_trip_that_answers_in_time_is_left_alone(postgres_server: PostgresServer,
                                                         postgres_driver: str) -> None:
    """The watch does not cut a statement the server finishes within its deadline."""
    from adapters.sql.database import SqlDatabase
    from adapters.sql.engine import PoolSettings
    from adapters.sql.errors import translated

    database = SqlDatabase.from_url(on_driver(postgres_server.app_url, postgres_driver),
                                    PoolSettings(statement_timeout_ms=2_000))
    try:
        units = tenancy_units(SqlBackend(database))
        with units.system() as uow, translated("probe"):
            assert _connection(uow).execute(sa.text("SELECT pg_sleep(1.2), 7")).one()[1] == 7
    finally:
        database.dispose()
