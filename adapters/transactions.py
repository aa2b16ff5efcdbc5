"""The unit-of-work mechanics every backend and every context share.

A backend (memory, SQL, BigQuery) supplies transaction primitives and record stores; a context
(tenancy, reliability, processing...) supplies its repositories, built on first use from stores.
`ContextUnitOfWork` joins the two:

- a context variable maps a backend to the transaction active in this thread or task. Entering a
  unit of work while its backend has one joins it with a savepoint, whatever the context of the
  unit of work that began it, so work across contexts on one database is one transaction;
- a `Guard` marks a unit of work's block: stores check it before every operation, so a repository
  kept after its block raises `UnitOfWorkInactive`, and one used from another thread or task
  raises `UnitOfWorkNotOwned`, on every backend alike.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from contextvars import ContextVar, Token
from dataclasses import dataclass
from types import MappingProxyType, TracebackType
from typing import Any, ClassVar, Generic, Self, TypeVar, overload

from adapters.clock import SystemClock
from adapters.instrumentation import instrumented
from adapters.records.store import RecordStore
from domain.shared.entity import Entity
from domain.shared.errors import TenantScopeRequired, UnitOfWorkInactive, UnitOfWorkNotOwned, Unsupported
from domain.shared.scope import TenantScope
from ports.clock import Clock
from ports.records import RecordSchema
from ports.unit_of_work import UnitOfWork, UnitOfWorkFactory

log = logging.getLogger("portside.transactions")

TxT = TypeVar("TxT")
SavepointT = TypeVar("SavepointT")
E = TypeVar("E", bound=Entity)
R = TypeVar("R")
T = TypeVar("T")
U = TypeVar("U", bound=UnitOfWork)

Owner = tuple[int, int]
"""(thread id, id of the running asyncio task or 0)."""


def current_owner() -> Owner:
    # `_get_running_loop` returns None outside a loop where `current_task` would raise: this runs
    # before every store operation, so it stays free of exceptions.
    loop = asyncio._get_running_loop()
    task = asyncio.current_task(loop) if loop is not None else None
    return threading.get_ident(), id(task) if task is not None else 0


class Guard:
    """Whether the block a store belongs to is still open, and who may use it."""

    __slots__ = ("closed", "owner")

    def __init__(self, owner: Owner) -> None:
        self.owner = owner
        self.closed = False

    def check(self) -> None:
        if self.closed:
            raise UnitOfWorkInactive("use repositories inside `with uow:`; this block has ended")
        if current_owner() != self.owner:
            raise UnitOfWorkNotOwned("a unit of work belongs to the thread or task that entered it")


class Backend(ABC, Generic[TxT, SavepointT]):
    """What a storage backend supplies: transaction primitives and one record store per table."""

    name: ClassVar[str]

    @property
    @abstractmethod
    def key(self) -> object:
        """Identifies the database: units of work with the same key join one transaction."""

    @abstractmethod
    def supports(self, schema: RecordSchema[Any]) -> bool:
        """Whether this backend stores the table."""

    @abstractmethod
    def store(self, transaction: TxT, schema: RecordSchema[E], scope: TenantScope, guard: Guard) -> RecordStore[E]:
        ...

    @abstractmethod
    def begin(self, scope: TenantScope) -> TxT: ...

    @abstractmethod
    def commit(self, transaction: TxT) -> None: ...

    @abstractmethod
    def rollback(self, transaction: TxT) -> None: ...

    @abstractmethod
    def restart(self, transaction: TxT, scope: TenantScope) -> None:
        """Begin the next transaction after an explicit commit() or rollback()."""

    @abstractmethod
    def close(self, transaction: TxT) -> None:
        """Give the transaction's resources back (anything uncommitted is rolled back)."""

    def committing_alone(self, transaction: TxT) -> AbstractContextManager[None]:
        """While it is entered, a statement complete in itself may commit on its own, as the
        transaction's only work (`UnitOfWork.commit_with`): by default, never."""
        return nullcontext()

    @abstractmethod
    def savepoint(self, transaction: TxT) -> SavepointT: ...

    @abstractmethod
    def release(self, transaction: TxT, savepoint: SavepointT) -> None: ...

    @abstractmethod
    def rollback_to(self, transaction: TxT, savepoint: SavepointT) -> None: ...


