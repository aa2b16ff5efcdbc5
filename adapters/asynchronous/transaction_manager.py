"""Spec 003's transaction manager on the async face: a bare unit of work (`ContextUnitOfWork` with no
repositories) begins the transaction, or takes a savepoint of the one the task has open, and every
async unit of work joined inside shares it, as `adapters/transaction_manager.py` does for sync code."""

from __future__ import annotations

from contextlib import AsyncExitStack
from types import TracebackType
from typing import Any, TypeVar

from adapters.asynchronous.unit_of_work import AsyncContextUnitOfWork
from adapters.transaction_manager import refuse_another_database
from adapters.transactions import Backend, ContextUnitOfWork
from domain.shared.errors import UnitOfWorkInactive, ValidationError
from domain.shared.scope import TenantScope
from ports.async_unit_of_work import (
    AsyncTransaction,
    AsyncTransactionBlock,
    AsyncTransactionManager,
    AsyncUnitOfWork,
    AsyncUnitOfWorkFactory,
    SyncRunner,
)
from ports.unit_of_work import UnitOfWork

U = TypeVar("U", bound=UnitOfWork)


class _AsyncJoined(AsyncTransaction):
    """The transaction of one `_Block`, handed to the function it runs."""

    def __init__(self, block: _Block) -> None:
        self.scope = block.scope
        self.block = block
        self.open = True
        self._units: dict[int, AsyncUnitOfWork[Any]] = {}

    async def join(self, factory: AsyncUnitOfWorkFactory[U]) -> AsyncUnitOfWork[U]:
        if not self.open:
            raise UnitOfWorkInactive("the transaction has ended: join inside the function in_transaction runs")
        if not isinstance(factory, AsyncUnitOfWorkFactory):
            raise ValidationError("factory", f"expected an async unit-of-work factory, got {type(factory).__name__}")
        refuse_another_database(self.block.backend, getattr(factory, "units", None))
        found = self._units.get(id(factory))
        if found is None:
            found = self._units[id(factory)] = await self.block.stack.enter_async_context(factory(self.scope))
        return found


class _Block(AsyncTransactionBlock):
    def __init__(self, backend: Backend[Any, Any], scope: TenantScope, runner: SyncRunner) -> None:
        self.backend = backend
        self.scope = scope
        self.stack = AsyncExitStack()
        self._outer = AsyncContextUnitOfWork(ContextUnitOfWork(backend, scope), runner)
        self._transaction: _AsyncJoined | None = None

    async def __aenter__(self) -> AsyncTransaction:
        await self._outer.__aenter__()
        self._transaction = _AsyncJoined(self)
        return self._transaction

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        traceback: TracebackType | None) -> None:
        if self._transaction is not None:
            self._transaction.open = False
        # The joined units of work first: their savepoints end before the transaction they live in.
        try:
            await self.stack.__aexit__(exc_type, exc, traceback)
        except BaseException as error:
            await self._outer.__aexit__(type(error), error, error.__traceback__)
            raise
        await self._outer.__aexit__(exc_type, exc, traceback)


class AsyncBackendTransactionManager(AsyncTransactionManager):
    def __init__(self, backend: Backend[Any, Any], runner: SyncRunner) -> None:
        self.backend = backend
        self.runner = runner

    def begin(self, tenant: object | None = None) -> AsyncTransactionBlock:
        scope = TenantScope.system() if tenant is None else TenantScope.of(tenant)
        return _Block(self.backend, scope, self.runner)
