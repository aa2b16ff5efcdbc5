"""Engine factory: pool settings of spec 002, SQLite tuned for an embedded database.

SQLite: WAL so that readers never wait for the writer; `BEGIN IMMEDIATE` so that a transaction
takes the write lock when it starts, not halfway through (the halfway upgrade is the SQLITE_BUSY
deadlock a busy timeout cannot resolve); the driver's own transaction handling is turned off
because it breaks SAVEPOINT.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.pool import StaticPool

from adapters.sql.deadline import deadline_connection_factory


@dataclass(frozen=True, slots=True)
class PoolSettings:
    size: int = 10
    max_overflow: int = 20
    timeout_seconds: float = 30.0
    recycle_seconds: int = 3600
    pre_ping: bool = True
    connect_timeout_seconds: int = 10
    """How long opening a PostgreSQL connection may take before `StorageUnavailable`."""
    statement_timeout_ms: int = 0
    """PostgreSQL cancels a statement running longer (SQLSTATE 57014, `StorageUnavailable`); 0: no
    limit, which is what migrations get. The container sets the application's."""


SQLITE_BUSY_TIMEOUT_MS = 30_000


def create_engine(url: str | URL, pool: PoolSettings | None = None, echo: bool = False) -> Engine:
    pool = pool or PoolSettings()
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(parsed, pool, echo)
    if parsed.get_backend_name() != "postgresql":
        raise ValueError(f"unsupported database {parsed.get_backend_name()!r}")
    return sa.create_engine(
        parsed,
        echo=echo,
        pool_size=pool.size,
        max_overflow=pool.max_overflow,
        pool_timeout=pool.timeout_seconds,
        pool_recycle=pool.recycle_seconds,
        pool_pre_ping=pool.pre_ping,
        connect_args=_postgres_connect_args(pool, parsed.get_driver_name()),
    )


def _postgres_connect_args(pool: PoolSettings, driver: str) -> dict[str, Any]:
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
        if driver == "psycopg2":
            # A frozen server cannot enforce its own timeout: the client bounds the wait too.
            arguments["connection_factory"] = deadline_connection_factory(pool.statement_timeout_ms)
    return arguments


def _sqlite_engine(url: URL, pool: PoolSettings, echo: bool) -> Engine:
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
    engine = sa.create_engine(url, **options)

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

    return engine
