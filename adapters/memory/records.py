"""The record store on a memory transaction: the same answers, errors and order as SQL's.

Rows are deep-copied on the way in and out, so a caller can never change stored state by mutating
what it holds; the shared evaluator in `adapters/memory/querying.py` gives conditions and order
SQL's semantics.
"""

from __future__ import annotations

import copy
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar, cast

from adapters.memory import querying
from adapters.memory.store import MemoryTransaction
from adapters.records.store import Query, RecordStore, next_version
from adapters.transactions import Guard
from domain.shared.entity import Entity
from domain.shared.errors import ConcurrencyConflict, NotFound
from domain.shared.filters import Condition
from domain.shared.scope import TenantScope
from ports.records import RecordSchema

E = TypeVar("E", bound=Entity)


class MemoryRecordStore(RecordStore[E]):
    def __init__(self, schema: RecordSchema[E], transaction: MemoryTransaction, scope: TenantScope,
                 guard: Guard) -> None:
        self.schema = schema
        self.scope = scope
        self._table = transaction.database.register(schema)
        self._tx = transaction
        self._guard = guard

    def _live(self) -> MemoryTransaction:
        self._guard.check()
        return self._tx

    def _visible(self, row: Entity | None) -> E | None:
        # The scope is checked before the row: a tenant-scoped table used from system scope raises
        # even for a missing id, as the SQL statement does.
        restriction = self.schema.scope_filter(self.scope)
        if row is None or (restriction is not None and getattr(row, restriction[0]) != restriction[1]):
            return None
        return cast(E, copy.deepcopy(row))

    def rows(self) -> list[E]:
        """Every visible row, uncopied: for the store's own reads and the memory queries."""
        restriction = self.schema.scope_filter(self.scope)
        rows = cast(list[E], list(self._live().scan(self._table)))
        if restriction is None:
            return rows
        field, tenant = restriction
        return [row for row in rows if getattr(row, field) == tenant]

    def get(self, key: uuid.UUID) -> E | None:
        return self._visible(self._live().get(self._table, key))

    def find(self, query: Query) -> list[E]:
        rows = querying.select(self.rows(), query.conditions)
        if query.any_of:
            rows = [row for row in rows if any(querying.matches(row, c) for c in query.any_of)]
        rows = querying.order(rows, query.sort)
        if query.after is not None:
            rows = [row for row in rows if querying.after(row, query.sort, query.after)]
        end = None if query.limit is None else query.offset + query.limit
        return [copy.deepcopy(row) for row in rows[query.offset: end]]

    def count(self, conditions: Sequence[Condition] = ()) -> int:
        return len(querying.select(self.rows(), conditions))

    def count_by(self, field: str) -> dict[Any, int]:
        return dict(Counter(getattr(row, field) for row in self.rows()))

    def insert(self, rows: Sequence[E]) -> None:
        self._live().insert(self._table, list(rows))

    def insert_new(self, rows: Sequence[E]) -> list[E]:
        return cast(list[E], self._live().insert(self._table, list(rows), skip_taken=True))

    def update(self, entity: E, *, keys_unchanged: bool = False) -> E:
        current = self.get(entity.id)
        if current is None:
            raise NotFound(self.schema.entity, entity.id)
        if current.version != entity.version:
            raise ConcurrencyConflict(self.schema.entity, entity.id, entity.version)
        stored = next_version(entity)
        self._live().put(self._table, stored, read_version=current.version)
        return stored

    def delete(self, key: uuid.UUID, expected_version: int | None) -> None:
        current = self.get(key)
        if current is None:
            raise NotFound(self.schema.entity, key)
        if expected_version is not None and current.version != expected_version:
            raise ConcurrencyConflict(self.schema.entity, key, expected_version)
        self._live().delete(self._table, key, read_version=current.version)

    @contextmanager
    def atomically(self) -> Iterator[None]:
        transaction = self._live()
        savepoint = transaction.savepoint()
        try:
            yield
        except BaseException:
            transaction.rollback_to(savepoint)
            raise
