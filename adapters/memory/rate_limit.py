"""Rate counting in memory: one process only, for tests and single-process deployments."""

from __future__ import annotations

import threading
from datetime import datetime

from adapters.rate_limit import rate_counter_arguments
from ports.rate_limit import RateCounter


class MemoryRateCounter(RateCounter):
    """Thread-safe: the read and the increment of a count happen under one lock."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[tuple[str, datetime], int] = {}

    def hit(self, key: str, window: datetime) -> int:
        slot = rate_counter_arguments(key, window)
        with self._lock:
            count = self._counts.get(slot, 0) + 1
            self._counts[slot] = count
        return count

    def count(self, key: str, window: datetime) -> int:
        slot = rate_counter_arguments(key, window)
        with self._lock:
            return self._counts.get(slot, 0)
