"""How sync port code runs for a task: one `contextvars.Context` per task, three ways to drive it.

The sync units of work record the transaction a thread or task began in a context variable
(`adapters/transactions.py`). A greenlet, an executor thread and the task itself each have their
own context, so calls made on behalf of a task would each see a different one and never join.
Instead, while a task has an async unit of work open, every sync call it makes runs inside one
Context of its own (its *session*), whichever way the call is driven: nested blocks and units of
work of other contexts opened in that task find the transaction there and join it, exactly as sync
blocks do in one thread. Outside any block, a call (an awaited use case) gets a fresh copy.

- `GreenletRunner` (SQL on an async driver): the sync call runs in a greenlet spawned by SQLAlchemy's
  `greenlet_spawn`, the mechanism `AsyncConnection.run_sync` uses: each driver round trip suspends
  the greenlet and awaits the async driver on the loop. Real async I/O, the sync adapter unchanged.
- `DirectRunner` (memory): no I/O to wait for, so the call runs on the loop as it is.
- `ThreadLaneRunner` (BigQuery, whose client is sync): calls go to a bounded set of single-thread
  executors, never on the loop. A session keeps one lane for its life, so every call of one unit of
  work runs on one thread, which is what the sync unit of work's owner check expects.
"""

from __future__ import annotations

import asyncio
import contextvars
import itertools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import partial
from typing import Any, ParamSpec, TypeVar

from ports.async_unit_of_work import SyncRunner

P = ParamSpec("P")
R = TypeVar("R")


@dataclass(eq=False, slots=True)
class TaskSession:
    """The sync calls' context of one task while it has async units of work open."""

    task: asyncio.Task[Any] | None
    context: contextvars.Context
    blocks: int = 0
    """Async blocks open in the task (any unit of work, any context): the session ends at zero."""
    lanes: dict[int, ThreadPoolExecutor] = field(default_factory=dict)
    """The lane each `ThreadLaneRunner` (by id) gave this session."""


_SESSION: ContextVar[TaskSession | None] = ContextVar("portside_async_session", default=None)


def current_session() -> TaskSession | None:
    """The running task's open session. A task created inside a block inherits the variable but is
    another task: it gets no session (and so its own transaction), never its parent's."""
    session = _SESSION.get()
    if session is not None and session.blocks > 0 and session.task is asyncio.current_task():
        return session
    return None


def open_session() -> TaskSession:
    """Called as an async block begins: the task's session, begun if it has none."""
    session = current_session()
    if session is None:
        session = TaskSession(asyncio.current_task(), contextvars.copy_context())
        _SESSION.set(session)
    session.blocks += 1
    return session


def close_session(session: TaskSession) -> None:
    """Called as an async block ends, however it ends."""
    session.blocks -= 1
    if session.blocks == 0 and _SESSION.get() is session:
        _SESSION.set(None)


def _context() -> contextvars.Context:
    session = current_session()
    return session.context if session is not None else contextvars.copy_context()


class DirectRunner(SyncRunner):
    """The memory backend: nothing waits on I/O, so the call runs on the loop itself."""

    async def call(self, function: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        return _context().run(function, *args, **kwargs)


async def _finished(future: asyncio.Future[Any]) -> asyncio.CancelledError | None:
    """Wait until `future` is done, even through cancellations of the waiting task (`asyncio.wait`
    leaves the future running when its waiter is cancelled); the first such cancellation is handed
    back, for the caller to raise once it is done. The future's own outcome is left in it."""
    deferred: asyncio.CancelledError | None = None
    while not future.done():
        try:
            await asyncio.wait({future})
        except asyncio.CancelledError as cancelled:
            deferred = deferred or cancelled
    return deferred


class GreenletRunner(SyncRunner):
    """SQL on an `AsyncEngine`'s `sync_engine`: the call runs in a greenlet whose driver round trips
    are awaited on the loop (SQLAlchemy's `greenlet_spawn`, as `AsyncConnection.run_sync`)."""

    def __init__(self) -> None:
        # The async extra's greenlet and SQLAlchemy's bridge, imported with the runner.
        from greenlet import getcurrent, greenlet
        from sqlalchemy.util import greenlet_spawn

        class ToTheEnd(greenlet):  # type: ignore[misc]  # greenlet ships no stubs for subclassing
            """A greenlet SQLAlchemy's `await_` accepts as its own (the provider marker), spawned
            by `call_to_the_end` below rather than by `greenlet_spawn`."""

            __sqlalchemy_greenlet_provider__ = True

            def __init__(self, run: Callable[[], Any], driver: Any) -> None:
                super().__init__(run, driver)
                self.gr_context = driver.gr_context

        self._spawn = greenlet_spawn
        self._greenlet = ToTheEnd
        self._current = getcurrent

    async def call(self, function: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        result: R = await self._spawn(_context().run, partial(function, *args, **kwargs))
        return result

    async def call_to_the_end(self, function: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        # `greenlet_spawn`'s loop, with each driver round trip awaited through a shield: a
        # cancellation never lands inside the greenlet, the commit or rollback runs to its end.
        context = _context()
        spawned = self._greenlet(partial(context.run, function, *args, **kwargs), self._current())
        deferred: asyncio.CancelledError | None = None
        step = spawned.switch()
        while not spawned.dead:
            round_trip = asyncio.ensure_future(step)
            cancelled = await _finished(round_trip)  # awaited first: `or` would skip it once deferred
            deferred = deferred or cancelled
            try:
                value = round_trip.result()
            except BaseException as error:  # the driver's error goes back into the sync code, as await_ raises it
                step = spawned.throw(error)
            else:
                step = spawned.switch(value)
        if deferred is not None:
            raise deferred
        result: R = step
        return result


class ThreadLaneRunner(SyncRunner):
    """A sync client (BigQuery): calls run on `lanes` single-thread executors, at most that many at
    once; the loop only awaits them."""

    def __init__(self, lanes: int = 8, name: str = "portside-lane") -> None:
        if lanes < 1:
            raise ValueError("a ThreadLaneRunner needs one lane at least")
        self._lanes = [ThreadPoolExecutor(1, thread_name_prefix=f"{name}-{index}") for index in range(lanes)]
        self._next = itertools.cycle(self._lanes)

    def _lane(self, session: TaskSession | None) -> ThreadPoolExecutor:
        if session is None:
            return next(self._next)
        lane = session.lanes.get(id(self))
        if lane is None:
            lane = session.lanes[id(self)] = next(self._next)
        return lane

    async def call(self, function: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        session = current_session()
        context = session.context if session is not None else contextvars.copy_context()
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._lane(session), partial(context.run, function, *args, **kwargs))

    async def call_to_the_end(self, function: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        session = current_session()
        context = session.context if session is not None else contextvars.copy_context()
        future = asyncio.get_running_loop().run_in_executor(self._lane(session),
                                                            partial(context.run, function, *args, **kwargs))
        cancelled = await _finished(future)
        result: R = future.result()  # the call's own error first: it says what happened to the data
        if cancelled is not None:
            raise cancelled
        return result

    def close(self) -> None:
        for lane in self._lanes:
            lane.shutdown(wait=True)
