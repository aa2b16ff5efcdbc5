"""Optimistic concurrency at the use-case level: a unit of work that lost a race is run again."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TypeVar

from domain.shared.errors import ConcurrencyConflict, Conflict

T = TypeVar("T")

ATTEMPTS = 20
BASE_DELAY_SECONDS = 0.002
MAX_DELAY_SECONDS = 0.2


def retrying(work: Callable[[], T], attempts: int = ATTEMPTS,
             lost: tuple[type[Exception], ...] = (ConcurrencyConflict, Conflict)) -> T:
    """Run `work` (which opens its own unit of work) until it does not lose a race.

    `ConcurrencyConflict` (a stale version) and `Conflict` (a key another transaction took
    meanwhile) both mean the state moved under us; re-reading it settles the outcome (`lost` narrows
    what counts as a lost race). Many writers of one record can lose several times in a row, so
    losers back off with jitter before the next try.
    """
    for attempt in range(attempts):
        try:
            return work()
        except lost:
            if attempt == attempts - 1:
                raise
            ceiling = min(MAX_DELAY_SECONDS, BASE_DELAY_SECONDS * 2**attempt)
            time.sleep(random.uniform(0, ceiling))  # jitter spreads the retries of many losers
    raise AssertionError("unreachable")
