"""How long a failed job waits before its next attempt: exponential, capped, with jitter.

Jitter spreads the retries of jobs that failed together (a dependency down for everyone) so they do
not all come back at the same instant. "Equal jitter": half the delay is fixed, half is random, so
a retry never comes back sooner than half its exponential delay.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta


@dataclass(frozen=True, slots=True)
class Backoff:
    base: timedelta = timedelta(seconds=1)
    cap: timedelta = timedelta(hours=1)
    random: Callable[[], float] = field(default=random.random, compare=False)

    def delay(self, retry_count: int) -> timedelta:
        """The wait before retry number `retry_count + 1` (retry_count retries already made)."""
        exponential = min(self.cap.total_seconds(), self.base.total_seconds() * 2 ** min(retry_count, 62))
        return timedelta(seconds=exponential / 2 + self.random() * exponential / 2)


NO_WAIT = Backoff(base=timedelta(0), cap=timedelta(0))
