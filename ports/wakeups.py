"""How idle workers learn that a queue has work: woken, not left polling.

A `Waker` is told after a job was committed (`notify`) and lets idle workers wait for that (`wait`).
Every waiter still wakes after `timeout` on its own, so a job queued without a notification (a
direct `uow.jobs.create_job`, a notification lost while Redis was away) waits at most that long.
"""

from __future__ import annotations

from abc import ABC, abstractmethod


class Waker(ABC):
    @abstractmethod
    def notify(self, queue_name: str) -> None:
        """A job of `queue_name` is ready (called after its transaction committed)."""

    @abstractmethod
    def wait(self, queue_name: str, timeout: float) -> bool:
        """Block until `queue_name` is notified or `timeout` seconds pass; whether it was notified."""

    def close(self) -> None:  # noqa: B027 - optional: most wakers hold nothing
        """Release what the waker holds (connections, threads)."""
