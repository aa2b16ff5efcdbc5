"""The async face of any context's units of work: the sync unit of work, each call run by a runner.

`AsyncContextFactory(units, runner)` wraps a sync factory (`tenancy_units(backend)`, `jobs_units(...)`)
and opens `AsyncContextUnitOfWork`s over the sync units it opens. Entering, leaving, committing and
every repository method are the sync ones, awaited through the runner (`adapters/asynchronous/runners.py`),
so joining, savepoints, tenant checks, error translation and after-commit hooks are the sync code's.

Ownership is checked here before anything runs: the task that entered a unit of work is its owner,
another task gets `UnitOfWorkNotOwned`, a repository kept after its block `UnitOfWorkInactive`.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable
from functools import cache
from types import TracebackType
from typing import Any, Self, TypeVar, get_type_hints

from adapters.asynchronous.runners import TaskSession, close_session, open_session
from domain.shared.errors import UnitOfWorkInactive, UnitOfWorkNotOwned
from domain.shared.scope import TenantScope
from ports.async_unit_of_work import AsyncRepository, AsyncUnitOfWork, AsyncUnitOfWorkFactory, SyncRunner
from ports.unit_of_work import UnitOfWork, UnitOfWorkFactory

U = TypeVar("U", bound=UnitOfWork)


def _read_attribute(unit: UnitOfWork, path: tuple[str, ...]) -> Any:
    target: Any = unit
    for name in path:
        target = getattr(target, name)
    return target


def _call_repository(unit: UnitOfWork, path: tuple[str, ...], method: str, args: tuple[Any, ...],
                     kwargs: dict[str, Any]) -> Any:
    # Looked up inside the runner: building a repository checks the unit of work's owner, which is
    # the runner's thread (a lane) or the task's greenlet, not necessarily the caller's frame.
    return getattr(_read_attribute(unit, path), method)(*args, **kwargs)


@cache
def _declared(owner: type, name: str) -> tuple[bool, type | None]:
    """Whether the ports declare `owner.<name>` as an attribute (a property, or an annotation such as
    `purchased: PurchasedProcessorStore`) rather than a method, and its type when that type is a port
    (a repository or a sub-repository such as `uow.processors.purchased`)."""
    for klass in owner.__mro__:
        member = klass.__dict__.get(name)
        try:
            if isinstance(member, property) and member.fget is not None:
                declared = get_type_hints(member.fget).get("return")
            elif name in inspect.get_annotations(klass):
                declared = get_type_hints(klass).get(name)
            else:
                continue
        except (NameError, TypeError):
            return True, None
        is_port = isinstance(declared, type) and declared.__module__.startswith("ports.")
        return True, declared if is_port else None
    return False, None


def _repository_type(owner: type, name: str) -> type | None:
    return _declared(owner, name)[1]


class AsyncRepositoryProxy(AsyncRepository):
    """`uow.<repository>` of an async unit of work: `await proxy.method(...)` runs the sync method;
    a sub-repository the port declares (`uow.processors.purchased`) is a proxy too."""

    __slots__ = ("_block", "_path", "_type", "_uow")

    def __init__(self, uow: AsyncContextUnitOfWork[Any], path: tuple[str, ...], port: type | None,
                 block: int) -> None:
        self._uow = uow
        self._path = path
        self._type = port
        self._block = block

    def __getattr__(self, method: str) -> Any:
        if method.startswith("_"):
            raise AttributeError(method)
        attribute, below = _declared(self._type, method) if self._type is not None else (False, None)
        if below is not None:
            return AsyncRepositoryProxy(self._uow, (*self._path, method), below, self._block)
        if attribute:  # a value the port declares (`uow.processors.catalog`): `await` reads it
            return self._uow._run_in_block(self._block, _read_attribute, self._uow.unit, (*self._path, method))

        async def call(*args: Any, **kwargs: Any) -> Any:
            return await self._uow._run_in_block(self._block, _call_repository, self._uow.unit, self._path,
                                                 method, args, kwargs)

        call.__name__ = method
        return call

    def __repr__(self) -> str:
        return f"<async {'.'.join(self._path)} of {self._uow.unit!r}>"


class AsyncContextUnitOfWork(AsyncUnitOfWork[U]):
    def __init__(self, unit: U, runner: SyncRunner) -> None:
        self.unit = unit
        """The sync unit of work: its rules, its repositories, its transaction."""
        self.scope = unit.scope
        self._runner = runner
        self._sessions: list[TaskSession] = []
        self._block = 0
        """Which block of this unit of work is open (a repository is bound to the block it came from)."""

    # -- ownership ----------------------------------------------------------------------------
    def _owned_session(self) -> TaskSession:
        if not self._sessions:
            raise UnitOfWorkInactive("use repositories inside `async with uow:`")
        session = self._sessions[-1]
        if session.task is not asyncio.current_task():
            raise UnitOfWorkNotOwned("a unit of work belongs to the task that entered it")
        return session

    async def _run_in_block(self, block: int, function: Callable[..., Any], *args: Any) -> Any:
        if block != self._block or not self._sessions:
            raise UnitOfWorkInactive("use repositories inside `async with uow:`; this block has ended")
        self._owned_session()
        return await self._runner.call(function, *args)

    # -- the protocol -------------------------------------------------------------------------
    async def __aenter__(self) -> Self:
        if self._sessions:
            self._owned_session()  # another task entering an active unit of work is refused here
        session = open_session()
        try:
            await self._runner.call(self.unit.__enter__)
        except BaseException:
            close_session(session)
            raise
        if not self._sessions:
            self._block += 1
        self._sessions.append(session)
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        traceback: TracebackType | None) -> None:
        session = self._owned_session()
        try:
            # A cancelled task arrives here with the CancelledError: the sync exit rolls back, in this
            # task (its owner), and the backend gives the connection back to the pool. Run to the
            # end: a cancellation arriving during the commit or rollback waits for it, then is raised.
            await self._runner.call_to_the_end(self.unit.__exit__, exc_type, exc, traceback)
        finally:
            self._sessions.pop()
            close_session(session)

    async def commit(self) -> None:
        self._owned_session()
        await self._runner.call(self.unit.commit)

    async def rollback(self) -> None:
        self._owned_session()
        await self._runner.call(self.unit.rollback)

    @property
    def active(self) -> bool:
        return self.unit.active

    async def after_commit(self, hook: Callable[[], None]) -> None:
        self._owned_session()
        await self._runner.call(self.unit.after_commit, hook)

    def repository(self, name: str) -> AsyncRepository:
        if not hasattr(type(self.unit), name):
            raise AttributeError(f"{type(self.unit).__name__} has no repository {name!r}")
        if not self._sessions:
            raise UnitOfWorkInactive("use repositories inside `async with uow:`")
        self._owned_session()
        return AsyncRepositoryProxy(self, (name,), _repository_type(type(self.unit), name), self._block)

    async def run(self, function: Callable[[U], Any]) -> Any:
        """`function(sync unit of work)` inside this block, through the runner: for code written
        against the sync ports (several repository calls in one round of the runner)."""
        return await self._run_in_block(self._block, function, self.unit)

    def __repr__(self) -> str:
        return f"<async {self.unit!r}>"


class AsyncContextFactory(AsyncUnitOfWorkFactory[U]):
    """Async units of work over a sync factory's, run by `runner`."""

    def __init__(self, units: UnitOfWorkFactory[U], runner: SyncRunner) -> None:
        self.units = units
        """The sync factory: the same context on the same backend."""
        self.runner = runner

    def __call__(self, scope: TenantScope) -> AsyncContextUnitOfWork[U]:
        return AsyncContextUnitOfWork(self.units(scope), self.runner)

    def for_tenant(self, tenant: object) -> AsyncContextUnitOfWork[U]:
        return self(TenantScope.of(tenant))

    def system(self) -> AsyncContextUnitOfWork[U]:
        return self(TenantScope.system())
