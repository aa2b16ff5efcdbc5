"""Counting calls per fixed one-minute window (vendor rate limits)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from datetime import datetime


def minute_window(at: datetime) -> datetime:
    """The start of the minute `at` falls in."""
    return at.replace(second=0, microsecond=0)


class RateCounter(ABC):
    """Shared by every process of a deployment (Redis or the database), so limits hold across them.

    Counting is atomic: N concurrent `hit`s of one key and window return N distinct counts.
    """

    @abstractmethod
    def hit(self, key: str, window: datetime) -> int:
        """Count one call in `window` (a minute start) and return the count including it."""

    @abstractmethod
    def count(self, key: str, window: datetime) -> int:
        """Calls counted in `window` so far."""
