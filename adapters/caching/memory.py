"""The memory tier: a dict in LRU order under one lock, entries expiring on their own time.

Bounded by entry count: a write past the bound evicts the least recently used entries (reads move
an entry to the recent end). Expired entries are dropped when they are read, and swept out of the
oldest end on writes, so memory does not fill with dead entries nobody reads again. Patterns match
exactly as Redis's do (`domain/caching/glob.py`).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Mapping, Sequence

from adapters.caching.tier import Entry, Now, Tier
from domain.caching.glob import glob_matcher
from domain.caching.values import encode
from domain.shared.errors import ValidationError
from ports.health import HealthReport

DEFAULT_MAX_ENTRIES = 10_000


class MemoryTier(Tier):
    level = "l1"

    def __init__(self, max_entries: int = DEFAULT_MAX_ENTRIES, now: Now = time.time) -> None:
        if max_entries < 1:
            raise ValidationError("max_entries", f"must be at least 1, got {max_entries}")
        self.max_entries = max_entries
        self._now = now
        self._entries: OrderedDict[str, Entry] = OrderedDict()
        self._lock = threading.Lock()
        self._bytes = 0
        self.hits = 0
        self.misses = 0
        self.evictions = 0

    # -- reads ------------------------------------------------------------------------------
    def get(self, key: str) -> Entry | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                if entry.expires_at > self._now():
                    self._entries.move_to_end(key)
                    self.hits += 1
                    return entry
                self._remove(key)
            self.misses += 1
            return None

    def get_many(self, keys: Sequence[str]) -> dict[str, Entry]:
        found: dict[str, Entry] = {}
        with self._lock:
            now = self._now()
            for key in keys:
                entry = self._entries.get(key)
                if entry is not None and entry.expires_at <= now:
                    self._remove(key)
                    entry = None
                if entry is None:
                    self.misses += 1
                    continue
                self._entries.move_to_end(key)
                self.hits += 1
                found[key] = entry
        return found

    def peek(self, key: str) -> Entry | None:
        return self.remaining(key)

    def remaining(self, key: str) -> Entry | None:
        """The live entry without counting a read or moving it (for checks that are not reads)."""
        with self._lock:
            entry = self._entries.get(key)
            return entry if entry is not None and entry.expires_at > self._now() else None

    def exists(self, key: str) -> bool:
        return self.remaining(key) is not None

    # -- writes -----------------------------------------------------------------------------
    def set_many(self, entries: Mapping[str, Entry]) -> None:
        with self._lock:
            for key, entry in entries.items():
                self._put(key, entry)
            self._trim()

    def _put(self, key: str, entry: Entry) -> None:
        old = self._entries.pop(key, None)
        if old is not None:
            self._bytes -= _size(old)
        self._entries[key] = entry
        self._bytes += _size(entry)

    def _remove(self, key: str) -> Entry | None:
        old = self._entries.pop(key, None)
        if old is not None:
            self._bytes -= _size(old)
        return old

    def _trim(self) -> None:
        now = self._now()
        entries = self._entries
        # The oldest end first: expired entries there go before any live one is evicted.
        while entries:
            key, oldest = next(iter(entries.items()))
            if oldest.expires_at > now and len(entries) <= self.max_entries:
                break
            if oldest.expires_at > now:
                self.evictions += 1
            self._remove(key)

    def delete(self, keys: Sequence[str]) -> int:
        if not self._entries:  # every committed job write drops its entries, cached or not
            return 0
        removed = 0
        with self._lock:
            now = self._now()
            for key in keys:
                old = self._remove(key)
                if old is not None and old.expires_at > now:
                    removed += 1
        return removed

    def keys(self, pattern: str) -> list[str]:
        matches = glob_matcher(pattern)
        with self._lock:
            now = self._now()
            return [key for key, entry in self._entries.items() if entry.expires_at > now and matches(key)]

    def delete_matching(self, pattern: str) -> int:
        matches = glob_matcher(pattern)
        with self._lock:
            now = self._now()
            doomed = [key for key in self._entries if matches(key)]
            live = 0
            for key in doomed:
                old = self._remove(key)
                if old is not None and old.expires_at > now:
                    live += 1
            return live

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._bytes = 0

    def increment(self, key: str, by: int, expires_at: float) -> int:
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and entry.expires_at <= self._now():
                self._remove(key)
                entry = None
            current = 0 if entry is None else entry.value
            if isinstance(current, bool) or not isinstance(current, int):
                raise ValidationError("key", "holds a value that is not an integer")
            total = current + by
            text, value = encode(total)
            self._put(key, Entry(value, text, expires_at if entry is None else entry.expires_at))
            self._trim()
            return total

    def expire(self, key: str, expires_at: float) -> bool:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry.expires_at <= self._now():
                return False
            self._entries[key] = Entry(entry.value, entry.text, expires_at)
            return True

    # -- reporting --------------------------------------------------------------------------
    def counts(self) -> tuple[int, int]:
        return self.hits, self.misses

    def size(self) -> int:
        with self._lock:
            return len(self._entries)

    def memory_bytes(self) -> int:
        return self._bytes

    def health(self) -> HealthReport:
        return HealthReport("cache:memory", "in process", True, f"{self.size()} of {self.max_entries} entries")


def _size(entry: Entry) -> int:
    # Characters of the JSON text: bytes for ASCII, a lower bound otherwise; computing the UTF-8
    # length on every write would cost more than the estimate is worth.
    return len(entry.text)
