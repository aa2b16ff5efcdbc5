"""Builds a `CacheSpace` from settings: which tiers, in which order, with which caps, and what
joins them (the Redis lock for get_or_set across processes, the invalidation bus for other
processes' L1)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from adapters.caching.fallback import DEFAULT_JOURNAL_LIMIT, DEFAULT_PROBE_INTERVAL, FallbackTier
from adapters.caching.flight import KeyLock
from adapters.caching.memory import DEFAULT_MAX_ENTRIES, MemoryTier
from adapters.caching.multilevel import InvalidationBus, Level, MultiLevelTier
from adapters.caching.service import DEFAULT_ROOT, DEFAULT_TTL_SECONDS, LOCK_TTL_SECONDS, CacheSpace
from adapters.caching.tier import Now, Tier
from domain.shared.errors import ValidationError

if TYPE_CHECKING:
    from adapters.sql.database import SqlDatabase

TIER_KINDS = ("memory", "redis", "sql")
"""In spec 002's order: L1, L2, L3."""


@dataclass(frozen=True, slots=True)
class CacheSettings:
    tiers: tuple[str, ...] = ("memory",)
    root: str = DEFAULT_ROOT
    default_ttl: float = DEFAULT_TTL_SECONDS
    l1_ttl_cap: float | None = 300.0
    l2_ttl_cap: float | None = 86_400.0
    l3_ttl_cap: float | None = None
    memory_max_entries: int = DEFAULT_MAX_ENTRIES
    redis_fallback: bool = True
    """Serve from memory while Redis is unreachable (else `StorageUnavailable` reaches callers)."""
    probe_interval: float = DEFAULT_PROBE_INTERVAL
    journal_limit: int = DEFAULT_JOURNAL_LIMIT
    sql_purge_interval: float = 60.0
    lock_ttl: float = LOCK_TTL_SECONDS


def _checked_tiers(tiers: tuple[str, ...]) -> tuple[str, ...]:
    unknown = [tier for tier in tiers if tier not in TIER_KINDS]
    if unknown or not tiers or len(set(tiers)) != len(tiers):
        raise ValidationError("cache_tiers", f"expected distinct tiers among {', '.join(TIER_KINDS)}, got {tiers}")
    return tuple(sorted(tiers, key=TIER_KINDS.index))


def build_cache_space(settings: CacheSettings, *, redis_client: Any = None, sql_database: SqlDatabase | None = None,
                      now: Now = time.time, sql_on_loop: Callable[[], SqlDatabase] | None = None) -> CacheSpace:
    """The tiers `settings` name. `redis_client` may be a `CooperativeRedis` and `sql_on_loop` the
    async face's database: the same space then serves the async face without blocking its loop."""
    kinds = _checked_tiers(settings.tiers)
    caps = {"memory": settings.l1_ttl_cap, "redis": settings.l2_ttl_cap, "sql": settings.l3_ttl_cap}
    levels: list[Level] = []
    lock: KeyLock | None = None
    bus: InvalidationBus | None = None
    for kind in kinds:
        tier: Tier
        if kind == "memory":
            tier = MemoryTier(settings.memory_max_entries, now)
        elif kind == "redis":
            tier, lock, bus = _redis_tier(settings, redis_client, now, broadcast="memory" in kinds)
        else:
            from adapters.sql.cache import SqlTier

            if sql_database is None:
                raise ValidationError("cache_tiers", "the sql tier needs a SQL database (PORTSIDE_DATABASE_URL)")
            tier = SqlTier(sql_database, now, settings.sql_purge_interval, on_loop=sql_on_loop)
        levels.append(Level(tier, caps[kind]))
    top: Tier = levels[0].tier if len(levels) == 1 else MultiLevelTier(levels, bus=bus, now=now)
    return CacheSpace(top, root=settings.root, default_ttl=settings.default_ttl, now=now, lock=lock,
                      bus=bus, lock_ttl=settings.lock_ttl)


def _redis_tier(settings: CacheSettings, client: Any, now: Now, *, broadcast: bool
                ) -> tuple[Tier, KeyLock, InvalidationBus | None]:
    """The Redis tier (behind its memory fallback unless turned off), the lock `get_or_set` takes
    across processes, and the bus to other processes' L1 when there is an L1."""
    from adapters.redis.cache import RedisTier
    from adapters.redis.invalidation import RedisInvalidationBus
    from adapters.redis.lock import RedisKeyLock

    if client is None:
        raise ValidationError("cache_tiers", "the redis tier needs PORTSIDE_REDIS_URL")
    redis_tier = RedisTier(client)
    tier: Tier = redis_tier
    usable: Callable[[], bool] = lambda: True  # noqa: E731
    if settings.redis_fallback:
        fallback = FallbackTier(redis_tier, MemoryTier(settings.memory_max_entries, now), root=settings.root,
                                now=now, probe_interval=settings.probe_interval,
                                journal_limit=settings.journal_limit, ping=redis_tier.ping)
        tier = fallback
        usable = lambda: not fallback.degraded  # noqa: E731 - no connection attempt per call in an outage
    lock = RedisKeyLock(client, prefix=f"{settings.root}-lock:", usable=usable)
    bus = RedisInvalidationBus(client, f"{settings.root}:invalidations", usable=usable) if broadcast else None
    return tier, lock, bus
