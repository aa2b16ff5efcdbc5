"""Steps of features/caching/*.feature: TTL expiry on a manual clock, promotion between tiers,
invalidation by pattern, stampede protection, and the fallback while Redis is away (a Redis
process of the scenario's own, started, paused and stopped for real)."""

from __future__ import annotations

import json
import logging
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
import redis
import sqlalchemy as sa
from pytest_bdd import given, parsers, then, when

from adapters.caching.assembly import CacheSettings, build_cache_space
from adapters.caching.fallback import FallbackTier
from adapters.caching.memory import MemoryTier
from adapters.caching.multilevel import Level, MultiLevelTier
from adapters.caching.service import CacheSpace
from adapters.caching.tier import Entry
from adapters.clock import ManualClock
from adapters.redis.client import RedisSettings, create_redis_client
from adapters.sql.cache import SqlTier, cache_entries
from adapters.sql.database import SqlDatabase
from application.caching.patterns import invalidate_workspace
from application.container import Container
from application.testing.racing import race
from ports.caching import Cache
from tests.contract.test_caching_contract import empty_cache_table
from tests.redis_process import OwnedRedis


@dataclass
class CacheWorld:
    clock: ManualClock | None = None
    caches: dict[str, Cache] = field(default_factory=dict)
    spaces: list[CacheSpace] = field(default_factory=list)
    levels: MultiLevelTier | None = None
    sql_database: SqlDatabase | None = None
    redis_server: OwnedRedis | None = None
    clients: list[redis.Redis] = field(default_factory=list)
    fallback: FallbackTier | None = None
    last: Any = None
    invalidated: int | None = None
    loader_calls: int = 0
    answers: list[Any] = field(default_factory=list)
    errors: list[BaseException] = field(default_factory=list)
    paused_until: float = 0.0

    @property
    def cache(self) -> Cache:
        """The scenario's cache when it has one tenant."""
        return next(iter(self.caches.values()))

    def now(self) -> float:
        assert self.clock is not None
        return self.clock.now().timestamp()

    def call(self, work: Callable[[], Any]) -> Any:
        """Run a cache call, keeping what it raised for "no call raised an error"."""
        try:
            return work()
        except Exception as error:
            self.errors.append(error)
            return None


@pytest.fixture
def cache_world() -> Iterator[CacheWorld]:
    world = CacheWorld()
    yield world
    for space in world.spaces:
        space.close()
    for client in world.clients:
        client.close()
    if world.redis_server is not None:
        world.redis_server.stop()
    if world.sql_database is not None:
        empty_cache_table(world.sql_database)


def tenant_of(name: str) -> uuid.UUID:
    return uuid.uuid5(uuid.NAMESPACE_DNS, name)


def quoted(text: str) -> list[str]:
    return re.findall(r'"([^"]*)"', text)


# -- which cache ---------------------------------------------------------------------------------
@given(parsers.parse('the cache of "{name}" on a manual clock'))
def given_the_container_cache(cache_world: CacheWorld, container: Container, name: str) -> None:
    clock = container.clock()
    assert isinstance(clock, ManualClock)
    cache_world.clock = clock
    cache_world.caches[name] = container.cache().for_tenant(tenant_of(name))


@given("a cache of a memory L1 capped at 300 seconds over a SQL L3, on a manual clock")
def given_two_tiers(cache_world: CacheWorld, sqlite_database: SqlDatabase) -> None:
    cache_world.clock = ManualClock()
    cache_world.sql_database = sqlite_database
    empty_cache_table(sqlite_database)
    now = cache_world.now
    levels = MultiLevelTier([Level(MemoryTier(now=now), 300.0), Level(SqlTier(sqlite_database, now), None)], now=now)
    space = CacheSpace(levels, now=now)
    cache_world.levels = levels
    cache_world.spaces.append(space)
    cache_world.caches["Acme Corp"] = space.for_tenant(tenant_of("Acme Corp"))


def _redis_cache(cache_world: CacheWorld, name: str, start: bool) -> None:
    cache_world.redis_server = OwnedRedis()
    if start:
        cache_world.redis_server.start()
    client = create_redis_client(RedisSettings(url=cache_world.redis_server.url, socket_timeout_seconds=0.5,
                                               connect_timeout_seconds=0.5, retries=1))
    cache_world.clients.append(client)
    space = build_cache_space(CacheSettings(tiers=("redis",), probe_interval=0.2), redis_client=client)
    assert isinstance(space.tier, FallbackTier)
    cache_world.fallback = space.tier
    cache_world.spaces.append(space)
    cache_world.caches[name] = space.for_tenant(tenant_of(name))


@given(parsers.parse('a cache of "{name}" on a Redis that does not answer'))
def given_a_dead_redis(cache_world: CacheWorld, name: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="portside.cache")
    _redis_cache(cache_world, name, start=False)


