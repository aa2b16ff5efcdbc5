"""The cache contract on memory, Redis, SQLite, PostgreSQL and the multi-level cache (memory, Redis
and PostgreSQL together)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from adapters.caching.assembly import CacheSettings, build_cache_space
from adapters.redis.client import RedisSettings, create_redis_client
from adapters.sql.cache import cache_entries
from adapters.sql.database import SqlDatabase
from application.testing.contracts.caching import CacheContract
from ports.caching import CacheProvider
from tests.servers import RedisServer

BINDINGS = {
    "memory": (("memory",), [pytest.mark.memory]),
    "redis": (("redis",), [pytest.mark.redis]),
    "sqlite": (("sql",), [pytest.mark.sqlite]),
    "postgres": (("sql",), [pytest.mark.postgres]),
    "psycopg": (("sql",), [pytest.mark.postgres, pytest.mark.psycopg]),
    "multi-level": (("memory", "redis", "sql"), [pytest.mark.redis, pytest.mark.postgres]),
}


def empty_cache_table(database: SqlDatabase) -> None:
    """The table is global, not under row-level security: the application role may clear it."""
    with database.engine.begin() as connection:
        connection.execute(cache_entries.delete())


@pytest.fixture(params=[pytest.param(name, marks=marks) for name, (_, marks) in BINDINGS.items()])
def cache_provider(request: pytest.FixtureRequest) -> Iterator[CacheProvider]:
    """A provider over empty tiers of each binding."""
    tiers, _ = BINDINGS[request.param]
    client = database = None
    if "redis" in tiers:
        server: RedisServer = request.getfixturevalue("redis_server")
        client = create_redis_client(RedisSettings(url=server.url))
        client.flushdb()
    if "sql" in tiers:
        database = request.getfixturevalue(
            f"{request.param}_database" if request.param in ("sqlite", "psycopg") else "postgres_database")
        empty_cache_table(database)
    space = build_cache_space(CacheSettings(tiers=tiers), redis_client=client, sql_database=database)
    yield space
    space.close()
    if client is not None:
        client.flushdb()
        client.close()
    if database is not None:
        empty_cache_table(database)


class TestCache(CacheContract):
    pass
