"""Redis killed under the cache: callers never see an error, the memory tier stands in, and Redis
serves again soon after it restarts, without any value the application invalidated meanwhile."""

from __future__ import annotations

import logging
import random
import threading
import time
import uuid
from collections.abc import Iterator

import pytest
import redis

from adapters.caching.assembly import CacheSettings, build_cache_space
from adapters.caching.fallback import FallbackTier
from adapters.caching.multilevel import MultiLevelTier
from adapters.caching.service import CacheSpace
from adapters.redis.client import RedisSettings, create_redis_client
from tests.redis_process import OwnedRedis

pytestmark = pytest.mark.redis
TENANT = uuid.UUID("0190a000-0000-7000-8000-0000000000bb")
THREADS = 8
OPERATIONS = 10_000
BACK_WITHIN_SECONDS = 5.0


@pytest.fixture
def owned_redis() -> Iterator[OwnedRedis]:
    server = OwnedRedis()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def client(owned_redis: OwnedRedis) -> Iterator[redis.Redis]:
    # The container's settings for the cache's own connections: short timeouts, one retry.
    built = create_redis_client(RedisSettings(url=owned_redis.url, socket_timeout_seconds=0.5,
                                              connect_timeout_seconds=0.5, retries=1))
    yield built
    built.close()


def _space(client: redis.Redis, tiers: tuple[str, ...] = ("memory", "redis")) -> CacheSpace:
    return build_cache_space(CacheSettings(tiers=tiers, probe_interval=0.2), redis_client=client)


def _fallback(space: CacheSpace) -> FallbackTier:
    tier = space.tier
    if isinstance(tier, MultiLevelTier):
        tier = tier.levels[-1].tier
    assert isinstance(tier, FallbackTier)
    return tier


def _raw(owned_redis: OwnedRedis) -> redis.Redis:
    return redis.Redis.from_url(owned_redis.url)


def test_sigkill_during_mixed_operations_reaches_no_caller(owned_redis: OwnedRedis, client: redis.Redis) -> None:
    space = _space(client)
    cache = space.for_tenant(TENANT)
    fallback = _fallback(space)
    done = [0]
    counter_lock = threading.Lock()
    failures: list[BaseException] = []

    def work(seed: int) -> None:
        chooser = random.Random(seed)
        for index in range(OPERATIONS // THREADS):
            key = f"k{chooser.randrange(200)}"
            try:
                match chooser.randrange(8):
                    case 0 | 1:
                        cache.get(key)
                    case 2:
                        cache.set(key, {"seed": seed, "index": index}, ttl=60)
                    case 3:
                        cache.get_many([key, f"k{chooser.randrange(200)}"])
                    case 4:
                        cache.delete(key)
                    case 5:
                        cache.increment(f"n{seed}", ttl=60)
                    case 6:
                        cache.get_or_set(key, lambda: {"loaded": True}, ttl=60)
                    case _:
                        cache.invalidate_pattern(f"k{chooser.randrange(10)}*")
            except BaseException as error:  # the assertion: nothing reaches a caller
                failures.append(error)
            with counter_lock:
                done[0] += 1
            time.sleep(0.0005)  # spread the operations over the kill and the restart

    workers = [threading.Thread(target=work, args=(seed,)) for seed in range(THREADS)]
    for worker in workers:
        worker.start()
    while done[0] < OPERATIONS // 3:
        time.sleep(0.01)
    owned_redis.kill()
    while done[0] < OPERATIONS // 2:
        time.sleep(0.01)
    assert fallback.degraded
    owned_redis.start()
    restarted = time.monotonic()
    back = None
    while time.monotonic() - restarted < BACK_WITHIN_SECONDS + 5:
        if not fallback.degraded:
            back = time.monotonic() - restarted
            break
        cache.get("probe")  # any call probes when due; the workers may have finished
        time.sleep(0.01)
    for worker in workers:
        worker.join(120)
    space.close()
    assert failures == []
    assert done[0] == OPERATIONS
    assert back is not None and back <= BACK_WITHIN_SECONDS, back
    assert fallback.outages >= 1


def test_after_a_crash_the_cache_serves_nothing_from_the_outage(owned_redis: OwnedRedis, client: redis.Redis) -> None:
    space = _space(client, ("redis",))
    cache = space.for_tenant(TENANT)
    cache.set("replaced", "old", ttl=600)
    owned_redis.kill()
    cache.set("replaced", "new", ttl=600)
    assert cache.get("replaced") == "new"  # the stand-in serves the outage's writes
    assert _fallback(space).degraded
    owned_redis.start()
    time.sleep(0.3)  # past the probe interval
    assert cache.get("replaced") is None  # Redis again: it lost "old" with the crash; "new" was never there
    assert not _fallback(space).degraded
    space.close()


def test_the_outage_journal_is_replayed_to_a_redis_that_kept_its_data(
    owned_redis: OwnedRedis, client: redis.Redis
) -> None:
    """Redis unreachable but not restarted (CLIENT PAUSE: every command of the cache times out): it
    still holds the old values when it answers again, and must lose the ones invalidated meanwhile."""
    space = _space(client, ("redis",))
    cache = space.for_tenant(TENANT)
    fallback = _fallback(space)
    cache.set_many({"deleted": 1, "workspace:1:a": 2, "workspace:1:b": 3, "replaced": "old", "kept": 4}, ttl=600)
    raw = _raw(owned_redis)
    paused_until = time.monotonic() + 3.0
    raw.client_pause(3000)
    assert cache.get("kept") is None  # timed out: served by the stand-in, which does not have it
    assert fallback.degraded
    cache.delete("deleted")
    cache.invalidate_pattern("workspace:1:*")
    cache.set("replaced", "new", ttl=600)
    time.sleep(max(0.0, paused_until - time.monotonic()) + 0.3)
    cache.get("anything")  # the probe answers, the journal is replayed
    assert not fallback.degraded
    left = sorted(key.decode().removeprefix(cache.namespace) for key in raw.scan_iter(match="*"))
    assert left == ["kept"]
    assert cache.get("kept") == 4
    assert cache.get("replaced") is None  # never the old value again
    space.close()
    raw.close()


def test_an_outage_logs_one_warning(owned_redis: OwnedRedis, client: redis.Redis,
                                    caplog: pytest.LogCaptureFixture) -> None:
    space = _space(client)
    cache = space.for_tenant(TENANT)
    owned_redis.kill()
    with caplog.at_level(logging.WARNING, logger="portside.cache"):
        for index in range(200):
            cache.set(f"k{index}", index, ttl=60)
            assert cache.get(f"k{index}") == index
    warnings = [record for record in caplog.records if "unreachable" in record.getMessage()]
    assert len(warnings) == 1
    space.close()