@dataclass(frozen=True, slots=True)
class _ActiveTransaction:
    transaction: Any
    scope: TenantScope
    after_commit: list[Callable[[], None]]
    """Shared by every unit of work joining the transaction: run once it has committed."""


# The mapping is never mutated, only replaced (`{**old, key: new}`), so a shared empty default is safe.
_ACTIVE: ContextVar[Mapping[object, _ActiveTransaction]] = ContextVar(
    "portside_active_transactions", default=MappingProxyType({})
)


@dataclass(slots=True)
class _Frame:
    transaction: Any
    savepoint: Any | None
    """None: this frame began the transaction (it commits it); else the frame's savepoint."""
    token: Token[Mapping[object, _ActiveTransaction]] | None
    after_commit: list[Callable[[], None]]
    mark: int = 0
    """How many after-commit hooks were registered before this frame began (or last committed):
    rolling the frame back drops the ones registered since."""


class ContextUnitOfWork(UnitOfWork):
    """The shared protocol; a context's unit of work subclasses it with its repositories as
    properties that call `_repository` (built on first use, dropped when the block ends)."""

    schemas: ClassVar[tuple[RecordSchema[Any], ...]] = ()
    """Every table the context's repositories use: a backend must store them all."""

    def __init__(self, backend: Backend[Any, Any], scope: TenantScope, clock: Clock | None = None) -> None:
        self.scope = scope
        self.clock: Clock = clock if clock is not None else SystemClock()
        """Where repositories take the time a call does not pass (spec 001's `create(dict)`)."""
        self._backend = backend
        self._frames: list[_Frame] = []
        self._guard: Guard | None = None
        self._repositories: dict[str, Any] = {}

    # -- what contexts build on ---------------------------------------------------------------
    def _repository(self, name: str, build: Callable[[], R]) -> R:
        self._live_guard()
        found = self._repositories.get(name)
        if found is None:
            # Wrapped only while `adapters.instrumentation` is on (opt-in); else `build()` itself.
            found = self._repositories[name] = instrumented(type(self).__name__, name, build())
        return found

    def store(self, schema: RecordSchema[E]) -> RecordStore[E]:
        guard = self._live_guard()
        return self._backend.store(self._frames[-1].transaction, schema, self.scope, guard)

    def _live_guard(self) -> Guard:
        guard = self._guard
        if guard is None:
            raise UnitOfWorkInactive("use repositories inside `with uow:`")
        guard.check()
        return guard

    # -- the protocol -------------------------------------------------------------------------
    def __enter__(self) -> Self:
        if self._guard is not None:
            self._guard.check()  # another thread entering an active unit of work is refused here
        backend = self._backend
        active = _ACTIVE.get().get(backend.key)
        if active is not None:
            if active.scope != self.scope:
                raise TenantScopeRequired(f"cannot join the active unit of work of {active.scope} from {self.scope}")
            hooks = active.after_commit
            frame = _Frame(active.transaction, backend.savepoint(active.transaction), None, hooks, len(hooks))
        else:
            transaction = backend.begin(self.scope)
            hooks = []
            token = _ACTIVE.set({**_ACTIVE.get(), backend.key: _ActiveTransaction(transaction, self.scope, hooks)})
            frame = _Frame(transaction, None, token, hooks)
        if self._guard is None:
            self._guard = Guard(current_owner())
        self._frames.append(frame)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._live_guard()
        frame = self._frames.pop()
        committed = False
        try:
            if exc_type is not None:
                self._rollback_frame(frame)
            else:
                self._commit_frame(frame)
                committed = frame.savepoint is None
        finally:
            if frame.token is not None:
                _ACTIVE.reset(frame.token)
                self._backend.close(frame.transaction)
            if not self._frames:
                self._end_block()
        if committed:
            _run_hooks(frame.after_commit)  # outside the transaction: a hook may open units of work

    def _end_block(self) -> None:
        if self._guard is not None:
            self._guard.closed = True
        self._guard = None
        self._repositories = {}

    def commit(self) -> None:
        frame = self._current_frame()
        self._commit_frame(frame)
        self._reopen(frame)
        if frame.token is not None:  # the frame that began the transaction: it committed
            _run_hooks(frame.after_commit)
        else:
            frame.mark = len(frame.after_commit)  # kept for the outer commit, safe from our rollbacks

    def commit_with(self, step: Callable[[], T]) -> T:
        frame = self._current_frame()
        if frame.savepoint is not None or not callable(step):  # joined: the outer unit of work commits
            return super().commit_with(step)
        with self._backend.committing_alone(frame.transaction):
            result = step()
        self.commit()
        return result

    def after_commit(self, hook: Callable[[], None]) -> None:
        """Run `hook` once the transaction this unit of work is part of has committed (the
        outermost one, when joined): never when it rolls back, nor when the savepoint of the block
        that registered it rolls back. For work that must follow the data and never precede it,
        such as dropping cache entries the transaction made stale. A hook that raises is logged;
        the commit stands."""
        frame = self._current_frame()
        frame.after_commit.append(hook)

    def rollback(self) -> None:
        frame = self._current_frame()
        self._rollback_frame(frame)
        self._reopen(frame)

    @property
    def active(self) -> bool:
        return bool(self._frames)

    def _current_frame(self) -> _Frame:
        if not self._frames:
            raise UnitOfWorkInactive("commit() and rollback() need an active `with uow:` block")
        self._live_guard()
        return self._frames[-1]

    def _reopen(self, frame: _Frame) -> None:
        if frame.savepoint is None:
            self._backend.restart(frame.transaction, self.scope)
        else:
            frame.savepoint = self._backend.savepoint(frame.transaction)

    def _commit_frame(self, frame: _Frame) -> None:
        if frame.savepoint is None:
            self._backend.commit(frame.transaction)
        else:
            self._backend.release(frame.transaction, frame.savepoint)

    def _rollback_frame(self, frame: _Frame) -> None:
        if frame.savepoint is None:
            self._backend.rollback(frame.transaction)
        else:
            self._backend.rollback_to(frame.transaction, frame.savepoint)
        del frame.after_commit[frame.mark:]


