"""The multi-level cache on real tiers: promotion keeps the remaining TTL under each tier's cap,
writes are capped per tier, deletes and invalidations reach every tier and other processes' L1,
and get_or_set runs one loader across processes (the Redis lock)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis

from adapters.caching.assembly import CacheSettings, build_cache_space
from adapters.caching.memory import MemoryTier
from adapters.caching.multilevel import MultiLevelTier
from adapters.caching.service import CacheSpace
from adapters.caching.tier import Entry
from adapters.redis.client import RedisSettings, create_redis_client
from adapters.sql.database import SqlDatabase
from application.testing.racing import race
from tests.contract.test_caching_contract import empty_cache_table
from tests.servers import RedisServer

pytestmark = [pytest.mark.redis, pytest.mark.postgres]
TENANT = uuid.UUID("0190a000-0000-7000-8000-0000000000aa")
HOUR = 3600.0


@pytest.fixture
def open_space(redis_server: RedisServer, postgres_database: SqlDatabase) -> Iterator[Callable[..., CacheSpace]]:
    """Opens spaces on one Redis and one PostgreSQL, as several processes of a deployment would."""
    opened: list[tuple[CacheSpace, redis.Redis]] = []
    first = create_redis_client(RedisSettings(url=redis_server.url))
    first.flushdb()
    empty_cache_table(postgres_database)

    def open_one(tiers: tuple[str, ...] = ("memory", "redis", "sql"), **options: Any) -> CacheSpace:
        client = create_redis_client(RedisSettings(url=redis_server.url))
        space = build_cache_space(CacheSettings(tiers=tiers, **options), redis_client=client,
                                  sql_database=postgres_database)
        opened.append((space, client))
        return space

    yield open_one
    for space, client in opened:
        space.close()
        client.close()
    first.flushdb()
    first.close()
    empty_cache_table(postgres_database)


def _levels(space: CacheSpace) -> MultiLevelTier:
    assert isinstance(space.tier, MultiLevelTier)
    return space.tier


def _wait_for(condition: Callable[[], bool], seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


def test_writes_are_capped_per_tier(open_space: Callable[..., CacheSpace], redis_server: RedisServer) -> None:
    space = open_space()
    cache = space.for_tenant(TENANT)
    before = time.time()
    cache.set("report", {"rows": 3}, ttl=48 * HOUR)
    key = cache.namespace + "report"
    l1, l2, l3 = (level.tier for level in _levels(space).levels)
    assert l1.get(key).expires_at <= before + 300 + 1  # type: ignore[union-attr]
    raw = redis.Redis.from_url(redis_server.url)
    assert 24 * HOUR * 1000 - 5000 <= raw.pttl(key) <= 24 * HOUR * 1000  # Redis drops its copy at the cap
    raw.close()
    assert l2.get(key).final >= before + 48 * HOUR - 1  # type: ignore[union-attr]  # the value's own expiry
    assert l3.get(key).expires_at >= before + 48 * HOUR - 1  # type: ignore[union-attr]


def test_a_hit_in_a_slower_tier_is_promoted_with_its_remaining_ttl(open_space: Callable[..., CacheSpace]) -> None:
    space = open_space()
    cache = space.for_tenant(TENANT)
    l1, l2, l3 = (level.tier for level in _levels(space).levels)
    key = cache.namespace + "config"
    expires_at = time.time() + 120  # two minutes left: under the L1 cap, so L1 gets exactly that
    l3.set(key, Entry({"v": 1}, '{"v":1}', expires_at))
    assert cache.get("config") == {"v": 1}
    assert abs(l2.get(key).expires_at - expires_at) < 0.01  # type: ignore[union-attr]
    assert abs(l1.get(key).expires_at - expires_at) < 0.01  # type: ignore[union-attr]
    stats = cache.get_stats()
    promoted = {line.name: line.promotions for line in stats.tiers}
    assert promoted == {"l1": 1, "l2": 1, "l3": 0}
    assert cache.get("config") == {"v": 1}
    lines = {line.name: (line.hits, line.misses) for line in cache.get_stats().tiers}
    assert lines["l1"] == (2, 1)  # the miss, the test's own read of the tier, the hit
    assert stats.l3_count == 1 and stats.l1_size == 1 and stats.l1_memory_bytes == len('{"v":1}')


def test_a_hit_in_l2_keeps_a_longer_remaining_ttl_capped_in_l1(open_space: Callable[..., CacheSpace]) -> None:
    space = open_space()
    cache = space.for_tenant(TENANT)
    l1, l2, _ = (level.tier for level in _levels(space).levels)
    key = cache.namespace + "long"
    l2.set(key, Entry("x", '"x"', time.time() + 2 * HOUR))
    before = time.time()
    assert cache.get("long") == "x"
    assert before + 299 <= l1.get(key).expires_at <= before + 301  # type: ignore[union-attr]


def test_delete_and_invalidate_reach_every_tier(open_space: Callable[..., CacheSpace]) -> None:
    space = open_space()
    cache = space.for_tenant(TENANT)
    cache.set_many({"workspace:9:a": 1, "workspace:9:b": 2, "keep": 3}, ttl=HOUR)
    assert cache.delete("keep") is True
    assert cache.invalidate_pattern("workspace:9:*") == 2
    for level in _levels(space).levels:
        assert level.tier.keys(cache.namespace + "*") == []


def test_another_process_drops_what_this_one_deletes_from_its_l1(open_space: Callable[..., CacheSpace]) -> None:
    writer, reader = open_space(), open_space()
    mine, theirs = writer.for_tenant(TENANT), reader.for_tenant(TENANT)
    mine.set_many({"a": 1, "workspace:1:x": 2, "b": 3}, ttl=HOUR)
    assert theirs.get_many(["a", "workspace:1:x", "b"]) == {"a": 1, "workspace:1:x": 2, "b": 3}  # now in its L1
    reader_l1 = _levels(reader).levels[0].tier
    mine.delete("a")
    mine.invalidate_pattern("workspace:*")
    mine.set("b", 30, ttl=HOUR)
    assert _wait_for(lambda: reader_l1.keys("*") == [])
    assert theirs.get_many(["a", "workspace:1:x", "b"]) == {"b": 30}


def test_processes_missing_one_key_call_the_loader_once(open_space: Callable[..., CacheSpace]) -> None:
    spaces = [open_space(("memory", "redis")) for _ in range(4)]
    calls: list[int] = []
    answers: list[Any] = []

    def load() -> dict[str, str]:
        calls.append(1)
        time.sleep(0.3)
        return {"expensive": "yes"}

    errors = race(lambda index: answers.append(spaces[index % 4].for_tenant(TENANT).get_or_set("k", load, ttl=60)),
                  range(40))
    assert errors == []
    assert len(calls) == 1
    assert answers == [{"expensive": "yes"}] * 40


@pytest.mark.parametrize("tiers", [("memory",), ("memory", "redis", "sql")])
def test_a_hundred_threads_missing_one_key_call_the_loader_once(open_space: Callable[..., CacheSpace],
                                                                tiers: tuple[str, ...]) -> None:
    cache = open_space(tiers).for_tenant(TENANT)
    calls: list[int] = []

    def load() -> int:
        calls.append(1)
        time.sleep(0.2)
        return 7

    assert race(lambda _: cache.get_or_set("stampede", load, ttl=60), range(100)) == []
    assert len(calls) == 1


def test_an_invalidation_during_a_load_keeps_the_loaded_value_out(open_space: Callable[..., CacheSpace]) -> None:
    cache = open_space().for_tenant(TENANT)

    def load() -> str:
        cache.delete("config")  # what a concurrent writer's commit hook does meanwhile
        return "read before the change"

    assert cache.get_or_set("config", load, ttl=60) == "read before the change"
    assert cache.exists("config") is False


def test_memory_tier_evicts_the_least_recently_used() -> None:
    tier = MemoryTier(max_entries=3)
    far = time.time() + HOUR
    tier.set_many({key: Entry(key, f'"{key}"', far) for key in ("a", "b", "c")})
    assert tier.get("a") is not None  # a is now the most recent
    tier.set("d", Entry("d", '"d"', far))
    assert sorted(tier.keys("*")) == ["a", "c", "d"]
    assert tier.evictions == 1
