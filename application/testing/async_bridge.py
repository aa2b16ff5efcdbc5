"""A sync face over the async face, so that the shipped contract suites run on the async units of work.

`BridgedFactory(async_factory, bridge)` is a sync `UnitOfWorkFactory` whose units of work and
repositories look sync to a caller: each call is sent to an event loop running in a background
thread and awaited there. Nothing is re-implemented on the way: what the contracts check is what
`async with` blocks and awaited repository methods do.

Each caller (a thread, or a task of a loop of the caller's own) is served by one task of its own on
the loop, for as long as the bridge lives: the async face keys ownership and joining on the task, as
the sync face keys them on the thread, so a caller's nested and cross-context blocks join one
transaction, and another thread using its unit of work gets `UnitOfWorkNotOwned`.

One loop for every caller (`SyncBridge(EventLoopThread())`) suits SQL, whose async engine keeps its
connections on the loop that opened them. The memory backend runs on the loop itself and its
unique-key waits block the thread they run in (as a lock would), so racing callers each get a loop
of their own (`SyncBridge()`), or the first waiter would hold up the loop of the one it waits for.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import inspect
import threading
from collections.abc import Awaitable, Callable, Coroutine
from contextlib import ExitStack
from types import TracebackType
from typing import Any, Self, TypeVar, cast

from domain.shared.scope import TenantScope
from ports.async_unit_of_work import (
    AsyncCache,
    AsyncCacheProvider,
    AsyncMetricsRepository,
    AsyncMetricsRepositoryFactory,
    AsyncRepository,
    AsyncTransaction,
    AsyncTransactionManager,
    AsyncUnitOfWork,
    AsyncUnitOfWorkFactory,
)
from ports.caching import Cache, CacheProvider
from ports.metrics import MetricsRepository, MetricsRepositoryFactory
from ports.transactions import Transaction, TransactionManager
from ports.unit_of_work import UnitOfWork, UnitOfWorkFactory

T = TypeVar("T")
R = TypeVar("R")
U = TypeVar("U", bound=UnitOfWork)


class EventLoopThread:
    """An event loop running forever in a daemon thread, until `close()`."""

    def __init__(self, name: str = "portside-bridge-loop") -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def submit(self, coroutine: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop)

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run `coroutine` on the loop and wait for its result here."""
        return self.submit(coroutine).result()

    def close(self) -> None:
        if self.loop.is_closed():
            return
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(30)
        self.loop.close()


_Call = tuple[Callable[[], Awaitable[Any]], "concurrent.futures.Future[Any]"]


class _Actor:
    """One task on a loop running one caller's calls in order: the async face sees one owner."""

    def __init__(self, loop: EventLoopThread) -> None:
        self._loop = loop.loop
        self._queue: asyncio.Queue[_Call | None] = asyncio.Queue()
        self._served = loop.submit(self._serve())

    async def _serve(self) -> None:
        while True:
            item = await self._queue.get()
            if item is None:
                return
            make, future = item
            if not future.set_running_or_notify_cancel():
                continue
            try:
                result = await make()
            except BaseException as error:  # handed to the caller, whatever it is
                future.set_exception(error)
            else:
                future.set_result(result)

    def call(self, make: Callable[[], Awaitable[T]]) -> T:
        future: concurrent.futures.Future[T] = concurrent.futures.Future()
        self._loop.call_soon_threadsafe(self._queue.put_nowait, (make, future))
        return future.result()

    def stop(self) -> None:
        if not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._queue.put_nowait, None)
            self._served.result(30)


def _caller() -> tuple[int, int]:
    try:
        task = asyncio.current_task()
    except RuntimeError:  # no running loop in this thread
        task = None
    return threading.get_ident(), id(task) if task is not None else 0


class SyncBridge:
    """Runs coroutines for sync callers, each caller on a task of its own (see the module's doc)."""

    def __init__(self, loop: EventLoopThread | None = None) -> None:
        """`loop`: every caller's task on it; None: each calling thread gets a loop of its own."""
        self._shared = loop
        self._loops: dict[int, EventLoopThread] = {}
        self._actors: dict[tuple[int, int], _Actor] = {}
        self._lock = threading.Lock()

    def call(self, make: Callable[[], Awaitable[T]]) -> T:
        """`await make()` on the caller's task, and its result (or its exception) here."""
        caller = _caller()
        with self._lock:
            actor = self._actors.get(caller)
            if actor is None:
                loop = self._shared
                if loop is None:
                    loop = self._loops.get(caller[0])
                    if loop is None:
                        loop = self._loops[caller[0]] = EventLoopThread(f"portside-bridge-{caller[0]}")
                actor = self._actors[caller] = _Actor(loop)
        return actor.call(make)

    def close(self) -> None:
        with self._lock:
            actors, self._actors = list(self._actors.values()), {}
            loops, self._loops = list(self._loops.values()), {}
        for actor in actors:
            actor.stop()
        for loop in loops:
            loop.close()


class BridgedRepository:
    """A repository of a bridged unit of work: each method call awaits the async one."""

    __slots__ = ("_bridge", "_repository")

    def __init__(self, repository: AsyncRepository, bridge: SyncBridge) -> None:
        self._repository = repository
        self._bridge = bridge

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        method = getattr(self._repository, name)
        if isinstance(method, AsyncRepository):  # a sub-repository (`uow.processors.purchased`)
            return BridgedRepository(method, self._bridge)
        if inspect.iscoroutine(method):  # a declared value (`uow.processors.catalog`), read when awaited
            value: Coroutine[Any, Any, Any] = method
            return self._bridge.call(lambda: value)

        def call(*args: Any, **kwargs: Any) -> Any:
            return self._bridge.call(lambda: method(*args, **kwargs))

        return call


