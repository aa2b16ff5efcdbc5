"""Fixtures the async contract suites share: one event loop for the session, and the session's
SQL databases reached through async engines on it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from adapters.asynchronous.sql import AsyncSqlDatabase
from adapters.sql.database import SqlDatabase
from application.testing.async_bridge import EventLoopThread
from tests.servers import PostgresServer


@pytest.fixture(scope="session")
def async_loop() -> Iterator[EventLoopThread]:
    """The loop the SQL backends' async engines keep their connections on, for the whole session."""
    loop = EventLoopThread("portside-async-contracts")
    yield loop
    loop.close()


def _async_database(url: sa.URL, loop: EventLoopThread) -> Iterator[AsyncSqlDatabase]:
    database = AsyncSqlDatabase.from_url(url.render_as_string(hide_password=False))
    yield database
    loop.run(database.dispose())


@pytest.fixture(scope="session")
def async_sqlite_database(sqlite_database: SqlDatabase, async_loop: EventLoopThread) -> Iterator[AsyncSqlDatabase]:
    """The session's migrated SQLite file, on aiosqlite."""
    yield from _async_database(sqlite_database.engine.url, async_loop)


@pytest.fixture(scope="session")
def async_postgres_database(postgres_database: SqlDatabase, postgres_server: PostgresServer,
                            async_loop: EventLoopThread) -> Iterator[AsyncSqlDatabase]:
    """The session's PostgreSQL as the application role (row-level security binds it), on asyncpg."""
    yield from _async_database(postgres_database.engine.url, async_loop)


@pytest.fixture(scope="session")
def async_postgres_psycopg_database(postgres_database: SqlDatabase, postgres_server: PostgresServer,
                                    async_loop: EventLoopThread) -> Iterator[AsyncSqlDatabase]:
    """The same, on psycopg 3's async connections."""
    yield from _async_database(postgres_database.engine.url.set(drivername="postgresql+psycopg"), async_loop)


