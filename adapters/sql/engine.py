"""Engine factory: pool settings of spec 002, SQLite tuned for an embedded database.

PostgreSQL: a pooled connection is pinged at checkout only when it has sat idle in the pool for
`ping_idle_seconds` or more (SQLAlchemy's `pool_pre_ping` pings at every checkout: one more round
trip per unit of work). One checked in a moment ago was working a moment ago; if the server went
away in between, the first statement fails as it would if the server went away just after a ping:
`StorageUnavailable`, the pool drops the connection, and the next unit of work gets a new one.

SQLite: WAL so that readers never wait for the writer; `BEGIN IMMEDIATE` so that a transaction
takes the write lock when it starts, not halfway through (the halfway upgrade is the SQLITE_BUSY
deadlock a busy timeout cannot resolve); the driver's own transaction handling is turned off
because it breaks SAVEPOINT.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.pool import StaticPool

from adapters.sql.deadline import deadline_connector

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine


@dataclass(frozen=True, slots=True)
class PoolSettings:
    size: int = 10
    max_overflow: int = 20
    timeout_seconds: float = 30.0
    recycle_seconds: int = 3600
    pre_ping: bool = True
    ping_idle_seconds: float = 1.0
    """With `pre_ping`: a PostgreSQL connection idle in the pool this long is pinged at checkout;
    0 pings at every checkout."""
    connect_timeout_seconds: int = 10
    """How long opening a PostgreSQL connection may take before `StorageUnavailable`."""
    statement_timeout_ms: int = 0
    """PostgreSQL cancels a statement running longer (SQLSTATE 57014, `StorageUnavailable`); 0: no
    limit, which is what migrations get. The container sets the application's."""


SQLITE_BUSY_TIMEOUT_MS = 30_000


def create_engine(url: str | URL, pool: PoolSettings | None = None, echo: bool = False) -> Engine:
    engine: Engine = _configured(make_url(url), pool or PoolSettings(), echo, sa.create_engine)
    return engine


def create_async_engine(url: str | URL, pool: PoolSettings | None = None, echo: bool = False) -> AsyncEngine:
    """The same engine on an async driver (`postgresql+asyncpg`, `postgresql+psycopg`,
    `sqlite+aiosqlite`): pool, timeouts and SQLite pragmas as above, on its `sync_engine`, which is
    the engine the SQL backend runs on under the async face (`adapters/asynchronous`)."""
    from sqlalchemy.ext.asyncio import create_async_engine as build

    engine: AsyncEngine = _configured(make_url(url), pool or PoolSettings(), echo, build)
    return engine


def _configured(parsed: URL, pool: PoolSettings, echo: bool, build: Callable[..., Any]) -> Any:
    """`build(url, **options)` (SQLAlchemy's sync or async `create_engine`), then the listeners on the
    sync engine, which an async engine carries as `sync_engine`."""
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(parsed, pool, echo, build)
    if parsed.get_backend_name() != "postgresql":
        raise ValueError(f"unsupported database {parsed.get_backend_name()!r}")
    engine = build(
        parsed,
        echo=echo,
        pool_size=pool.size,
        max_overflow=pool.max_overflow,
        pool_timeout=pool.timeout_seconds,
        pool_recycle=pool.recycle_seconds,
        pool_pre_ping=pool.pre_ping and pool.ping_idle_seconds <= 0,
        connect_args=_postgres_connect_args(pool, parsed.get_driver_name()),
    )
    if not engine.dialect.is_async and (pool.statement_timeout_ms > 0 or engine.dialect.driver == "psycopg2"):
        # A frozen server cannot enforce its own timeout: the client bounds the wait too (on the
        # blocking drivers, whose connections wait on libpq's socket; adapters/sql/deadline.py).
        # psycopg2's connections are made there even without a timeout: they carry a unit of
        # work's deferred BEGIN (adapters/sql/explicit_begin.py).
        event.listen(engine, "do_connect", deadline_connector(engine.dialect.driver, pool.statement_timeout_ms))
    if pool.pre_ping and pool.ping_idle_seconds > 0:
        _ping_when_idle(getattr(engine, "sync_engine", engine), pool.ping_idle_seconds)
    return engine


def _ping_when_idle(engine: Engine, idle_seconds: float) -> None:
    """Ping a connection at checkout if it was checked in `idle_seconds` ago or more; a dead one is
    a `DisconnectionError`, on which the pool opens a new connection (as with `pool_pre_ping`)."""
    dialect = engine.dialect

    @event.listens_for(engine, "checkin")
    def _checked_in(_dbapi_connection: Any, record: Any) -> None:
        record.info["portside_idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.pop("portside_idle_since", None)
        if idle_since is None or time.monotonic() - idle_since < idle_seconds:
            return  # opened just now, or in use a moment ago
        try:
            dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as error:
            if dialect.is_disconnect(error, dbapi_connection, None):
                raise sa_exc.DisconnectionError(str(error)) from error
            raise


def _postgres_connect_args(pool: PoolSettings, driver: str) -> dict[str, Any]:
    """libpq's own settings (psycopg2 and psycopg 3 both pass them to libpq); asyncpg's own."""
    if driver == "asyncpg":
        # asyncpg takes no libpq options: its own connect timeout, and server settings sent at startup.
        settings = {"application_name": "portside"}
        if pool.statement_timeout_ms > 0:
            settings["statement_timeout"] = str(int(pool.statement_timeout_ms))
        return {"timeout": max(1, pool.connect_timeout_seconds), "server_settings": settings}
    arguments: dict[str, Any] = {
        "connect_timeout": max(1, pool.connect_timeout_seconds),
        "application_name": "portside",
        # TCP keepalives so that a peer gone without a word (a host down, a partition) is noticed on
        # an idle pooled connection within about a minute, not the kernel's two hours.
        "keepalives": 1, "keepalives_idle": 30, "keepalives_interval": 10, "keepalives_count": 3,
    }
    if pool.statement_timeout_ms > 0:
        # The server's own limit, set once per connection: every transaction on it carries it.
        arguments["options"] = f"-c statement_timeout={int(pool.statement_timeout_ms)}"
    return arguments


def _sqlite_engine(url: URL, pool: PoolSettings, echo: bool, build: Callable[..., Any]) -> Any:
    in_memory = url.database in (None, "", ":memory:")
    options: dict[str, Any] = {"echo": echo}
    if in_memory:
        # One shared connection, or every checkout would see a different empty database.
        options.update(poolclass=StaticPool, connect_args={"check_same_thread": False})
    else:
        options.update(
            pool_size=pool.size,
            max_overflow=pool.max_overflow,
            pool_timeout=pool.timeout_seconds,
            pool_recycle=pool.recycle_seconds,
            pool_pre_ping=pool.pre_ping,
            connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
        )
    built = build(url, **options)
    engine = getattr(built, "sync_engine", built)

    @event.listens_for(engine, "connect")
    def _configure(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves, below
        cursor = dbapi_connection.cursor()
        if not in_memory:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: sa.Connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return built