class BridgedUnitOfWork(UnitOfWork):
    """An async unit of work driven from sync code: `with`, `commit()`, `uow.<repository>.<method>()`."""

    def __init__(self, uow: AsyncUnitOfWork[Any], bridge: SyncBridge) -> None:
        self.async_uow = uow
        self.scope = uow.scope
        self._bridge = bridge

    def __enter__(self) -> Self:
        self._bridge.call(self.async_uow.__aenter__)
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self._bridge.call(lambda: self.async_uow.__aexit__(exc_type, exc, traceback))

    def commit(self) -> None:
        self._bridge.call(self.async_uow.commit)

    def rollback(self) -> None:
        self._bridge.call(self.async_uow.rollback)

    @property
    def active(self) -> bool:
        return self.async_uow.active

    def after_commit(self, hook: Callable[[], None]) -> None:
        self._bridge.call(lambda: self.async_uow.after_commit(hook))

    def __getattr__(self, name: str) -> BridgedRepository:
        if name.startswith("_"):
            raise AttributeError(name)

        async def repository() -> AsyncRepository:  # checked by the caller's task: live, owned
            return self.async_uow.repository(name)

        return BridgedRepository(self._bridge.call(repository), self._bridge)


class BridgedFactory(UnitOfWorkFactory[Any]):
    """A sync factory over an async one (see the module's doc)."""

    def __init__(self, factory: AsyncUnitOfWorkFactory[Any], bridge: SyncBridge) -> None:
        self.async_factory = factory
        self._bridge = bridge

    def __call__(self, scope: TenantScope) -> BridgedUnitOfWork:
        return BridgedUnitOfWork(self.async_factory(scope), self._bridge)


class _BridgedTransaction(Transaction):
    def __init__(self, transaction: AsyncTransaction, bridge: SyncBridge) -> None:
        self.scope = transaction.scope
        self._transaction = transaction
        self._bridge = bridge

    def join(self, factory: UnitOfWorkFactory[U]) -> U:
        given: Any = factory.async_factory if isinstance(factory, BridgedFactory) else factory
        joined = self._bridge.call(lambda: self._transaction.join(given))
        # Typed as the factory's unit of work: it answers the same calls.
        return cast(U, BridgedUnitOfWork(joined, self._bridge))


class BridgedTransactionManager(TransactionManager):
    """A sync transaction manager over an async one: `fn` runs here, its joins on the caller's task."""

    def __init__(self, manager: AsyncTransactionManager, bridge: SyncBridge) -> None:
        self._manager = manager
        self._bridge = bridge

    def in_transaction(self, fn: Callable[[Transaction], R], tenant: object | None = None) -> R:
        block = self._manager.begin(tenant)
        with ExitStack() as stack:
            transaction = self._bridge.call(block.__aenter__)
            stack.push(lambda *exit_info: self._bridge.call(lambda: block.__aexit__(*exit_info)))
            return fn(_BridgedTransaction(transaction, self._bridge))
        raise AssertionError("unreachable: the block returns or raises")  # for type checkers


class BridgedCache:
    """An awaited cache (or any awaited port object: a metrics repository) driven from sync code:
    each method awaits the awaited object's on the caller's task; its plain attributes (`namespace`)
    as they are."""

    __slots__ = ("_bridge", "_cache")

    def __init__(self, cache: AsyncCache | AsyncMetricsRepository, bridge: SyncBridge) -> None:
        self._cache = cache
        self._bridge = bridge

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        member = getattr(self._cache, name)
        if not callable(member):
            return member

        def call(*args: Any, **kwargs: Any) -> Any:
            return self._bridge.call(lambda: member(*args, **kwargs))

        return call


class BridgedCacheProvider(CacheProvider):
    """A sync `CacheProvider` over an awaited one, for the cache contract on the async face."""

    def __init__(self, provider: AsyncCacheProvider, bridge: SyncBridge) -> None:
        self._provider = provider
        self._bridge = bridge

    def for_tenant(self, tenant: object) -> Cache:
        # Answers every `Cache` call through the bridge: typed as the port it stands for.
        return cast(Cache, BridgedCache(self._provider.for_tenant(tenant), self._bridge))

    def system(self) -> Cache:
        return cast(Cache, BridgedCache(self._provider.system(), self._bridge))

    def close(self) -> None:
        """The awaited provider's tiers belong to whoever made them: they close them."""


class BridgedMetricsFactory(MetricsRepositoryFactory):
    """A sync `MetricsRepositoryFactory` over an awaited one, for the metrics contract on the async face."""

    def __init__(self, factory: AsyncMetricsRepositoryFactory, bridge: SyncBridge) -> None:
        self._factory = factory
        self._bridge = bridge

    def for_tenant(self, tenant: object) -> MetricsRepository:
        # Answers every `MetricsRepository` call through the bridge: typed as the port it stands for.
        return cast(MetricsRepository, BridgedCache(self._factory.for_tenant(tenant), self._bridge))

    def system(self) -> MetricsRepository:
        return cast(MetricsRepository, BridgedCache(self._factory.system(), self._bridge))
