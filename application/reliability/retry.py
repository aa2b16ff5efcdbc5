"""Optimistic concurrency at the use-case level: a unit of work that lost a race is run again."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from domain.shared.errors import ConcurrencyConflict, Conflict

T = TypeVar("T")

ATTEMPTS = 8


def retrying(work: Callable[[], T], attempts: int = ATTEMPTS) -> T:
    """Run `work` (which opens its own unit of work) until it does not lose a race.

    `ConcurrencyConflict` (a stale version) and `Conflict` (a key another transaction took
    meanwhile) both mean the state moved under us; re-reading it settles the outcome.
    """
    for attempt in range(attempts):
        try:
            return work()
        except (ConcurrencyConflict, Conflict):
            if attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")
