"""Wake-ups inside one process: the memory and SQLite backends' waker, and the part of the
others that wakes this process's own waiters at once."""

from __future__ import annotations

import threading

from ports.wakeups import Waker


class LocalWaker(Waker):
    """An event per queue."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._events: dict[str, threading.Event] = {}

    def _event(self, queue_name: str) -> threading.Event:
        with self._lock:
            return self._events.setdefault(queue_name, threading.Event())

    def notify(self, queue_name: str) -> None:
        self._event(queue_name).set()

    def wait(self, queue_name: str, timeout: float) -> bool:
        event = self._event(queue_name)
        woken = event.wait(timeout)
        event.clear()
        return woken
