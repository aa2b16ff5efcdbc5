"""Single flight: however many threads miss one key at once, one computes and the others wait for
its answer (a `Signal`, which a greenlet under the async face waits on without blocking its
loop). An invalidation of the key while the value is computed marks the flight stale, so the
value (read before the change that invalidated it) is answered to its callers but never stored."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Protocol

from adapters.cooperative import Signal


class Flight:
    __slots__ = ("done", "error", "stale", "value")

    def __init__(self) -> None:
        self.done = Signal()
        self.value: Any = None
        self.error: BaseException | None = None
        self.stale = False


class SingleFlight:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._flights: dict[str, Flight] = {}

    def run(self, key: str, compute: Callable[[Flight], Any]) -> Any:
        """`compute(flight)` once per concurrent group of callers of `key`; every caller gets its
        value (or its exception)."""
        with self._lock:
            flight = self._flights.get(key)
            leader = flight is None
            if flight is None:
                flight = self._flights[key] = Flight()
        if not leader:
            flight.done.wait()
            if flight.error is not None:
                raise flight.error
            return flight.value
        try:
            flight.value = compute(flight)
        except BaseException as error:
            flight.error = error
            raise
        finally:
            with self._lock:
                del self._flights[key]
            flight.done.set()
        return flight.value

    def lead(self, key: str) -> Flight | None:
        """Become the flight of `key` unless one is running (early recompute: nobody waits)."""
        with self._lock:
            if key in self._flights:
                return None
            flight = self._flights[key] = Flight()
            return flight

    def land(self, key: str, flight: Flight) -> None:
        with self._lock:
            if self._flights.get(key) is flight:
                del self._flights[key]
        flight.done.set()

    def invalidate(self, matches: Callable[[str], bool]) -> None:
        if not self._flights:  # the common case, every write: nothing in flight, no lock to take
            return
        with self._lock:
            for key, flight in self._flights.items():
                if matches(key):
                    flight.stale = True


class KeyLock(Protocol):
    """A lock across processes (Redis's `SET NX PX`): `acquire` answers a token or None when held."""

    def acquire(self, name: str, ttl_seconds: float) -> str | None: ...

    def release(self, name: str, token: str) -> None: ...
