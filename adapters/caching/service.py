"""The `Cache` port over any tier: key and value checks, the tenant namespace, TTL defaults,
single flight and early recompute, written once for every tier and every composition of tiers."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from pydantic import BaseModel

from adapters.caching.flight import Flight, KeyLock, SingleFlight
from adapters.caching.multilevel import InvalidationBus, MultiLevelTier
from adapters.caching.tier import Entry, Now, Tier
from adapters.cooperative import AwaitableOnThread, pause, settled
from domain.caching.glob import escape_glob, glob_matcher
from domain.caching.keys import MAX_KEY_LENGTH, cache_key, cache_pattern, tenant_namespace, ttl_seconds
from domain.caching.stats import CacheStats
from domain.caching.values import encode
from domain.shared.checks import int64, sequence
from domain.shared.errors import StorageUnavailable, ValidationError
from domain.shared.ids import parse_id
from ports.caching import Cache, CacheProvider
from ports.health import HealthReport

log = logging.getLogger("portside.cache")
T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)

DEFAULT_ROOT = "portside:cache"
DEFAULT_TTL_SECONDS = 3600.0
LOCK_TTL_SECONDS = 10.0
"""How long another process's loader may hold a key's lock before the key is computed anyway."""
LOCK_POLL_SECONDS = 0.02


class CacheSpace(CacheProvider):
    """One set of tiers, its statistics and its flights; `for_tenant` opens namespaced views."""

    def __init__(self, tier: Tier, *, root: str = DEFAULT_ROOT, default_ttl: float = DEFAULT_TTL_SECONDS,
                 now: Now = time.time, lock: KeyLock | None = None, bus: InvalidationBus | None = None,
                 lock_ttl: float = LOCK_TTL_SECONDS) -> None:
        self.tier = tier
        self.root = root
        self.default_ttl = ttl_seconds(default_ttl, "default_ttl")
        self.now = now
        self.lock = lock
        self.lock_ttl = lock_ttl
        self.flights = SingleFlight()
        self._bus = bus
        if bus is not None:
            bus.subscribe(lambda invalidation: self.flights.invalidate(invalidation.matcher()))

    def for_tenant(self, tenant: object) -> TieredCache:
        return TieredCache(self, tenant_namespace(self.root, parse_id(tenant, "tenant")))

    def system(self) -> TieredCache:
        return TieredCache(self, tenant_namespace(self.root, None))

    def health(self) -> list[HealthReport]:
        tier = self.tier
        return tier.healths() if isinstance(tier, MultiLevelTier) else [tier.health()]

    def get_stats(self) -> CacheStats:
        lines = self.tier.describe()
        hits, misses = self.tier.counts()

        def total(level: str, attribute: str) -> int:
            return sum(getattr(line, attribute) for line in lines if line.name == level)

        return CacheStats(
            l1_size=total("l1", "size"), l2_size=total("l2", "size"), l3_count=total("l3", "size"),
            l1_memory_bytes=total("l1", "memory_bytes"), hits=hits, misses=misses,
            promotions=sum(line.promotions for line in lines), tiers=tuple(lines),
        )

    def close(self) -> None:
        self.tier.close()
        if self._bus is not None and not isinstance(self.tier, MultiLevelTier):
            self._bus.close()


class TieredCache(Cache):
    """One namespace of a `CacheSpace`."""

    __slots__ = ("_first_get", "_flights", "_get_after_miss", "_prefix", "_space", "_tier")

    def __init__(self, space: CacheSpace, namespace: str) -> None:
        self._space = space
        self._tier = space.tier
        # A hot key read from a multi-level cache costs the L1 lookup alone, as from L1 by itself.
        self._first_get, self._get_after_miss = space.tier.split_get()
        self._flights = space.flights
        self._prefix = namespace

    @property
    def namespace(self) -> str:
        return self._prefix

    # -- checks -----------------------------------------------------------------------------
    def _full(self, key: Any) -> str:
        # The common key passes the cheap test; anything else gets the full check and its error.
        if type(key) is str and 0 < len(key) <= MAX_KEY_LENGTH and key.isascii() and "\x00" not in key:
            return self._prefix + key
        return self._prefix + cache_key(key)

    def _entry(self, value: Any, ttl: float | None) -> Entry:
        seconds = self._space.default_ttl if ttl is None else ttl_seconds(ttl)
        text, decoded = encode(value)
        return Entry(decoded, text, self._space.now() + seconds)

    def _pattern(self, pattern: Any) -> str:
        return escape_glob(self._prefix) + cache_pattern(pattern)

    # -- reads ------------------------------------------------------------------------------
    def get(self, key: str, model: type[M] | None = None) -> Any | None:
        full = self._full(key)
        entry = self._first_get(full)
        if entry is None:
            below = self._get_after_miss
            entry = None if below is None else below(full)
            if entry is None:
                return None
        return entry.value if model is None else model.model_validate(entry.value)

    def get_many(self, keys: Sequence[str]) -> dict[str, Any]:
        fulls = [self._full(key) for key in sequence(keys, "keys")]
        found = self._tier.get_many(fulls)
        return {key: entry.value for key, full in zip(keys, fulls, strict=True)
                if (entry := found.get(full)) is not None}

    def get_keys(self, pattern: str) -> list[str]:
        start = len(self._prefix)
        return sorted(full[start:] for full in self._tier.keys(self._pattern(pattern)))

    def exists(self, key: str) -> bool:
        return self._tier.exists(self._full(key))

    # -- writes -----------------------------------------------------------------------------
    def set(self, key: str, value: Any, ttl: float | None = None) -> None:
        full = self._full(key)
        entry = self._entry(value, ttl)
        self._flights.invalidate(full.__eq__)
        self._tier.set(full, entry)

    def set_many(self, values: Mapping[str, Any], ttl: float | None = None) -> None:
        if not isinstance(values, Mapping):
            raise ValidationError("values", f"expected a mapping of keys to values, got {type(values).__name__}")
        entries = {self._full(key): self._entry(value, ttl) for key, value in values.items()}
        wanted = frozenset(entries)
        self._flights.invalidate(wanted.__contains__)
        self._tier.set_many(entries)

    def delete(self, key: str) -> bool:
        full = self._full(key)
        self._flights.invalidate(full.__eq__)
        return self._tier.delete([full]) > 0

    def delete_many(self, keys: Sequence[str]) -> int:
        if isinstance(keys, str | bytes) or not isinstance(keys, Sequence):
            raise ValidationError("keys", f"expected a list of keys, got {type(keys).__name__}")
        full = frozenset(self._full(key) for key in keys)
        if not full:
            return 0
        self._flights.invalidate(full.__contains__)
        return self._tier.delete(sorted(full))

    def invalidate_pattern(self, pattern: str) -> int:
        full = self._pattern(pattern)
        self._flights.invalidate(glob_matcher(full))
        return self._tier.delete_matching(full)

    def increment(self, key: str, by: int = 1, ttl: float | None = None) -> int:
        full = self._full(key)
        step = int64(by, "by")
        seconds = self._space.default_ttl if ttl is None else ttl_seconds(ttl)
        self._flights.invalidate(full.__eq__)
        return self._tier.increment(full, step, self._space.now() + seconds)

    def expire(self, key: str, ttl: float) -> bool:
        full = self._full(key)
        seconds = ttl_seconds(ttl)
        return self._tier.expire(full, self._space.now() + seconds)

    # -- get_or_set -------------------------------------------------------------------------
    def get_or_set(self, key: str, loader: Callable[[], T], ttl: float | None = None, *,
                   early_recompute: float | None = None) -> T:
        full = self._full(key)
        if not callable(loader):
            raise ValidationError("loader", f"expected a callable, got {type(loader).__name__}")
        seconds = self._space.default_ttl if ttl is None else ttl_seconds(ttl)
        early = None if early_recompute is None else ttl_seconds(early_recompute, "early_recompute")
        entry = self._tier.get(full)
        if entry is not None:
            if early is not None and entry.final - self._space.now() < early:
                recomputed: T = self._recompute_early(full, loader, seconds, entry)
                return recomputed
            cached: T = entry.value
            return cached
        loaded: T = self._flights.run(full, lambda flight: self._load(full, loader, seconds, flight))
        return loaded

    def _load(self, full: str, loader: Callable[[], Any], seconds: float, flight: Flight) -> Any:
        again = self._tier.peek(full)  # a flight that ended between our miss and our lead stored it
        if again is not None:
            return again.value
        lock, token = self._space.lock, None
        if lock is not None:
            token, waited = self._take_lock(lock, full)
            if waited is not None:
                return waited.value
        try:
            return self._store(full, _loaded(loader), seconds, flight)
        finally:
            if lock is not None and token is not None:
                self._release(lock, full, token)

    def _take_lock(self, lock: KeyLock, full: str) -> tuple[str | None, Entry | None]:
        """(our token, None), or (None, the value another process computed while we waited). A lock
        server that is down, or a holder that outlives the lock's TTL, lets us compute anyway."""
        deadline = time.monotonic() + self._space.lock_ttl
        while True:
            try:
                token = lock.acquire(full, self._space.lock_ttl)
            except StorageUnavailable:
                return None, None
            if token is not None:
                stored = self._tier.peek(full)  # the holder before us may have just finished
                if stored is not None:
                    self._release(lock, full, token)
                    return None, stored
                return token, None
            pause(LOCK_POLL_SECONDS)
            stored = self._tier.peek(full)
            if stored is not None:
                return None, stored
            if time.monotonic() > deadline:
                return None, None

    def _release(self, lock: KeyLock, full: str, token: str) -> None:
        with contextlib.suppress(StorageUnavailable):  # else the lock expires on its own
            lock.release(full, token)

    def _store(self, full: str, value: Any, seconds: float, flight: Flight) -> Any:
        if value is None:
            return None  # "no record": not cached, asked again next time
        text, decoded = encode(value)
        if flight.stale:
            return decoded  # invalidated while we loaded: answered, never stored
        self._tier.set(full, Entry(decoded, text, self._space.now() + seconds))
        if flight.stale:
            self._tier.delete([full])  # invalidated while we stored
        return decoded

    def _recompute_early(self, full: str, loader: Callable[[], Any], seconds: float, entry: Entry) -> Any:
        """One caller recomputes a value close to expiry; the others keep the current one."""
        flight = self._flights.lead(full)
        if flight is None:
            return entry.value
        lock, token = self._space.lock, None
        try:
            if lock is not None:
                try:
                    token = lock.acquire(full, self._space.lock_ttl)
                except StorageUnavailable:
                    token = ""
                if token is None:
                    return entry.value  # another process recomputes it
            try:
                value = self._store(full, _loaded(loader), seconds, flight)
            except Exception as error:  # the current value is still valid: serve it
                log.warning("cache: early recompute of %s failed: %s", full, error)
                return entry.value
            return entry.value if value is None else value
        finally:
            if lock is not None and token:
                self._release(lock, full, token)
            self._flights.land(full, flight)

    # -- reporting --------------------------------------------------------------------------
    def health(self) -> list[HealthReport]:
        return self._space.health()

    def get_stats(self) -> CacheStats:
        return self._space.get_stats()



def _loaded(loader: Callable[[], Any]) -> Any:
    """What `loader` returns; an `async def` loader awaited under the async face. The sync cache
    cannot await one: a typed error, nothing stored."""
    try:
        return settled(loader())
    except AwaitableOnThread:
        raise ValidationError("loader", "an async loader needs the awaited cache (container.async_cache())") from None