@given(parsers.parse('a cache of "{name}" on a running Redis'))
def given_a_running_redis(cache_world: CacheWorld, name: str) -> None:
    _redis_cache(cache_world, name, start=True)


# -- writes and time ----------------------------------------------------------------------------
@given(parsers.parse('"{key}" is cached as "{value}" for {seconds:d} seconds'))
@when(parsers.parse('"{key}" is cached as "{value}" for {seconds:d} seconds'))
def cache_a_value(cache_world: CacheWorld, key: str, value: str, seconds: int) -> None:
    cache_world.call(lambda: cache_world.cache.set(key, value, ttl=seconds))


@given(parsers.re(r'"(?P<name>[^"]+)" has cached (?P<keys>.+)'))
def given_cached_keys(cache_world: CacheWorld, name: str, keys: str) -> None:
    cache_world.caches[name].set_many({key: f"value of {key}" for key in quoted(keys)}, ttl=3600)


@when(parsers.parse("{seconds:d} seconds pass"))
def time_passes(cache_world: CacheWorld, seconds: int) -> None:
    assert cache_world.clock is not None
    cache_world.clock.advance(timedelta(seconds=seconds))


@when(parsers.parse('"{key}" is given {seconds:d} seconds to live'))
def give_a_ttl(cache_world: CacheWorld, key: str, seconds: int) -> None:
    assert cache_world.cache.expire(key, seconds) is True


@when(parsers.parse('"{key}" is incremented by {by:d} with a TTL of {seconds:d} seconds'))
def increment_new(cache_world: CacheWorld, key: str, by: int, seconds: int) -> None:
    cache_world.cache.increment(key, by, ttl=seconds)


@when(parsers.parse('"{key}" is incremented by {by:d}'))
def increment(cache_world: CacheWorld, key: str, by: int) -> None:
    cache_world.cache.increment(key, by)


# -- reads --------------------------------------------------------------------------------------
@then(parsers.parse('"{key}" reads "{value}"'))
def reads_text(cache_world: CacheWorld, key: str, value: str) -> None:
    assert cache_world.call(lambda: cache_world.cache.get(key)) == value


@then(parsers.parse('"{key}" reads {number:d}'))
def reads_number(cache_world: CacheWorld, key: str, number: int) -> None:
    assert cache_world.cache.get(key) == number


@then(parsers.parse('"{key}" is missing'))
def is_missing(cache_world: CacheWorld, key: str) -> None:
    assert cache_world.cache.get(key) is None
    assert cache_world.cache.exists(key) is False


@when(parsers.parse('"{key}" is read'))
def read(cache_world: CacheWorld, key: str) -> None:
    cache_world.last = cache_world.cache.get(key)


@then(parsers.parse('it reads "{value}"'))
def it_reads(cache_world: CacheWorld, value: str) -> None:
    assert cache_world.last == value


# -- tiers --------------------------------------------------------------------------------------
@given(parsers.parse('"{key}" is stored only in L3 as "{value}" for {seconds:d} seconds'))
def stored_in_l3(cache_world: CacheWorld, key: str, value: str, seconds: int) -> None:
    assert cache_world.levels is not None
    full = cache_world.cache.namespace + key
    cache_world.levels.levels[-1].tier.set(full, Entry(value, json.dumps(value), cache_world.now() + seconds))


@then(parsers.parse('L1 holds "{key}" for {seconds:d} more seconds'))
def l1_holds(cache_world: CacheWorld, key: str, seconds: int) -> None:
    assert cache_world.levels is not None
    l1 = cache_world.levels.levels[0].tier
    assert isinstance(l1, MemoryTier)
    entry = l1.remaining(cache_world.cache.namespace + key)
    assert entry is not None
    assert abs(entry.expires_at - cache_world.now() - seconds) < 0.01


@then(parsers.parse('L3 holds "{key}" for {seconds:d} more seconds'))
def l3_holds(cache_world: CacheWorld, key: str, seconds: int) -> None:
    assert cache_world.sql_database is not None
    with cache_world.sql_database.engine.connect() as connection:  # read the row, not the tier: no hit counted
        expires_at = connection.execute(sa.select(cache_entries.c.expires_at).where(
            cache_entries.c.cache_key == cache_world.cache.namespace + key)).scalar_one()
    assert abs(expires_at.timestamp() - cache_world.now() - seconds) < 0.01


@then(parsers.parse("the stats count {promotions:d} promotion into l1 and {hits:d} hit in l3"))
def stats_count(cache_world: CacheWorld, promotions: int, hits: int) -> None:
    lines = {line.name: line for line in cache_world.cache.get_stats().tiers}
    assert lines["l1"].promotions == promotions
    assert lines["l3"].hits == hits


# -- invalidation -------------------------------------------------------------------------------
@when(parsers.parse('"{name}" invalidates the workspace "{workspace}"'))
def invalidates_workspace(cache_world: CacheWorld, name: str, workspace: str) -> None:
    cache_world.invalidated = cache_world.call(lambda: invalidate_workspace(cache_world.caches[name], workspace))


