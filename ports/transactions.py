"""Spec 003's transaction manager: `in_transaction(fn)` runs `fn` in one transaction that every
repository of any context joins, the way Go's `InTransaction(ctx, fn)` carries the transaction in
the context.

The transaction travels in a context variable (`contextvars`), so it follows the call into any
function, and into tasks started inside with the current context, without being passed along. A
unit of work of any context opened inside `fn` for the same tenant on the same backend joins it
with a savepoint, and so does a nested `in_transaction`. When `fn` returns, the whole transaction
commits; when it raises, everything it wrote in every context is rolled back and the error goes on.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import TypeVar

from domain.shared.scope import TenantScope
from ports.unit_of_work import UnitOfWork, UnitOfWorkFactory

R = TypeVar("R")
U = TypeVar("U", bound=UnitOfWork)


class Transaction(ABC):
    """The transaction `fn` runs in."""

    scope: TenantScope

    @abstractmethod
    def join(self, factory: UnitOfWorkFactory[U]) -> U:
        """A unit of work of `factory`'s context inside this transaction, open until the transaction
        ends (the same one for repeated calls with one factory)."""


class TransactionManager(ABC):
    @abstractmethod
    def in_transaction(self, fn: Callable[[Transaction], R], tenant: object | None = None) -> R:
        """Run `fn` in a transaction for `tenant` (None: the system scope) and return what it returns."""
