"""A record store that says which records a transaction wrote, once it has committed.

Wraps a store of tenant-owned records; after each commit of the unit of work, `listener` is told
`(tenant_id, record_id)` for every record written (inserted, updated or deleted), so that a cache
can drop what the database no longer holds. A rolled-back write is never reported.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from typing import Any, Generic, TypeVar

from adapters.records.store import Query, RecordStore
from domain.shared.entity import Entity
from domain.shared.filters import Condition

E = TypeVar("E", bound=Entity)

Written = Callable[[Sequence[tuple[uuid.UUID, uuid.UUID]]], None]
"""Told `(tenant_id, record_id)` of each record a committed transaction wrote."""


class ObservedStore(RecordStore[E], Generic[E]):
    def __init__(self, store: RecordStore[E], after_commit: Callable[[Callable[[], None]], None],
                 listener: Written) -> None:
        self.inner = store
        self.schema = store.schema
        self.scope = store.scope
        self._after_commit = after_commit
        self._listener = listener

    def _written(self, rows: Sequence[E]) -> None:
        if rows:
            keys = [(getattr(row, "tenant_id"), row.id) for row in rows]  # noqa: B009 - any tenant-owned model
            self._after_commit(lambda: self._listener(keys))

    def get(self, key: uuid.UUID) -> E | None:
        return self.inner.get(key)

    def find(self, query: Query) -> list[E]:
        return self.inner.find(query)

    def count(self, conditions: Sequence[Condition] = ()) -> int:
        return self.inner.count(conditions)

    def count_by(self, field: str) -> dict[Any, int]:
        return self.inner.count_by(field)

    def insert(self, rows: Sequence[E]) -> None:
        self.inner.insert(rows)
        self._written(rows)

    def insert_new(self, rows: Sequence[E]) -> list[E]:
        inserted = self.inner.insert_new(rows)
        self._written(inserted)
        return inserted

    def update(self, entity: E, *, keys_unchanged: bool = False) -> E:
        stored = self.inner.update(entity, keys_unchanged=keys_unchanged)
        self._written([stored])
        return stored

    def update_many(self, entities: Sequence[E], *, keys_unchanged: bool = False) -> list[E]:
        stored = self.inner.update_many(entities, keys_unchanged=keys_unchanged)
        self._written(stored)
        return stored

    def update_current(self, entities: Sequence[E], *, keys_unchanged: bool = False,
                       fields: frozenset[str] | None = None) -> list[E]:
        stored = self.inner.update_current(entities, keys_unchanged=keys_unchanged, fields=fields)
        self._written(stored)
        return stored

    def delete(self, key: uuid.UUID, expected_version: int | None) -> None:
        existing = self.inner.get(key)
        self.inner.delete(key, expected_version)
        if existing is not None:
            self._written([existing])

    def delete_current(self, entities: Sequence[E]) -> list[E]:
        deleted = self.inner.delete_current(entities)
        self._written(deleted)
        return deleted

    def exists(self, key: uuid.UUID) -> bool:
        return self.inner.exists(key)

    def atomically(self) -> AbstractContextManager[None]:
        return self.inner.atomically()
