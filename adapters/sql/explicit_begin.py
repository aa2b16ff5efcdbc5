"""One round trip fewer per unit of work on PostgreSQL's blocking drivers: BEGIN and the scope
binding sent as one query.

psycopg2 and psycopg 3 begin a transaction with a BEGIN of their own, a round trip, before the
first statement; binding the tenant for row-level security (`row_level_security.bind_scope`) is the
next. On a 2-core machine a loopback round trip costs tens of microseconds of CPU on each side, a
quarter of a read by id. So, where no one could tell the difference (`direct`), the unit of work
puts its driver connection in autocommit, where the driver sends no BEGIN of its own, and sends

    BEGIN; SELECT set_config('app.tenant_id', '<tenant>', true), set_config('app.system_scope', 'on|off', true)

as one simple query: from it on the server is in a transaction block, and every statement of the
unit of work, savepoints included, runs inside it. COMMIT and ROLLBACK are sent here as well (a
driver in autocommit does nothing on `commit()`), and before the connection goes back to the pool
any transaction still open is rolled back and autocommit turned off again (`release`): the next
checkout finds the connection as the pool gave it, never inside another unit of work's
transaction.

The two settings go as literals (a statement with parameters cannot hold two commands on psycopg
3's or asyncpg's protocol): the tenant id is a UUID's text and the flag `on` or `off`, so no
caller's text is ever part of the statement.

On psycopg2 the BEGIN does not even go alone: the unit of work leaves it with the connection
(`pending_begin` of the deadline connection, adapters/sql/deferred_begin.py), whose cursor sends it in
front of the unit of work's first statement, in the same query string (psycopg2 sends a statement
with its parameters filled in as one simple query, and the server answers with the last result).
A read by id is then two round trips, not three: BEGIN, binding and SELECT, then COMMIT. A unit of
work that sent nothing sends no COMMIT or ROLLBACK either: there is nothing to end. Statements that
cannot carry it (COPY, `executemany`, `callproc`) send it first on its own.

On asyncpg (the async face) the same: SQLAlchemy's adapter in autocommit sends no BEGIN of its
own, and the statements go as simple queries on the asyncpg connection, awaited from the greenlet
the async face runs the unit of work in; its errors are adapted as the adapter adapts them.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa

from adapters.sql.deadline import PQTRANS_IDLE
from adapters.sql.deferred_begin import BEGIN_FIRST
from adapters.sql.driver import direct, driver_error, on_blocking_driver
from adapters.sql.row_level_security import SYSTEM_SETTING, TENANT_SETTING
from domain.shared.scope import TenantScope


def can_begin_explicitly(connection: sa.Connection, scope: TenantScope) -> bool:
    """psycopg2, psycopg 3's blocking connection or asyncpg, nothing that would see the statements
    (`direct`), a tenant that is a UUID (or none)."""
    return ((on_blocking_driver(connection) or connection.dialect.driver == "asyncpg") and direct(connection)
            and (scope.tenant is None or isinstance(scope.tenant, uuid.UUID)))


def begin_bound(connection: sa.Connection, scope: TenantScope) -> None:
    """Begin the transaction and bind `scope` in one round trip (see the module's text). The caller
    checked `can_begin_explicitly`."""
    tenant = "" if scope.tenant is None else str(scope.tenant)
    system = "on" if scope.is_system else "off"
    statement = (f"{BEGIN_FIRST}SELECT set_config('{TENANT_SETTING}', '{tenant}', true), "
                 f"set_config('{SYSTEM_SETTING}', '{system}', true)")
    dbapi = _dbapi(connection)
    dbapi.autocommit = True
    if _defers(dbapi):
        dbapi.pending_begin = statement
        return
    _send(connection, statement)


@contextmanager
def committing_alone(connection: sa.Connection) -> Iterator[None]:
    """While entered, a statement complete in itself (`DeadlineCursor.execute_whole`) sent while
    the BEGIN is still pending goes with the binding and no BEGIN: the server runs the two as one
    transaction and commits it before it answers. The BEGIN stays pending for whatever the unit
    of work sends next, and a COMMIT finds nothing to end. psycopg2 deadline connections only."""
    dbapi = _dbapi(connection)
    if not _defers(dbapi):
        yield
        return
    dbapi.commits_alone = True
    try:
        yield
    finally:
        dbapi.commits_alone = False


def _defers(dbapi: Any) -> bool:
    """A psycopg2 deadline connection: its cursor sends a deferred BEGIN with the first statement."""
    return hasattr(dbapi, "pending_begin")


def finish(connection: sa.Connection, command: str) -> None:
    """Send COMMIT (a driver error is raised as `Connection.execute` raises it) or ROLLBACK. A
    ROLLBACK that cannot be sent leaves the connection invalidated instead of raising: the server
    rolls the transaction back when the connection goes, and the error that led here stays the one
    the caller sees."""
    if connection.invalidated:  # SQLAlchemy's own commit then refuses, as it would have
        return
    dbapi = _dbapi(connection)
    if _defers(dbapi) and dbapi.pending_begin is not None:  # nothing was sent: nothing to end
        dbapi.pending_begin = None
        return
    if command == "COMMIT":
        _send(connection, command)
        return
    try:
        _send(connection, command)
    except sa.exc.DBAPIError as error:
        if not connection.invalidated:
            connection.invalidate(error)


def release(connection: sa.Connection) -> None:
    """Before the connection goes back to the pool: no transaction left open, autocommit off. A
    connection `begin_bound` never put in autocommit is left to the driver and the pool."""
    if connection.invalidated or connection.closed:
        return
    dbapi = _dbapi(connection)
    if not dbapi.autocommit:
        return
    if _defers(dbapi):
        dbapi.pending_begin = None
        dbapi.commits_alone = False
    try:
        if _in_transaction(connection):
            _send(connection, "ROLLBACK")
        dbapi.autocommit = False
    except (sa.exc.DBAPIError, connection.dialect.loaded_dbapi.Error) as error:
        if not connection.invalidated:
            connection.invalidate(error)


def _dbapi(connection: sa.Connection) -> Any:
    """The DBAPI connection: the driver's own, or SQLAlchemy's adapter of asyncpg's."""
    return connection.connection.dbapi_connection


def _in_transaction(connection: sa.Connection) -> bool:
    driver: Any = connection.connection.driver_connection
    if connection.dialect.driver == "asyncpg":
        return bool(driver.is_in_transaction())
    return bool(driver.info.transaction_status != PQTRANS_IDLE)


def _send(connection: sa.Connection, statement: str) -> None:
    """`statement` as one simple query; a driver error raised as `Connection.execute` raises it."""
    if connection.dialect.driver == "asyncpg":
        _send_awaited(connection, statement)
        return
    driver: Any = connection.connection.driver_connection
    cursor = None
    try:
        cursor = driver.cursor()
        cursor.execute(statement)
        cursor.close()
    except connection.dialect.loaded_dbapi.Error as error:
        raise driver_error(connection, error, statement, cursor) from error


def _send_awaited(connection: sa.Connection, statement: str) -> None:
    from sqlalchemy.util import await_

    driver: Any = connection.connection.driver_connection
    try:
        try:
            await_(driver.execute(statement))
        except Exception as error:  # asyncpg's own error, adapted to the DBAPI's as the adapter does
            _dbapi(connection)._handle_exception(error)
    except connection.dialect.loaded_dbapi.Error as adapted:
        raise driver_error(connection, adapted, statement) from adapted
