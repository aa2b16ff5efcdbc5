"""The cache's tiers against the libraries and raw driver calls a service would otherwise use.

a. memory-tier hit (`cache.get`, with TTL, LRU bound and the tenant namespace on) against
   `cachetools.TTLCache.get` on the same hot keys. Goal: no slower (<= 1.0x its time per get).
b. Redis `get_many(100)` against redis-py `MGET` of 100 keys as long as the cache's (the tenant's
   namespace included) plus `json.loads` of each value (what a raw user does to have the values),
   and bare `MGET` bytes as information. Goal: <= 1.2x the MGET + decode time.
c. `invalidate_pattern` removing 100,000 of 200,000 keys against a raw `SCAN MATCH ... COUNT 1000`
   + `UNLINK` loop over the same keys. Goal: <= 1.2x.
d. a hot key read from the multi-level cache (memory, Redis, PostgreSQL) against the memory tier
   alone. Goal: <= 1.3x.

Goals are on time per operation; the table reports throughput ratios, so the targets there are
their inverses (1.0, 0.83, 0.83, 0.77). Whether hiredis is installed is recorded: it changes the
Redis figures. Run from the repository root: `python bench/cache.py [--quick]`.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import cachetools
import redis
from _harness import (
    DEFAULT_REPETITIONS,
    Comparison,
    connect_raw,
    load_average,
    machine_details,
    ratio_table,
    server_version,
    spread_note,
    time_side_by_side,
    write_section,
)

from adapters.caching.assembly import CacheSettings, build_cache_space
from adapters.redis.client import RedisSettings, create_redis_client
from adapters.sql import migrate
from adapters.sql.database import SqlDatabase
from tests.servers import start_postgres, start_redis

BENCH_NAME = Path(__file__).stem
TENANT = uuid.UUID("0190a000-0000-7000-8000-00000000be0c")
HOT_KEYS = 1_000
GETS = 200_000
BULK_CALLS = 300
BULK_SIZE = 100
PATTERN_KEYS = 200_000
VALUE = {"id": "0190a000-0000-7000-8000-000000000001", "status": "running", "attempts": 2, "workspace": 7}


def _keys(count: int, prefix: str = "job:") -> list[str]:
    return [f"{prefix}{index}" for index in range(count)]


def memory_hit(repetitions: int) -> Comparison:
    space = build_cache_space(CacheSettings(tiers=("memory",), memory_max_entries=10_000))
    cache = space.for_tenant(TENANT)
    ttl_cache: cachetools.TTLCache[str, object] = cachetools.TTLCache(maxsize=10_000, ttl=3600)
    keys = _keys(HOT_KEYS)
    for key in keys:
        cache.set(key, VALUE, ttl=3600)
        ttl_cache[key] = VALUE
    reads = keys * (GETS // HOT_KEYS)
    assert all(cache.get(key) == ttl_cache.get(key) for key in keys)

    def portside() -> None:
        get = cache.get
        for key in reads:
            get(key)

    def baseline() -> None:
        get = ttl_cache.get
        for key in reads:
            get(key)

    timings = time_side_by_side({"baseline": baseline, "portside": portside}, repetitions=repetitions)
    return Comparison("memory get hit vs cachetools.TTLCache.get", len(reads), timings["baseline"],
                      timings["portside"], 1.0)


def redis_get_many(client: redis.Redis, repetitions: int) -> list[Comparison]:
    client.flushdb()
    space = build_cache_space(CacheSettings(tiers=("redis",)), redis_client=client)
    cache = space.for_tenant(TENANT)
    keys = _keys(BULK_SIZE)
    cache.set_many(dict.fromkeys(keys, VALUE), ttl=3600)
    # Keys as long as the cache's: a raw user namespacing by tenant sends the same bytes per key.
    raw_keys = [f"{cache.namespace}{key}:raw" for key in keys]
    text = json.dumps(VALUE)
    client.mset(dict.fromkeys(raw_keys, text))
    assert cache.get_many(keys) == {key: VALUE for key in keys}

    def portside() -> None:
        for _ in range(BULK_CALLS):
            cache.get_many(keys)

    def decoded() -> None:
        for _ in range(BULK_CALLS):
            [json.loads(raw) for raw in client.mget(raw_keys) if raw is not None]

    def bare() -> None:
        for _ in range(BULK_CALLS):
            client.mget(raw_keys)

    timings = time_side_by_side({"decoded": decoded, "bare": bare, "portside": portside}, repetitions=repetitions)
    space.close()
    return [
        Comparison("redis get_many(100) vs MGET + json.loads", BULK_CALLS, timings["decoded"], timings["portside"],
                   1 / 1.2),
        Comparison("redis get_many(100) vs bare MGET (bytes, no decoding)", BULK_CALLS, timings["bare"],
                   timings["portside"], None),
    ]


def redis_invalidate(client: redis.Redis, repetitions: int) -> Comparison:
    space = build_cache_space(CacheSettings(tiers=("redis",)), redis_client=client)
    cache = space.for_tenant(TENANT)
    half = PATTERN_KEYS // 2
    doomed = [f"{cache.namespace}ws:1:{index}" for index in range(half)]
    kept = [f"{cache.namespace}ws:2:{index}" for index in range(half)]

    def populate() -> None:
        client.flushdb()
        with client.pipeline(transaction=False) as pipeline:
            for start in range(0, PATTERN_KEYS, 10_000):
                for key in (doomed + kept)[start: start + 10_000]:
                    pipeline.set(key, "0:1", px=3_600_000)
                pipeline.execute()

    removed: list[int] = []

    def portside() -> None:
        removed.append(cache.invalidate_pattern("ws:1:*"))

    def baseline() -> None:
        cursor, count = 0, 0
        while True:
            cursor, batch = client.scan(cursor, match=f"{cache.namespace}ws:1:*", count=1000)
            if batch:
                count += client.unlink(*batch)
            if cursor == 0:
                break
        removed.append(count)

    timings = time_side_by_side({"baseline": baseline, "portside": portside}, repetitions=repetitions, warmup=0,
                                setup=populate)
    assert set(removed) == {half}, removed
    assert client.dbsize() == half
    space.close()
    return Comparison("invalidate_pattern 100,000 of 200,000 keys vs SCAN + UNLINK loop", half,
                      timings["baseline"], timings["portside"], 1 / 1.2)


def multi_level_hot(client: redis.Redis, database: SqlDatabase, repetitions: int) -> Comparison:
    client.flushdb()
    levels = build_cache_space(CacheSettings(tiers=("memory", "redis", "sql")), redis_client=client,
                               sql_database=database)
    alone = build_cache_space(CacheSettings(tiers=("memory",)))
    several, single = levels.for_tenant(TENANT), alone.for_tenant(TENANT)
    keys = _keys(HOT_KEYS)
    several.set_many(dict.fromkeys(keys, VALUE), ttl=3600)
    single.set_many(dict.fromkeys(keys, VALUE), ttl=3600)
    reads = keys * (GETS // HOT_KEYS)

    def run(cache_get: Callable[[str], object]) -> Callable[[], None]:
        def loop() -> None:
            for key in reads:
                cache_get(key)
        return loop

    timings = time_side_by_side({"baseline": run(single.get), "portside": run(several.get)}, repetitions=repetitions)
    levels.close()
    return Comparison("multi-level (memory+redis+postgres) hot get vs memory tier alone", len(reads),
                      timings["baseline"], timings["portside"], 1 / 1.3)


def notes(comparisons: Sequence[Comparison]) -> str:
    hiredis = importlib.util.find_spec("hiredis") is not None
    lines = ["", "Time per operation, Portside / baseline (the issue's goals):", ""]
    goals = {0: 1.0, 1: 1.2, 3: 1.2, 4: 1.3}
    for index, comparison in enumerate(comparisons):
        goal = goals.get(index)
        shown = "information" if goal is None else f"goal <= {goal:.1f}x"
        lines.append(f"- {comparison.operation}: {1 / comparison.ratio:.2f}x ({shown})")
    lines += [
        "",
        f"hiredis installed: {'yes' if hiredis else 'no'} (redis-py parses replies in Python without it; "
        "both sides use the same parser, so the Redis ratios hold, the absolute figures do not).",
        "The memory tier hands out the stored object, as cachetools does (no copy per hit); "
        "Portside's get also checks the key and prefixes the tenant's namespace.",
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    args = parser.parse_args(argv)
    repetitions = 3 if args.quick else DEFAULT_REPETITIONS
    load_before = load_average()
    with start_postgres() as postgres, start_redis() as redis_server:
        migrate.upgrade(postgres.admin_url, grant_to="portside_app")
        admin = connect_raw(postgres.dsn_admin)
        version = server_version(admin)
        admin.close()
        database = SqlDatabase.from_url(postgres.app_url)
        client = create_redis_client(RedisSettings(url=redis_server.url))
        comparisons = [memory_hit(repetitions), *redis_get_many(client, repetitions)]
        comparisons.append(redis_invalidate(client, min(repetitions, 3)))
        comparisons.append(multi_level_hot(client, database, repetitions))
        client.close()
        database.dispose()
    table = ratio_table(comparisons)
    print(table)
    body = f"{table}\n\n{spread_note(comparisons)}\n{notes(comparisons)}"
    print(notes(comparisons))
    write_section(BENCH_NAME, body, machine_details(version, load_before))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
