"""Spec 002's multi-level cache: L1 memory, L2 Redis, L3 SQL, any prefix of them.

- Reads go L1 -> L2 -> L3; a hit in a slower tier is promoted into the faster ones with its
  remaining time to live, capped by each tier's cap (never a fresh TTL: a promoted copy never
  outlives the original).
- Writes go to every tier, slowest first, each with `min(ttl, cap)` (5 minutes, 24 hours, full by
  default; configurable).
- Deletes and invalidations reach every tier, and the L1 of every other process through the
  invalidation bus (Redis pub/sub). So do overwrites: another process must not keep serving the
  old value from its L1 after a write-through.
- Counters live in the slowest tier (the one that holds entries longest), their copies in the
  faster tiers dropped.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from adapters.caching.tier import Entry, Now, Tier
from domain.caching.glob import glob_matcher
from domain.caching.stats import TierStats
from domain.shared.errors import StorageUnavailable, ValidationError
from ports.health import HealthReport

log = logging.getLogger("portside.cache")


@dataclass(frozen=True, slots=True)
class Invalidation:
    """What another process dropped: keys, a pattern, or everything (its subscription was lost,
    so messages may have been missed)."""

    keys: tuple[str, ...] = ()
    pattern: str | None = None
    everything: bool = False

    def matcher(self) -> Callable[[str], bool]:
        if self.everything:
            return lambda key: True
        if self.pattern is not None:
            return glob_matcher(self.pattern)
        wanted = frozenset(self.keys)
        return wanted.__contains__


class InvalidationBus(Protocol):
    def publish(self, invalidation: Invalidation) -> None: ...

    def subscribe(self, handler: Callable[[Invalidation], None]) -> None: ...

    def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class Level:
    tier: Tier
    cap_seconds: float | None
    """The longest an entry lives in this tier (None: the entry's full TTL)."""


class MultiLevelTier(Tier):
    def __init__(self, levels: Sequence[Level], *, bus: InvalidationBus | None = None, now: Now = time.time) -> None:
        if not levels:
            raise ValidationError("levels", "a multi-level cache needs at least one tier")
        self.levels = tuple(levels)
        self.level = self.levels[0].tier.level
        self._bus = bus
        self._now = now
        self._promotions = [0] * len(self.levels)
        self._first_get = self.levels[0].tier.get
        self._single = len(self.levels) == 1
        self._lock = threading.Lock()
        if bus is not None:
            bus.subscribe(self._drop_local)

    # -- reads ------------------------------------------------------------------------------
    def get(self, key: str) -> Entry | None:
        first = self._first_get(key)
        if first is not None or self._single:
            return first  # the hot path: one L1 lookup
        return self._get_below(key)

    def split_get(self) -> tuple[Callable[[str], Entry | None], Callable[[str], Entry | None] | None]:
        return self._first_get, None if self._single else self._get_below

    def _get_below(self, key: str) -> Entry | None:
        """The slower tiers' copy, promoted into the faster ones: L1 missed."""
        for depth in range(1, len(self.levels)):
            entry = self.levels[depth].tier.get(key)
            if entry is not None:
                self._promote({key: entry}, depth)
                return entry
        return None

    def get_many(self, keys: Sequence[str]) -> dict[str, Entry]:
        found: dict[str, Entry] = {}
        wanted = list(dict.fromkeys(keys))
        for depth, level in enumerate(self.levels):
            if not wanted:
                break
            hits = level.tier.get_many(wanted)
            if hits and depth:
                self._promote(hits, depth)
            found.update(hits)
            wanted = [key for key in wanted if key not in hits]
        return found

    def _promote(self, entries: Mapping[str, Entry], depth: int) -> None:
        now = self._now()
        for index in range(depth):
            level = self.levels[index]
            level.tier.set_many({key: _capped(entry, level.cap_seconds, now) for key, entry in entries.items()})
            with self._lock:
                self._promotions[index] += len(entries)

    def peek(self, key: str) -> Entry | None:
        # Every tier: the value another process stored is in the shared tiers, not in our L1.
        for level in self.levels:
            entry = level.tier.peek(key)
            if entry is not None:
                return entry
        return None

    def exists(self, key: str) -> bool:
        return any(level.tier.exists(key) for level in self.levels)

    def keys(self, pattern: str) -> list[str]:
        found: set[str] = set()
        for level in self.levels:
            found.update(level.tier.keys(pattern))
        return sorted(found)

    # -- writes -----------------------------------------------------------------------------
    def set_many(self, entries: Mapping[str, Entry]) -> None:
        now = self._now()
        for level in reversed(self.levels):
            level.tier.set_many({key: _capped(entry, level.cap_seconds, now) for key, entry in entries.items()})
        self._broadcast(Invalidation(keys=tuple(entries)))

    def delete(self, keys: Sequence[str]) -> int:
        removed = max(level.tier.delete(keys) for level in reversed(self.levels))
        self._broadcast(Invalidation(keys=tuple(keys)))
        return removed

    def delete_matching(self, pattern: str) -> int:
        # The count of the tier that held most of them (L3 when present: it keeps entries longest).
        removed = max(level.tier.delete_matching(pattern) for level in reversed(self.levels))
        self._broadcast(Invalidation(pattern=pattern))
        return removed

    def increment(self, key: str, by: int, expires_at: float) -> int:
        total = self.levels[-1].tier.increment(key, by, expires_at)
        for level in self.levels[:-1]:
            level.tier.delete([key])
        self._broadcast(Invalidation(keys=(key,)))
        return total

    def expire(self, key: str, expires_at: float) -> bool:
        now = self._now()
        changed = False
        for level in reversed(self.levels):
            capped = expires_at if level.cap_seconds is None else min(expires_at, now + level.cap_seconds)
            changed = level.tier.expire(key, capped) or changed
        self._broadcast(Invalidation(keys=(key,)))
        return changed

    # -- other processes ----------------------------------------------------------------------
    def _broadcast(self, invalidation: Invalidation) -> None:
        if self._bus is None:
            return
        try:
            self._bus.publish(invalidation)
        except StorageUnavailable as error:
            # Other processes lose their subscription too and clear their L1 when it is back;
            # until then their L1 copies live at most the L1 cap.
            log.debug("cache invalidation not broadcast: %s", error)

    def _drop_local(self, invalidation: Invalidation) -> None:
        """Another process dropped these: forget them in the tiers private to this process."""
        for level in self.levels:
            if level.tier.level != "l1":
                continue
            if invalidation.everything:
                level.tier.delete_matching("*")
            elif invalidation.pattern is not None:
                level.tier.delete_matching(invalidation.pattern)
            else:
                level.tier.delete(invalidation.keys)

    # -- reporting --------------------------------------------------------------------------
    def counts(self) -> tuple[int, int]:
        hits = sum(level.tier.counts()[0] for level in self.levels)
        return hits, self.levels[-1].tier.counts()[1]

    def size(self) -> int:
        return self.levels[0].tier.size()

    def memory_bytes(self) -> int:
        return sum(level.tier.memory_bytes() for level in self.levels)

    def describe(self) -> list[TierStats]:
        lines: list[TierStats] = []
        for index, level in enumerate(self.levels):
            for line in level.tier.describe():
                lines.append(TierStats(line.name, line.hits, line.misses, line.promotions + self._promotions[index],
                                       line.size, line.memory_bytes))
        return lines

    def health(self) -> HealthReport:
        reports = [level.tier.health() for level in self.levels]
        down = [report for report in reports if not report.reachable]
        detail = "; ".join(f"{report.backend}: {report.detail}" for report in reports)
        return HealthReport("cache:multi-level", "+".join(r.backend for r in reports), not down, detail)

    def healths(self) -> list[HealthReport]:
        return [level.tier.health() for level in self.levels]

    def close(self) -> None:
        if self._bus is not None:
            self._bus.close()
        for level in self.levels:
            level.tier.close()


def _capped(entry: Entry, cap_seconds: float | None, now: float) -> Entry:
    if cap_seconds is None or entry.final <= now + cap_seconds:
        return Entry(entry.value, entry.text, entry.final) if entry.expires_at != entry.final else entry
    return Entry(entry.value, entry.text, now + cap_seconds, entry.final)
