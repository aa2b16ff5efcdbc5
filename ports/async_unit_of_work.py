"""The async face of the ports: the same units of work and repositories, awaited.

Nothing here is a second port to implement. An `AsyncUnitOfWork` wraps the context's sync unit of
work (`U`); its repositories are the sync ones, every method awaited (`await uow.jobs.create_job(...)`),
and every call runs the sync method through a `SyncRunner`, the piece that knows how a backend may be
driven from an event loop (greenlets over an async driver, a bounded thread pool, or directly). The
rules of each method stay written once, in the sync adapters.

`async with factory.for_tenant(t) as uow:` commits on a clean exit and rolls back on an exception
(a cancellation included); blocks nested in one task join the outer transaction, across contexts
too, exactly as sync `with` blocks do in one thread.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from types import TracebackType
from typing import Any, Generic, ParamSpec, Self, TypeVar

from domain.shared.scope import TenantScope
from ports.unit_of_work import UnitOfWork

P = ParamSpec("P")
R = TypeVar("R")
U = TypeVar("U", bound=UnitOfWork, covariant=True)


class SyncRunner(ABC):
    """Runs sync port code on behalf of the running task, never blocking its event loop on I/O.

    Every call a task makes, while it has an async unit of work open, runs in one context of its own
    (`contextvars`), where the sync units of work record their transactions: that is how nested and
    cross-context blocks of one task find and join the transaction its outer block began."""

    @abstractmethod
    async def call(self, function: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        """`function(*args, **kwargs)`, awaited."""

    async def call_to_the_end(self, function: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        """As `call`, but a cancellation arriving meanwhile waits for `function` to finish (and is
        raised then): for the end of a unit of work, whose commit or rollback must not stop halfway.
        A runner with nothing to wait for (the loop itself) needs no more than `call`."""
        return await self.call(function, *args, **kwargs)


class AsyncRepository(ABC):
    """A sync repository seen from async code: every method of it is awaited and returns what the
    sync method returns (or raises what it raises); a sub-repository its port declares as a
    property (`uow.processors.purchased`) is an `AsyncRepository` too."""

    @abstractmethod
    def __getattr__(self, name: str) -> Any: ...


class AsyncCache(ABC):
    """The `Cache` port (`ports/caching.py`) awaited: `await cache.get(key)`, `await cache.set(key,
    value, ttl=60)`, `await cache.get_or_set(key, loader)`..., each the sync method run by a runner."""

    @abstractmethod
    def __getattr__(self, name: str) -> Any: ...


class AsyncCacheProvider(ABC):
    """The `CacheProvider` port awaited: a tenant's cache, or the system's."""

    @abstractmethod
    def for_tenant(self, tenant: object) -> AsyncCache: ...

    @abstractmethod
    def system(self) -> AsyncCache: ...


class AsyncMetricsRepository(ABC):
    """The `MetricsRepository` port (`ports/metrics.py`) awaited: `await metrics.save(collector)`,
    `await metrics.query_time_series(name, range)`, `await metrics.query_latest(name)`,
    `await metrics.get_percentile(name, 95, range)`, each the sync method run by a runner."""

    @abstractmethod
    def __getattr__(self, name: str) -> Any: ...


class AsyncMetricsRepositoryFactory(ABC):
    """The `MetricsRepositoryFactory` port awaited: a tenant's metrics, or the platform's own."""

    @abstractmethod
    def for_tenant(self, tenant: object) -> AsyncMetricsRepository: ...

    @abstractmethod
    def system(self) -> AsyncMetricsRepository: ...


class AsyncUnitOfWork(ABC, Generic[U]):
    """A transaction bound to one tenant (or the system scope), owned by the task that entered it:
    another task using it while active gets `UnitOfWorkNotOwned`, a repository kept after its block
    `UnitOfWorkInactive`, as with the sync units of work."""

    scope: TenantScope

    @abstractmethod
    async def __aenter__(self) -> Self: ...

    @abstractmethod
    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        traceback: TracebackType | None) -> None: ...

    @abstractmethod
    async def commit(self) -> None:
        """Make the work so far durable (a nested block: release its savepoint) and go on."""

    @abstractmethod
    async def rollback(self) -> None:
        """Discard the work since the last commit (nested: since its savepoint) and go on."""

    @property
    @abstractmethod
    def active(self) -> bool:
        """Whether an `async with` block of this unit of work is open."""

    @abstractmethod
    async def after_commit(self, hook: Callable[[], None]) -> None:
        """As `UnitOfWork.after_commit`: `hook` (sync) runs once the outermost transaction committed."""

    @abstractmethod
    def repository(self, name: str) -> AsyncRepository:
        """The repository the sync unit of work calls `name` (`uow.jobs` is `uow.repository("jobs")`)."""

    def __getattr__(self, name: str) -> AsyncRepository:
        if name.startswith("_"):
            raise AttributeError(name)
        return self.repository(name)


class AsyncUnitOfWorkFactory(ABC, Generic[U]):
    """Opens async units of work of one context on one backend."""

    runner: SyncRunner
    """Where this context's sync code runs: awaitable use cases on the context use it too."""

    @abstractmethod
    def __call__(self, scope: TenantScope) -> AsyncUnitOfWork[U]: ...

    def for_tenant(self, tenant: object) -> AsyncUnitOfWork[U]:
        return self(TenantScope.of(tenant))

    def system(self) -> AsyncUnitOfWork[U]:
        return self(TenantScope.system())


class AsyncTransaction(ABC):
    """The transaction an async function runs in (`AsyncTransactionManager.in_transaction`)."""

    scope: TenantScope

    @abstractmethod
    async def join(self, factory: AsyncUnitOfWorkFactory[U]) -> AsyncUnitOfWork[U]:
        """An async unit of work of `factory`'s context inside this transaction, entered, open until
        the transaction ends (the same one for repeated calls with one factory)."""


AsyncTransactionBlock = AbstractAsyncContextManager[AsyncTransaction]
"""`async with manager.begin(tenant) as transaction:` commits on a clean exit, rolls back on an
exception; what `in_transaction` is made of, for callers that cannot hand over a function."""


class AsyncTransactionManager(ABC):
    """Spec 003's `InTransaction`, awaited: `fn` runs in one transaction every context joins."""

    @abstractmethod
    def begin(self, tenant: object | None = None) -> AsyncTransactionBlock:
        """A transaction for `tenant` (None: the system scope), begun when the block is entered."""

    async def in_transaction(self, fn: Callable[[AsyncTransaction], Awaitable[R]], tenant: object | None = None) -> R:
        """Run `fn` in a transaction for `tenant` (None: the system scope) and return what it returns."""
        async with self.begin(tenant) as transaction:
            return await fn(transaction)
