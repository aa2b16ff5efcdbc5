"""The memory backend: transactional and thread-safe, like the SQL one (see `adapters/memory/store.py`)."""

from __future__ import annotations

from typing import Any, ClassVar, TypeVar

from adapters.memory.records import MemoryRecordStore
from adapters.memory.store import MemoryDatabase, MemoryTransaction, Overlay
from adapters.records.store import RecordStore
from adapters.transactions import Backend, Guard
from domain.shared.entity import Entity
from domain.shared.scope import TenantScope
from ports.records import RecordSchema

E = TypeVar("E", bound=Entity)


class MemoryBackend(Backend[MemoryTransaction, Overlay]):
    """Every context's tables in one `MemoryDatabase`, created on first use."""

    name: ClassVar[str] = "memory"

    def __init__(self, database: MemoryDatabase | None = None) -> None:
        self.database = database if database is not None else MemoryDatabase()

    @property
    def key(self) -> object:
        return self.database

    def supports(self, schema: RecordSchema[Any]) -> bool:
        return True

    def store(self, transaction: MemoryTransaction, schema: RecordSchema[E], scope: TenantScope,
              guard: Guard) -> RecordStore[E]:
        return MemoryRecordStore(schema, transaction, scope, guard)

    def begin(self, scope: TenantScope) -> MemoryTransaction:
        return self.database.begin()

    def commit(self, transaction: MemoryTransaction) -> None:
        transaction.commit()

    def rollback(self, transaction: MemoryTransaction) -> None:
        transaction.rollback()

    def restart(self, transaction: MemoryTransaction, scope: TenantScope) -> None:
        """Commit and rollback emptied the overlay: the same transaction goes on."""

    def close(self, transaction: MemoryTransaction) -> None:
        transaction.rollback()
        transaction.closed = True

    def savepoint(self, transaction: MemoryTransaction) -> Overlay:
        return transaction.savepoint()

    def release(self, transaction: MemoryTransaction, savepoint: Overlay) -> None:
        """Releasing keeps the writes: nothing to do."""

    def rollback_to(self, transaction: MemoryTransaction, savepoint: Overlay) -> None:
        transaction.rollback_to(savepoint)
