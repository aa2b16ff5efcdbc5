"""The cache contract on the async face: the awaited cache (`AwaitedCacheProvider` over the greenlet
runner), its Redis tier on `redis.asyncio` and its SQL tier on the async engine, seen through the
sync bridge. The same bindings as the sync contract."""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial

import pytest
from sqlalchemy.pool import QueuePool

from adapters.asynchronous.awaited import AwaitedCacheProvider
from adapters.asynchronous.runners import GreenletRunner
from adapters.asynchronous.sql import AsyncSqlDatabase
from adapters.caching.assembly import CacheSettings, build_cache_space
from adapters.redis.client import RedisSettings, create_async_redis_client, create_redis_client
from adapters.redis.cooperative import CooperativeRedis
from adapters.sql.database import SqlDatabase
from application.testing.async_bridge import BridgedCacheProvider, EventLoopThread, SyncBridge
from application.testing.contracts.caching import CacheContract
from ports.caching import CacheProvider
from tests.contract.test_caching_contract import BINDINGS, empty_cache_table
from tests.servers import RedisServer

DATABASES = {"sqlite": ("sqlite_database", "async_sqlite_database"),
             "postgres": ("postgres_database", "async_postgres_database"),
             "psycopg": ("postgres_database", "async_postgres_psycopg_database"),
             "multi-level": ("postgres_database", "async_postgres_database")}
"""Each SQL binding's session database (for emptying the table) and the same one on an async driver."""


@pytest.fixture(params=[pytest.param(name, marks=marks) for name, (_, marks) in BINDINGS.items()])
def cache_provider(request: pytest.FixtureRequest, async_loop: EventLoopThread) -> Iterator[CacheProvider]:
    """Empty tiers of each binding, awaited on the session's loop through a bridge."""
    tiers, _ = BINDINGS[request.param]
    client: CooperativeRedis | None = None
    database: SqlDatabase | None = None
    on_loop: AsyncSqlDatabase | None = None
    if "redis" in tiers:
        server: RedisServer = request.getfixturevalue("redis_server")
        settings = RedisSettings(url=server.url)
        client = CooperativeRedis(create_redis_client(settings), partial(create_async_redis_client, settings))
        client.sync.flushdb()
    if "sql" in tiers:
        sync_name, async_name = DATABASES[request.param]
        database, on_loop = request.getfixturevalue(sync_name), request.getfixturevalue(async_name)
        empty_cache_table(database)
    awaited_database = None if on_loop is None else on_loop.database
    # The tier's sync engine, of its own: under the loop it must never open a connection.
    idle = None if database is None else SqlDatabase.from_url(database.engine.url.render_as_string(hide_password=False))
    space = build_cache_space(CacheSettings(tiers=tiers), redis_client=client, sql_database=idle,
                              sql_on_loop=None if awaited_database is None else (lambda: awaited_database))
    bridge = SyncBridge(async_loop)
    yield BridgedCacheProvider(AwaitedCacheProvider(space, GreenletRunner()), bridge)
    bridge.close()
    space.close()
    if client is not None:
        assert client.sync.connection_pool._created_connections <= 1  # the flush: every command went async
        async_loop.run(client.aclose())
        client.sync.flushdb()
        client.close()
    if on_loop is not None and database is not None:
        assert on_loop.checked_out() == 0
        assert idle is not None and isinstance(idle.engine.pool, QueuePool)
        assert idle.engine.pool.checkedin() + idle.engine.pool.checkedout() == 0
        idle.engine.dispose()
        empty_cache_table(database)


class TestAsyncCache(CacheContract):
    pass
