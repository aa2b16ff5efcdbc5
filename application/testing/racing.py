"""Racing callers for concurrency tests: every call starts together, and what any of them raised
comes back to the test thread."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import TypeVar

T = TypeVar("T")

JOIN_SECONDS = 120.0


def race(work: Callable[[T], object], arguments: Sequence[T]) -> list[BaseException]:
    """Call `work(argument)` for every argument, each in its own thread, released at once by a
    barrier; the errors they raised (empty when every call succeeded)."""
    barrier = threading.Barrier(len(arguments))
    errors: list[BaseException] = []

    def one(argument: T) -> None:
        try:
            barrier.wait(30)
            work(argument)
        except BaseException as error:  # handed to the test thread
            errors.append(error)

    threads = [threading.Thread(target=one, args=(argument,)) for argument in arguments]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(JOIN_SECONDS)
    return errors