def _run_hooks(hooks: list[Callable[[], None]]) -> None:
    pending = list(hooks)
    hooks.clear()
    for hook in pending:
        try:
            hook()
        except Exception:
            log.exception("an after-commit hook failed; the transaction had committed")


class repository(Generic[R]):  # noqa: N801 - used like `property`
    """A unit of work's repository handed the store of one table: `events = repository(Events,
    EVENT_SCHEMA)` in a `ContextUnitOfWork` subclass. Built on first access inside the block, the
    same object for the rest of the block, `UnitOfWorkInactive` outside it."""

    def __init__(self, build: Callable[[RecordStore[Any], Clock], R], schema: RecordSchema[Any]) -> None:
        self._build = build
        self._schema = schema
        self._name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self._name = name

    @overload
    def __get__(self, instance: None, owner: type) -> repository[R]: ...

    @overload
    def __get__(self, instance: ContextUnitOfWork, owner: type) -> R: ...

    def __get__(self, instance: ContextUnitOfWork | None, owner: type) -> R | repository[R]:
        if instance is None:
            return self
        return instance._repository(self._name, lambda: self._build(instance.store(self._schema), instance.clock))


class ContextFactory(UnitOfWorkFactory[U]):
    """Opens one context's units of work on one backend. Built by the container: a backend that
    cannot store one of the context's tables is refused here, at build time, not at first use."""

    def __init__(self, backend: Backend[Any, Any], context: str, schemas: Sequence[RecordSchema[Any]],
                 open_unit: Callable[[TenantScope], U]) -> None:
        missing = [schema.table for schema in schemas if not backend.supports(schema)]
        if missing:
            raise Unsupported(f"the {backend.name} backend cannot serve the {context} context: "
                              f"it does not store {', '.join(missing)}")
        self.backend = backend
        self.context = context
        self._open = open_unit

    def __call__(self, scope: TenantScope) -> U:
        if not isinstance(scope, TenantScope):
            from domain.shared.errors import ValidationError

            raise ValidationError("scope", f"expected a TenantScope, got {type(scope).__name__}")
        return self._open(scope)
