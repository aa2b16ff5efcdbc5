"""The transaction manager of `ports/transactions.py`, on the joining that `ContextUnitOfWork`
already does: a bare unit of work (no repositories) begins the transaction, or takes a savepoint of
the one active in this context for the backend, and every unit of work opened inside joins it."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack
from typing import Any, TypeVar

from adapters.transactions import Backend, ContextFactory, ContextUnitOfWork
from domain.shared.errors import UnitOfWorkInactive, Unsupported, ValidationError
from domain.shared.scope import TenantScope
from ports.transactions import Transaction, TransactionManager
from ports.unit_of_work import UnitOfWork, UnitOfWorkFactory

R = TypeVar("R")
U = TypeVar("U", bound=UnitOfWork)


def refuse_another_database(backend: Backend[Any, Any], units: object) -> None:
    """A factory of a context on another database cannot join: its unit of work would begin a
    transaction of its own, outside this one's all-or-nothing."""
    if isinstance(units, ContextFactory) and units.backend.key != backend.key:
        raise Unsupported(f"the {units.context} context is on another database than this transaction")


class _Joined(Transaction):
    def __init__(self, backend: Backend[Any, Any], scope: TenantScope, stack: ExitStack) -> None:
        self.scope = scope
        self._backend = backend
        self._stack = stack
        self._units: dict[int, UnitOfWork] = {}
        self.open = True

    def join(self, factory: UnitOfWorkFactory[U]) -> U:
        if not self.open:
            raise UnitOfWorkInactive("the transaction has ended: join inside the function in_transaction runs")
        if not isinstance(factory, UnitOfWorkFactory):
            raise ValidationError("factory", f"expected a unit-of-work factory, got {type(factory).__name__}")
        refuse_another_database(self._backend, factory)
        found = self._units.get(id(factory))
        if found is None:
            found = self._units[id(factory)] = self._stack.enter_context(factory(self.scope))
        return found  # type: ignore[return-value]


class BackendTransactionManager(TransactionManager):
    def __init__(self, backend: Backend[Any, Any]) -> None:
        self.backend = backend

    def in_transaction(self, fn: Callable[[Transaction], R], tenant: object | None = None) -> R:
        scope = TenantScope.system() if tenant is None else TenantScope.of(tenant)
        outer = ContextUnitOfWork(self.backend, scope)
        # Exited last, after the joined units of work: their savepoints are released (or rolled back)
        # before the transaction they live in commits (or rolls back).
        with outer, ExitStack() as stack:
            transaction = _Joined(self.backend, scope, stack)
            try:
                return fn(transaction)
            finally:
                transaction.open = False