@when(parsers.parse('"{name}" invalidates "{pattern}"'))
def invalidates_pattern(cache_world: CacheWorld, name: str, pattern: str) -> None:
    cache_world.invalidated = cache_world.caches[name].invalidate_pattern(pattern)


@then(parsers.parse("{count:d} entries were invalidated"))
def entries_invalidated(cache_world: CacheWorld, count: int) -> None:
    assert cache_world.invalidated == count


@then(parsers.re(r'"(?P<name>[^"]+)" holds (?P<keys>.+)'))
def holds(cache_world: CacheWorld, name: str, keys: str) -> None:
    assert cache_world.caches[name].get_keys("*") == sorted(quoted(keys))


# -- stampedes ----------------------------------------------------------------------------------
@when(parsers.parse('{callers:d} callers read "{key}" at once through a loader taking {ms:d} ms'))
def stampede(cache_world: CacheWorld, callers: int, key: str, ms: int) -> None:
    lock = threading.Lock()

    def load() -> dict[str, str]:
        with lock:
            cache_world.loader_calls += 1
        time.sleep(ms / 1000)
        return {"loaded": key}

    errors = race(lambda _: cache_world.answers.append(cache_world.cache.get_or_set(key, load, ttl=60)),
                  range(callers))
    cache_world.errors.extend(errors)
    cache_world.last = {"loaded": key}


@when(parsers.parse('"{key}" is read through a loader answering "{value}", recomputing {seconds:d} seconds early'))
def early_recompute(cache_world: CacheWorld, key: str, value: str, seconds: int) -> None:
    def load() -> str:
        cache_world.loader_calls += 1
        return value

    cache_world.last = cache_world.cache.get_or_set(key, load, ttl=60, early_recompute=seconds)


@then("the loader ran once")
def loader_ran_once(cache_world: CacheWorld) -> None:
    assert cache_world.loader_calls == 1


@then("every caller got the loaded value")
def every_caller_got_it(cache_world: CacheWorld) -> None:
    assert cache_world.errors == []
    assert cache_world.answers == [cache_world.last] * len(cache_world.answers) and cache_world.answers


# -- fallback -----------------------------------------------------------------------------------
@then("no call raised an error")
def no_error(cache_world: CacheWorld) -> None:
    assert cache_world.errors == []


@then("one warning says Redis is unreachable")
def one_warning(caplog: pytest.LogCaptureFixture) -> None:
    assert len([r for r in caplog.records if "Redis unreachable" in r.getMessage()]) == 1


@when("Redis starts")
def redis_starts(cache_world: CacheWorld) -> None:
    assert cache_world.redis_server is not None
    cache_world.redis_server.start()


def _raw(cache_world: CacheWorld) -> redis.Redis:
    assert cache_world.redis_server is not None
    client = redis.Redis.from_url(cache_world.redis_server.url)
    cache_world.clients.append(client)
    return client


@then(parsers.parse("within {seconds:d} seconds the cache writes to Redis again"))
def writes_to_redis_again(cache_world: CacheWorld, seconds: int) -> None:
    raw = _raw(cache_world)
    deadline = time.monotonic() + seconds
    while True:
        cache_world.call(lambda: cache_world.cache.set("probe", "here", ttl=60))
        if raw.exists(cache_world.cache.namespace + "probe"):
            break
        assert time.monotonic() < deadline, f"Redis not used again within {seconds} s"
        time.sleep(0.05)
    assert cache_world.errors == []


@when(parsers.parse("Redis stops answering for {seconds:d} seconds"))
def redis_pauses(cache_world: CacheWorld, seconds: int) -> None:
    cache_world.paused_until = time.monotonic() + seconds
    _raw(cache_world).client_pause(seconds * 1000)


@when("Redis answers again")
def redis_answers_again(cache_world: CacheWorld) -> None:
    assert cache_world.fallback is not None
    time.sleep(max(0.0, cache_world.paused_until - time.monotonic()))
    deadline = time.monotonic() + 5
    while cache_world.fallback.degraded and time.monotonic() < deadline:
        cache_world.call(lambda: cache_world.cache.get("anything"))
        time.sleep(0.05)
    assert not cache_world.fallback.degraded


@then(parsers.parse('Redis holds "{key}" only'))
def redis_holds_only(cache_world: CacheWorld, key: str) -> None:
    namespace = cache_world.cache.namespace
    left = [found.decode().removeprefix(namespace) for found in _raw(cache_world).scan_iter(match="*")]
    assert left == [key]


__all__ = ["cache_world", *(name for name in dict(globals()) if name.startswith("pytestbdd_"))]
"""The world fixture and the step fixtures, for `from tests.bdd.caching_steps import *`."""
