"""The cache port (specs 002 and 004): one tenant's cache, and the provider that opens it.

Keys are relative to the namespace the cache was opened for (`provider.for_tenant(id)` or
`provider.system()`): a tenant's `get_keys("*")` lists its own keys only, and no pattern can reach
another tenant's. Values are JSON data or pydantic models (a model is stored as its JSON object:
pass `model=` to `get` to have it back as the model); never pickle. Every entry has a time to live:
`ttl=None` means the provider's default.

Values handed out by the memory tier are the stored objects themselves, as `cachetools` does:
treat what `get` returns as read-only (copying on every hit would cost more than the lookup).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar, overload

from pydantic import BaseModel

from domain.caching.stats import CacheStats
from ports.health import HealthReport

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")

Loader = Callable[[], T]
"""Computes a missing value (reads the database, calls a service)."""


class Cache(ABC):
    """Spec 004's CacheRepository operations plus `get_or_set`. Tier failures never reach the
    caller as a driver's exception: a cache with a fallback serves from memory; one without raises
    `StorageUnavailable`. Bad input raises `ValidationError` naming the argument."""

    @property
    @abstractmethod
    def namespace(self) -> str:
        """The prefix under which this cache's keys are stored."""

    @overload
    def get(self, key: str) -> Any | None: ...

    @overload
    def get(self, key: str, model: type[M]) -> M | None: ...

    @abstractmethod
    def get(self, key: str, model: type[M] | None = None) -> Any | None:
        """The value, or None when the key is missing or expired."""

    @abstractmethod
    def set(self, key: str, value: Any, ttl: float | None = None) -> None:
        """Store `value` for `ttl` seconds (the default TTL when None)."""

    @abstractmethod
    def delete(self, key: str) -> bool:
        """Remove the key from every tier; whether it was there."""

    @abstractmethod
    def delete_many(self, keys: Sequence[str]) -> int:
        """Remove the keys from every tier at once (one round trip per tier, one broadcast); how
        many were there."""

    @abstractmethod
    def get_many(self, keys: Sequence[str]) -> dict[str, Any]:
        """The keys that are present, with their values (missing ones are left out)."""

    @abstractmethod
    def set_many(self, values: Mapping[str, Any], ttl: float | None = None) -> None: ...

    @abstractmethod
    def invalidate_pattern(self, pattern: str) -> int:
        """Delete every key matching the Redis glob `pattern`; how many there were."""

    @abstractmethod
    def get_keys(self, pattern: str) -> list[str]:
        """The live keys matching the Redis glob `pattern`, sorted."""

    @abstractmethod
    def increment(self, key: str, by: int = 1, ttl: float | None = None) -> int:
        """Add `by` to the integer at `key` atomically and answer the new value; a missing key
        starts at 0 and lives `ttl` (the default when None); an existing key keeps its expiry."""

    @abstractmethod
    def expire(self, key: str, ttl: float) -> bool:
        """Give the key a new time to live from now; False when it is missing."""

    @abstractmethod
    def exists(self, key: str) -> bool: ...

    @abstractmethod
    def get_or_set(self, key: str, loader: Loader[T], ttl: float | None = None, *,
                   early_recompute: float | None = None) -> T:
        """The cached value, else `loader()` stored and answered. However many callers miss the
        same key at once, the loader runs once (one flight per process, a lock in Redis across
        processes); the others wait for its value. A loader answering None is not cached.

        `early_recompute`: seconds before expiry from which one caller recomputes the value while
        the others keep getting the current one, so a hot key never expires under load."""

    @abstractmethod
    def health(self) -> list[HealthReport]:
        """One report per tier."""

    @abstractmethod
    def get_stats(self) -> CacheStats: ...


class CacheProvider(ABC):
    """Opens namespaced caches over one set of tiers (shared statistics and connections)."""

    @abstractmethod
    def for_tenant(self, tenant: object) -> Cache: ...

    @abstractmethod
    def system(self) -> Cache:
        """Global entries (the processor catalog, vendors): the `g` namespace."""

    @abstractmethod
    def close(self) -> None:
        """Stop background work (the invalidation listener) and release connections."""
