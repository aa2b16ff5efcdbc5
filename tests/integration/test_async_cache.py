"""The awaited cache from the container (`container.async_cache()`), on memory and Redis and with
PostgreSQL as its L3: `async def` loaders awaited under one single flight, the loop never blocked by
a stalled Redis, one L1 for both faces, typed errors for an async loader on the sync cache, and
`shutdown_async` closing what a loop opened."""

from __future__ import annotations

import asyncio
import signal
import uuid
import warnings
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.pool import QueuePool

from adapters.sql.cache import cache_entries
from application.container import Container, build_container, shutdown_async
from application.settings import Settings
from domain.shared.errors import ValidationError
from tests.redis_process import OwnedRedis
from tests.servers import PostgresServer, RedisServer

TENANT = uuid.UUID("0190a000-0000-7000-8000-0000000ac001")

pytestmark = pytest.mark.redis


@pytest.fixture
def container(redis_server: RedisServer) -> Iterator[Container]:
    built = build_container(Settings(database_url="memory://", redis_url=redis_server.url,
                                     cache_tiers="memory,redis", cache_key_prefix=f"t{uuid.uuid4().hex[:8]}"))
    yield built
    built.shutdown_resources()


def run(container: Container, scenario: Any) -> Any:
    """`scenario()` on a loop of its own, then what the async face opened on it closed."""

    async def main() -> Any:
        try:
            return await scenario()
        finally:
            await container.cache_redis_client().aclose()

    return asyncio.run(main())


def test_an_async_loader_is_awaited_once_for_every_concurrent_miss(container: Container) -> None:
    calls: list[int] = []

    async def load() -> dict[str, int]:
        calls.append(1)
        await asyncio.sleep(0.1)  # the loop runs on meanwhile: the other tasks reach the flight
        return {"answer": 42}

    async def scenario() -> list[Any]:
        cache = container.async_cache().for_tenant(TENANT)
        return list(await asyncio.gather(*(cache.get_or_set("hot", load, ttl=60) for _ in range(20))))

    assert run(container, scenario) == [{"answer": 42}] * 20
    assert calls == [1]
    assert container.cache().for_tenant(TENANT).get("hot") == {"answer": 42}


def test_the_sync_and_the_async_face_share_one_cache(container: Container) -> None:
    container.cache().for_tenant(TENANT).set("shared", "from sync", ttl=60)

    async def scenario() -> Any:
        cache = container.async_cache().for_tenant(TENANT)
        seen = await cache.get("shared")
        await cache.set("back", ["from", "async"], ttl=60)
        return seen

    assert run(container, scenario) == "from sync"
    assert container.cache().for_tenant(TENANT).get("back") == ["from", "async"]
    assert container.cache().for_tenant(uuid.uuid4()).get("back") is None  # tenants apart on both faces


def test_an_async_loader_on_the_sync_cache_is_refused_and_nothing_is_stored(container: Container) -> None:
    async def load() -> str:
        return "never"

    cache = container.cache().for_tenant(TENANT)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "coroutine was never awaited" would be a warning
        with pytest.raises(ValidationError) as raised:
            cache.get_or_set("key", load, ttl=60)
    assert raised.value.field == "loader"
    assert cache.exists("key") is False


def test_the_awaited_cache_talks_redis_asyncio_and_leaves_the_sync_pool_alone(container: Container) -> None:
    client = container.cache_redis_client()

    async def scenario() -> Any:
        cache = container.async_cache().for_tenant(TENANT)
        await cache.set_many({"a": 1, "b": 2}, ttl=60)
        found = await cache.get_many(["a", "b", "c"])
        pool = client.on_loop().connection_pool
        assert len(pool._available_connections) + len(pool._in_use_connections) >= 1
        return found

    assert run(container, scenario) == {"a": 1, "b": 2}
    # The sync pool holds at most the invalidation listener's subscription (a thread of its own, in
    # use for good); a command sent on it would have left its connection back in the pool.
    assert client.sync.connection_pool._available_connections == []


def test_a_stalled_redis_never_stalls_the_loop() -> None:
    """Redis stopped (SIGSTOP) for 0.6 s while 10 tasks read through the cache: a 5 ms ticker keeps
    ticking, and the reads finish once Redis answers again."""
    owned = OwnedRedis()
    owned.start()
    container = build_container(Settings(database_url="memory://", redis_url=owned.url, cache_tiers="redis",
                                         cache_redis_fallback=False, cache_redis_timeout=3.0))
    try:
        async def scenario() -> tuple[list[Any], float]:
            cache = container.async_cache().for_tenant(TENANT)
            await cache.set("key", "value", ttl=60)  # connected before the stall
            assert owned._process is not None
            owned._process.send_signal(signal.SIGSTOP)
            loop = asyncio.get_running_loop()
            worst = 0.0
            reads = asyncio.gather(*(cache.get("key") for _ in range(10)))
            resume = loop.call_later(0.6, owned._process.send_signal, signal.SIGCONT)
            while not reads.done():
                asked = loop.time()
                await asyncio.sleep(0.005)
                worst = max(worst, loop.time() - asked)
            resume.cancel()
            return list(await reads), worst

        found, worst = run(container, scenario)
    finally:
        if owned._process is not None:
            owned._process.send_signal(signal.SIGCONT)
        container.shutdown_resources()
        owned.stop()
    assert found == ["value"] * 10
    assert worst < 0.3, f"the loop stalled {worst:.3f} s"


@pytest.mark.postgres
def test_the_sql_tier_answers_the_awaited_cache_on_the_async_engine(
        redis_server: RedisServer, postgres_server: PostgresServer, postgres_database: Any) -> None:
    container = build_container(Settings(database_url=postgres_server.app_url, redis_url=redis_server.url,
                                         cache_tiers="memory,sql", cache_key_prefix=f"t{uuid.uuid4().hex[:8]}"))
    try:
        async def scenario() -> Any:
            cache = container.async_cache().for_tenant(TENANT)
            await cache.set("row", {"kept": True}, ttl=60)
            value = await cache.get_or_set("loaded", lambda: "sync loaders work too", ttl=60)
            assert container.async_sql_database().checked_out() == 0
            return value

        async def main() -> Any:
            try:
                return await scenario()
            finally:
                await shutdown_async(container)

        assert asyncio.run(main()) == "sync loaders work too"
        with postgres_database.engine.begin() as connection:
            keys = set(connection.execute(sa.select(cache_entries.c.cache_key)).scalars())
        assert any(key.endswith(":row") for key in keys) and any(key.endswith(":loaded") for key in keys)
        pool = container.sql_database().engine.pool
        assert isinstance(pool, QueuePool) and pool.checkedin() == 0  # the sync engine never connected
    finally:
        container.shutdown_resources()
        with postgres_database.engine.begin() as connection:
            connection.execute(cache_entries.delete())
