"""The protocol each cache tier implements once, on full (namespaced) keys.

A tier stores `Entry`s: the decoded value, its JSON text and its absolute expiry (seconds since
the epoch). Carrying all three lets a read from a slower tier be promoted into a faster one with
its remaining time to live and without encoding the value again.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from domain.caching.stats import TierStats
from ports.health import HealthReport

Now = Callable[[], float]
"""Seconds since the epoch: `time.time`, or a manual clock's in tests."""


class Entry:
    __slots__ = ("expires_at", "final", "text", "value")

    def __init__(self, value: Any, text: str | bytes, expires_at: float, final: float | None = None) -> None:
        self.value = value
        self.text = text
        """The JSON text; bytes when it came from Redis (decoding it to str would only cost time)."""
        self.expires_at = expires_at
        """When this tier's copy expires (capped in a multi-level cache)."""
        self.final = expires_at if final is None else final
        """When the value itself expires (its full TTL): what early recompute and promotion use."""

    def __repr__(self) -> str:
        return f"Entry({self.text[:40]!r}, expires_at={self.expires_at:.3f}, final={self.final:.3f})"


class Tier(ABC):
    level: str = "l1"
    """Where the tier sits in spec 002's hierarchy: `l1` memory, `l2` Redis, `l3` SQL."""

    @abstractmethod
    def get(self, key: str) -> Entry | None: ...

    @abstractmethod
    def get_many(self, keys: Sequence[str]) -> dict[str, Entry]: ...

    @abstractmethod
    def set_many(self, entries: Mapping[str, Entry]) -> None: ...

    def set(self, key: str, entry: Entry) -> None:
        self.set_many({key: entry})

    def split_get(self) -> tuple[Callable[[str], Entry | None], Callable[[str], Entry | None] | None]:
        """`get` as (the first lookup, the rest after it missed; None: nothing after it). A composite
        tier answers its fastest tier's `get` first, so a hit costs that tier's call alone."""
        return self.get, None

    @abstractmethod
    def delete(self, keys: Sequence[str]) -> int:
        """How many of the keys were live."""

    @abstractmethod
    def keys(self, pattern: str) -> list[str]:
        """Live full keys matching the Redis glob `pattern` (a full-key pattern)."""

    @abstractmethod
    def delete_matching(self, pattern: str) -> int: ...

    @abstractmethod
    def increment(self, key: str, by: int, expires_at: float) -> int:
        """Atomic; a missing key starts from 0 and expires at `expires_at`; an existing one keeps
        its expiry. `ValidationError("key")` when the key holds something other than an integer."""

    @abstractmethod
    def expire(self, key: str, expires_at: float) -> bool: ...

    def exists(self, key: str) -> bool:
        return self.get(key) is not None

    def peek(self, key: str) -> Entry | None:
        """The live entry, not counted as a read (checks that are not the caller's reads)."""
        return self.get(key)

    @abstractmethod
    def counts(self) -> tuple[int, int]:
        """(hits, misses) of reads since the tier was made."""

    @abstractmethod
    def size(self) -> int: ...

    def memory_bytes(self) -> int:
        return 0

    @abstractmethod
    def health(self) -> HealthReport: ...

    def describe(self) -> list[TierStats]:
        """This tier's line of `get_stats` (a composite answers one line per tier it holds)."""
        hits, misses = self.counts()
        return [TierStats(self.level, hits, misses, 0, self.size(), self.memory_bytes())]

    def close(self) -> None:  # noqa: B027 - most tiers hold nothing to release
        """Release what the tier holds (connections, threads)."""


class ReadCounts:
    """Hit and miss counters for tiers whose reads do I/O anyway (a lock costs nothing there)."""

    __slots__ = ("_lock", "hits", "misses")

    def __init__(self) -> None:
        self.hits = 0
        self.misses = 0
        self._lock = threading.Lock()

    def record(self, hits: int, misses: int) -> None:
        with self._lock:  # `+=` on an attribute is not atomic across threads
            self.hits += hits
            self.misses += misses
