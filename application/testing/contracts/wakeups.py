"""The waker contract: a notified queue wakes its waiters, in this process and (for the shared
wakers) in another one; an unnotified wait ends at its timeout; queues do not wake each other.

Bind it with a `wakers` fixture: a function returning two wakers that stand for two processes on one
channel (the local waker's two are the same object: it has no channel).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from ports.wakeups import Waker

WakerPair = Callable[[], tuple[Waker, Waker]]


def _waits(waker: Waker, queue: str, timeout: float, into: list[tuple[bool, float]]) -> threading.Thread:
    def wait() -> None:
        started = time.monotonic()
        into.append((waker.wait(queue, timeout), time.monotonic() - started))

    thread = threading.Thread(target=wait)
    thread.start()
    return thread


class WakerContract:
    def test_an_unnotified_wait_ends_at_its_timeout(self, wakers: WakerPair) -> None:
        first, _ = wakers()
        started = time.monotonic()
        assert first.wait("idle", 0.2) is False
        assert 0.15 <= time.monotonic() - started < 2

    def test_a_notification_wakes_the_other_process_waiter_at_once(self, wakers: WakerPair) -> None:
        first, second = wakers()
        time.sleep(0.3)  # the listeners are subscribed
        woken: list[tuple[bool, float]] = []
        thread = _waits(second, "exports", 10, woken)
        time.sleep(0.1)
        first.notify("exports")
        thread.join(10)
        assert woken and woken[0][0] is True and woken[0][1] < 5

    def test_queues_do_not_wake_each_other(self, wakers: WakerPair) -> None:
        first, second = wakers()
        time.sleep(0.3)
        woken: list[tuple[bool, float]] = []
        thread = _waits(second, "exports", 0.5, woken)
        first.notify("imports")
        thread.join(10)
        assert woken == [(False, woken[0][1])]
