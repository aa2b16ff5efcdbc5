"""The unit-of-work mechanics every context shares: one transaction, one tenant, no repositories.

`with uow:` commits on a clean exit and rolls back on an exception. Each context's port module
declares its own unit of work on top of this one, carrying that context's repositories only
(`TenancyUnitOfWork.tenants`, `ProcessingUnitOfWork.executions`...). Units of work of any contexts
entered on the same database in the same thread or task join one transaction (a nested one takes a
savepoint), as spec 003's transaction manager propagates its transaction through the context.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from types import TracebackType
from typing import Generic, Self, TypeVar

from domain.shared.errors import ValidationError
from domain.shared.scope import TenantScope

T = TypeVar("T")


class UnitOfWork(ABC):
    """A transaction bound to one tenant (or to the system scope). It belongs to the thread or task
    that entered it: used from another one while active, it raises `UnitOfWorkNotOwned`."""

    scope: TenantScope

    @abstractmethod
    def __enter__(self) -> Self: ...

    @abstractmethod
    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None: ...

    @abstractmethod
    def commit(self) -> None:
        """Make the work so far durable (a nested unit of work: release its savepoint) and go on."""

    @abstractmethod
    def rollback(self) -> None:
        """Discard the work since the last commit (nested: since its savepoint) and go on."""

    @property
    @abstractmethod
    def active(self) -> bool:
        """Whether a `with` block of this unit of work is open."""

    def commit_with(self, step: Callable[[], T]) -> T:
        """`step()`, then `commit()`: the step's result, its writes committed. A step whose work is
        one statement complete in itself (`JobRepository.complete_and_claim`) may commit with that
        statement where the backend can: on psycopg2, when the unit of work has sent nothing yet,
        the statement goes with the scope binding and no BEGIN, so the server commits it before it
        answers, one round trip in all (a joined unit of work commits at the outer one's end, as
        `commit()` does)."""
        if not callable(step):
            raise ValidationError("step", f"expected a callable, got {type(step).__name__}")
        result = step()
        self.commit()
        return result

    @abstractmethod
    def after_commit(self, hook: Callable[[], None]) -> None:
        """Run `hook` after the transaction commits (the outermost one when joined); dropped when
        it, or the savepoint of the block that registered it, rolls back."""


U = TypeVar("U", bound=UnitOfWork, covariant=True)


class UnitOfWorkFactory(ABC, Generic[U]):
    """Opens units of work of one context on one backend."""

    @abstractmethod
    def __call__(self, scope: TenantScope) -> U: ...

    def for_tenant(self, tenant: object) -> U:
        return self(TenantScope.of(tenant))

    def system(self) -> U:
        return self(TenantScope.system())
