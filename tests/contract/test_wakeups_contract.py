"""The waker contract on the in-process waker, PostgreSQL LISTEN/NOTIFY and Redis pub/sub."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from adapters.redis.client import RedisSettings, create_redis_client
from adapters.sql.database import SqlDatabase
from adapters.wakeups.local import LocalWaker
from adapters.wakeups.postgres import PostgresWaker
from adapters.wakeups.redis import RedisWaker
from application.testing.contracts.wakeups import WakerContract, WakerPair
from ports.wakeups import Waker
from tests.servers import RedisServer


@pytest.fixture(params=["local", pytest.param("postgres", marks=pytest.mark.postgres),
                        pytest.param("psycopg", marks=[pytest.mark.postgres, pytest.mark.psycopg]),
                        pytest.param("redis", marks=pytest.mark.redis)])
def wakers(request: pytest.FixtureRequest) -> Iterator[WakerPair]:
    made: list[Waker] = []
    clients: list[object] = []

    def pair() -> tuple[Waker, Waker]:
        if request.param == "local":
            local = LocalWaker()
            made.append(local)
            return local, local
        if request.param in ("postgres", "psycopg"):
            database: SqlDatabase = request.getfixturevalue(f"{request.param}_database")
            first: Waker = PostgresWaker(database.open_driver_connection)
            second: Waker = PostgresWaker(database.open_driver_connection)
        else:
            server: RedisServer = request.getfixturevalue("redis_server")
            client_a = create_redis_client(RedisSettings(url=server.url))
            client_b = create_redis_client(RedisSettings(url=server.url))
            clients.extend([client_a, client_b])
            first, second = RedisWaker(client_a), RedisWaker(client_b)
        made.extend([first, second])
        return first, second

    yield pair
    for waker in made:
        waker.close()
    for client in clients:
        client.close()  # type: ignore[attr-defined]


class TestWakers(WakerContract):
    pass
