"""Redis configured but unreachable: the memory tier stands in, and nobody gets an error (spec 004).

While the primary (Redis) is down, every call is served by the standby (memory). A warning is
logged once per outage. At most every `probe_interval` seconds one caller pings the primary; when
it answers, what was deleted, invalidated or written during the outage is replayed to it before it
serves again: the keys deleted or written are deleted there, the patterns invalidated are
invalidated there, so Redis keeps no value the application replaced or removed meanwhile. The
standby is then emptied (its entries were never in Redis). A journal longer than `journal_limit`
is replaced by one invalidation of the whole namespace root: correct, only colder.

Counters incremented during an outage start again from the standby's count; they are the one
thing an outage visibly changes (documented in docs/caching.md).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TypeVar

from adapters.caching.memory import MemoryTier
from adapters.caching.tier import Entry, Now, Tier
from domain.caching.glob import escape_glob
from domain.caching.stats import TierStats
from domain.shared.errors import StorageUnavailable
from ports.health import HealthReport

log = logging.getLogger("portside.cache")
R = TypeVar("R")

DEFAULT_PROBE_INTERVAL = 0.5
DEFAULT_JOURNAL_LIMIT = 100_000


class _Journal:
    """What the primary missed: keys to delete and patterns to invalidate there."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.keys: set[str] = set()
        self.patterns: list[str] = []
        self.overflowed = False

    def add_keys(self, keys: Sequence[str]) -> None:
        if not self.overflowed:
            self.keys.update(keys)
            self._check()

    def add_pattern(self, pattern: str) -> None:
        if not self.overflowed:
            self.patterns.append(pattern)
            self._check()

    def _check(self) -> None:
        if len(self.keys) + len(self.patterns) > self.limit:
            self.overflowed = True
            self.keys.clear()
            self.patterns.clear()

    def __bool__(self) -> bool:
        return self.overflowed or bool(self.keys) or bool(self.patterns)


class FallbackTier(Tier):
    def __init__(self, primary: Tier, standby: MemoryTier, *, root: str, now: Now = time.time,
                 probe_interval: float = DEFAULT_PROBE_INTERVAL, journal_limit: int = DEFAULT_JOURNAL_LIMIT,
                 ping: Callable[[], None] | None = None) -> None:
        self.primary = primary
        self.standby = standby
        self.level = primary.level
        self._root = root
        self._now = now
        self._probe_interval = probe_interval
        self._journal_limit = journal_limit
        self._ping = ping if ping is not None else (lambda: primary.exists(f"{root}:probe"))
        self._lock = threading.Lock()
        self._probe_lock = threading.Lock()
        self._journal: _Journal | None = None
        """None while the primary serves; the outage's journal while the standby does."""
        self._probed_at = 0.0
        self.outages = 0

    @property
    def degraded(self) -> bool:
        return self._journal is not None

    # -- routing ----------------------------------------------------------------------------
    def _call(self, on_primary: Callable[[Tier], R], journal: Callable[[_Journal], None] | None = None) -> R:
        while True:
            if self._journal is None or self._recovered():
                try:
                    return on_primary(self.primary)
                except StorageUnavailable as error:
                    self._went_down(error)
            with self._lock:
                if self._journal is None:
                    continue  # the primary came back since the check above: it serves this call
                if journal is not None:
                    # Journaled before the standby is touched, under the lock the replay takes:
                    # an entry is either replayed or written while the primary already serves.
                    journal(self._journal)
            return on_primary(self.standby)

    def _went_down(self, error: StorageUnavailable) -> None:
        with self._lock:
            if self._journal is not None:
                return
            self._journal = _Journal(self._journal_limit)
            self._probed_at = self._now()
            self.outages += 1
        log.warning("cache: Redis unreachable (%s); serving from memory until it answers", error)

    def _recovered(self) -> bool:
        """Probe the primary if due; replay the journal and switch back when it answers."""
        if self._now() - self._probed_at < self._probe_interval or not self._probe_lock.acquire(blocking=False):
            return False
        try:
            self._probed_at = self._now()
            try:
                self._ping()
                self._replay()
            except StorageUnavailable:
                return False
            log.warning("cache: Redis answers again; the outage's deletes and invalidations were replayed")
            return True
        finally:
            self._probe_lock.release()

    def _replay(self) -> None:
        while True:
            with self._lock:
                journal = self._journal
                if journal is None:
                    return
                if not journal:
                    # Nothing left to replay: the primary serves again, the standby's copies go.
                    self._journal = None
                    self.standby.clear()
                    return
                self._journal = _Journal(self._journal_limit)  # calls meanwhile journal afresh
            if journal.overflowed:
                self.primary.delete_matching(escape_glob(self._root) + "*")
            else:
                self.primary.delete(sorted(journal.keys))
                for pattern in journal.patterns:
                    self.primary.delete_matching(pattern)

    # -- the tier ---------------------------------------------------------------------------
    def get(self, key: str) -> Entry | None:
        return self._call(lambda tier: tier.get(key))

    def get_many(self, keys: Sequence[str]) -> dict[str, Entry]:
        return self._call(lambda tier: tier.get_many(keys))

    def set_many(self, entries: Mapping[str, Entry]) -> None:
        self._call(lambda tier: tier.set_many(entries), lambda journal: journal.add_keys(list(entries)))

    def delete(self, keys: Sequence[str]) -> int:
        return self._call(lambda tier: tier.delete(keys), lambda journal: journal.add_keys(keys))

    def keys(self, pattern: str) -> list[str]:
        return self._call(lambda tier: tier.keys(pattern))

    def delete_matching(self, pattern: str) -> int:
        return self._call(lambda tier: tier.delete_matching(pattern), lambda journal: journal.add_pattern(pattern))

    def increment(self, key: str, by: int, expires_at: float) -> int:
        return self._call(lambda tier: tier.increment(key, by, expires_at), lambda journal: journal.add_keys([key]))

    def expire(self, key: str, expires_at: float) -> bool:
        return self._call(lambda tier: tier.expire(key, expires_at), lambda journal: journal.add_keys([key]))

    def exists(self, key: str) -> bool:
        return self._call(lambda tier: tier.exists(key))

    def peek(self, key: str) -> Entry | None:
        return self._call(lambda tier: tier.peek(key))

    # -- reporting --------------------------------------------------------------------------
    def counts(self) -> tuple[int, int]:
        primary, standby = self.primary.counts(), self.standby.counts()
        return primary[0] + standby[0], primary[1] + standby[1]

    def size(self) -> int:
        if self._journal is not None:
            return self.standby.size()
        try:
            return self.primary.size()
        except StorageUnavailable:
            return self.standby.size()

    def describe(self) -> list[TierStats]:
        hits, misses = self.counts()
        return [TierStats(self.level, hits, misses, 0, self.size(), self.standby.memory_bytes())]

    def health(self) -> HealthReport:
        report = self.primary.health()
        if report.reachable:
            return report
        return HealthReport(report.backend, report.target, False, f"{report.detail}; serving from memory")

    def close(self) -> None:
        self.primary.close()
