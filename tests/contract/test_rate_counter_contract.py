"""The rate counter contract on memory, SQLite, PostgreSQL and Redis."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from adapters.memory.rate_limit import MemoryRateCounter
from adapters.redis.client import RedisSettings, create_redis_client
from adapters.redis.rate_limit import RedisRateCounter
from adapters.sql.database import SqlDatabase
from adapters.sql.rate_limit import SqlRateCounter, rate_limit_counters
from application.testing.contracts.rate_counter import RateCounterContract
from ports.rate_limit import RateCounter
from tests.conftest import BACKENDS, backend_param
from tests.servers import RedisServer


@pytest.fixture(params=[backend_param(name) for name in (*BACKENDS, "redis")])
def rate_counter(request: pytest.FixtureRequest) -> Iterator[RateCounter]:
    """A counter on an empty store of each backend."""
    if request.param == "memory":
        yield MemoryRateCounter()
        return
    if request.param == "redis":
        server: RedisServer = request.getfixturevalue("redis_server")
        client = create_redis_client(RedisSettings(url=server.url))
        client.flushdb()
        yield RedisRateCounter(client)
        client.flushdb()
        client.close()
        return
    database: SqlDatabase = request.getfixturevalue(f"{request.param}_database")

    def empty() -> None:  # the table is global, not under row-level security: the app role may clear it
        with database.engine.begin() as connection:
            connection.execute(rate_limit_counters.delete())

    empty()
    yield SqlRateCounter(database)
    empty()


class TestRateCounter(RateCounterContract):
    pass
