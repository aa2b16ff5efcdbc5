"""Where the current time comes from, so tests control it."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol, runtime_checkable


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...


@runtime_checkable
class AdjustableClock(Clock, Protocol):
    """A clock that can be moved forward: tests' manual clocks and the demo's clock."""

    def advance(self, delta: timedelta) -> datetime: ...
