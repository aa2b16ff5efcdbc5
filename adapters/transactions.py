"""The unit-of-work mechanics every transactional backend shares.

A context variable maps a backend to the transaction active in this context (thread or task).
Entering a unit of work while its backend has an active transaction joins it as a savepoint;
otherwise it begins a new transaction. Backends supply only the primitives.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Mapping
from contextvars import ContextVar, Token
from dataclasses import dataclass
from types import MappingProxyType, TracebackType
from typing import Any, Generic, NoReturn, Self, TypeVar

from domain.shared.errors import TenantScopeRequired, UnitOfWorkInactive
from domain.shared.scope import TenantScope
from ports.unit_of_work import REPOSITORY_ATTRIBUTES, UnitOfWork

TxT = TypeVar("TxT")
SavepointT = TypeVar("SavepointT")


@dataclass(frozen=True, slots=True)
class _ActiveTransaction:
    transaction: Any
    scope: TenantScope


# The mapping is never mutated, only replaced (`{**old, key: new}`), so a shared empty default is safe.
_ACTIVE: ContextVar[Mapping[object, _ActiveTransaction]] = ContextVar(
    "portside_active_transactions", default=MappingProxyType({})
)


@dataclass(slots=True)
class _Frame(Generic[TxT, SavepointT]):
    transaction: TxT
    savepoint: SavepointT | None
    token: Token[Mapping[object, _ActiveTransaction]] | None


class InactiveRepository:
    """Stands in for repositories outside the `with` block, so misuse fails loudly."""

    def __getattr__(self, name: str) -> NoReturn:
        raise UnitOfWorkInactive("use repositories inside `with uow:`")


INACTIVE: Any = InactiveRepository()


class TransactionalUnitOfWork(UnitOfWork, Generic[TxT, SavepointT]):
    def __init__(self, scope: TenantScope, backend_key: object) -> None:
        super().__init__(scope)
        self._backend_key = backend_key
        self._frames: list[_Frame[TxT, SavepointT]] = []
        self._unbind()

    # -- primitives a backend supplies -------------------------------------------------------
    @abstractmethod
    def _begin(self) -> TxT: ...

    @abstractmethod
    def _commit(self, transaction: TxT) -> None: ...

    @abstractmethod
    def _rollback(self, transaction: TxT) -> None: ...

    @abstractmethod
    def _restart(self, transaction: TxT) -> None:
        """Begin the next transaction after an explicit commit() or rollback()."""

    @abstractmethod
    def _close(self, transaction: TxT) -> None: ...

    @abstractmethod
    def _savepoint(self, transaction: TxT) -> SavepointT: ...

    @abstractmethod
    def _release(self, transaction: TxT, savepoint: SavepointT) -> None: ...

    @abstractmethod
    def _rollback_to(self, transaction: TxT, savepoint: SavepointT) -> None: ...

    @abstractmethod
    def _bind(self, transaction: TxT) -> None:
        """Attach this backend's repositories to the transaction."""

    def _unbind(self) -> None:
        """Replace the repositories by `INACTIVE`."""
        for name in REPOSITORY_ATTRIBUTES:
            setattr(self, name, INACTIVE)

    # -- the shared protocol ----------------------------------------------------------------
    def __enter__(self) -> Self:
        active = _ACTIVE.get().get(self._backend_key)
        if active is not None:
            if active.scope != self.scope:
                raise TenantScopeRequired(
                    f"cannot join the active unit of work of {active.scope} from {self.scope}"
                )
            transaction: TxT = active.transaction
            frame = _Frame[TxT, SavepointT](transaction, self._savepoint(transaction), None)
        else:
            transaction = self._begin()
            entry = _ActiveTransaction(transaction, self.scope)
            token = _ACTIVE.set({**_ACTIVE.get(), self._backend_key: entry})
            frame = _Frame(transaction, None, token)
        self._frames.append(frame)
        self._bind(frame.transaction)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        frame = self._frames.pop()
        try:
            if exc_type is not None:
                self._rollback_frame(frame)
            else:
                self._commit_frame(frame)
        finally:
            if frame.token is not None:
                _ACTIVE.reset(frame.token)
                self._close(frame.transaction)
            if self._frames:
                self._bind(self._frames[-1].transaction)
            else:
                self._unbind()

    def commit(self) -> None:
        frame = self._current_frame()
        self._commit_frame(frame)
        self._reopen(frame)

    def rollback(self) -> None:
        frame = self._current_frame()
        self._rollback_frame(frame)
        self._reopen(frame)

    @property
    def active(self) -> bool:
        return bool(self._frames)

    def _current_frame(self) -> _Frame[TxT, SavepointT]:
        if not self._frames:
            raise UnitOfWorkInactive("commit() and rollback() need an active `with uow:` block")
        return self._frames[-1]

    def _reopen(self, frame: _Frame[TxT, SavepointT]) -> None:
        if frame.savepoint is None:
            self._restart(frame.transaction)
        else:
            frame.savepoint = self._savepoint(frame.transaction)

    def _commit_frame(self, frame: _Frame[TxT, SavepointT]) -> None:
        if frame.savepoint is None:
            self._commit(frame.transaction)
        else:
            self._release(frame.transaction, frame.savepoint)

    def _rollback_frame(self, frame: _Frame[TxT, SavepointT]) -> None:
        if frame.savepoint is None:
            self._rollback(frame.transaction)
        else:
            self._rollback_to(frame.transaction, frame.savepoint)
