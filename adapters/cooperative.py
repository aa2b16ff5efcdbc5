"""Waits that cooperate with the async face's greenlets.

Under the async face (`adapters/asynchronous/runners.py: GreenletRunner`) sync adapter code runs in
a greenlet on the event loop's own thread, and every I/O it does is awaited on the loop. A thread
wait there (`threading.Event.wait`, `time.sleep`) would stop the loop, and with it the very task it
waits for: a single-flight follower waiting on a leader that is itself suspended on a Redis reply
would never wake up. The helpers below wait the way the caller's thread can: a blocking wait on a
plain thread, an awaited one (suspending only the greenlet) under the loop.
"""

from __future__ import annotations

import asyncio
import inspect
import threading
import time
from collections.abc import Callable
from functools import partial
from typing import Any, ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")


def in_loop_greenlet() -> bool:
    """Whether the running code is a greenlet the async face drives from an event loop: it may
    await (`await_`), and must not block the thread."""
    try:
        from greenlet import getcurrent
    except ImportError:  # the async extra is not installed: nothing runs under a loop
        return False
    return bool(getattr(getcurrent(), "__sqlalchemy_greenlet_provider__", False))


def await_here(awaitable: Any) -> Any:
    """`awaitable`'s result, awaited on the loop from the greenlet (`in_loop_greenlet()` holds)."""
    from sqlalchemy.util import await_

    return await_(awaitable)


def pause(seconds: float) -> None:
    """`time.sleep`, or an awaited sleep under the loop."""
    if in_loop_greenlet():
        await_here(asyncio.sleep(seconds))
    else:
        time.sleep(seconds)


class AwaitableOnThread(Exception):  # noqa: N818 - a condition, named as the others are
    """An awaitable met on a plain thread, where nothing can await it."""


def off_loop(function: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
    """`function(*args, **kwargs)` for a blocking client (BigQuery's HTTP calls): called as it is on
    a plain thread; under the loop sent to the loop's default executor (a bounded thread pool) and
    awaited, so the loop runs on while the call waits."""
    if not in_loop_greenlet():
        return function(*args, **kwargs)
    loop = asyncio.get_running_loop()
    result: R = await_here(loop.run_in_executor(None, partial(function, *args, **kwargs)))
    return result


def settled(value: Any) -> Any:
    """`value`, or what it resolves to if it is awaitable and the caller runs under the loop: an
    `async def` loader handed to the awaited cache (`await cache.get_or_set(key, fetch)`) is awaited
    there. On a plain thread an awaitable raises `AwaitableOnThread` (a coroutine closed first, so
    Python does not warn that it was never awaited)."""
    if not inspect.isawaitable(value):
        return value
    if in_loop_greenlet():
        return await_here(value)
    if inspect.iscoroutine(value):
        value.close()
    raise AwaitableOnThread(type(value).__name__)


class Signal:
    """A one-shot `threading.Event` that greenlets under a loop can wait on too: `wait` suspends the
    greenlet on an asyncio future instead of blocking the loop's thread, and `set` (from any thread)
    resolves every such future on its own loop."""

    __slots__ = ("_event", "_waiters")

    def __init__(self) -> None:
        self._event = threading.Event()
        self._waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = []

    def is_set(self) -> bool:
        return self._event.is_set()

    def set(self) -> None:
        # Set first, then read the waiters: a waiter that registers after the copy sees the event set
        # (`wait` registers, then checks), so none is left waiting.
        self._event.set()
        for loop, future in self._waiters.copy():
            loop.call_soon_threadsafe(_resolve, future)

    def wait(self) -> None:
        if not in_loop_greenlet():
            self._event.wait()
            return
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        self._waiters.append((loop, future))
        if self._event.is_set():
            _resolve(future)
        await_here(future)


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():  # set twice (a late registration), or its waiter was cancelled
        future.set_result(None)
