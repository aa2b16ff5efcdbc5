"""The record store on a BigQuery transaction: one processing table, confined to the tenant.

Records are tenant-scoped by `organization_id`: every statement is confined to the unit of work's
tenant, another tenant's id behaves as a missing one, and from system scope every method raises
`TenantScopeRequired` before anything is read. `update` checks the version the caller read (the
transaction's last read of the record answers, see `BigQueryTransaction.recent`); `delete` buffers
a tombstone version. Nothing is sent before the commit but reads: writes wait in the buffer.

`insert_new` does not wait for a unit of work racing with this one on the same key, as a unique
index would: BigQuery has none. Whichever publishes its commit first wins, and the other's commit
fails with `Conflict` (`adapters/bigquery/publish.py`).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any, TypeVar

from adapters.bigquery.schema import TableDefinition
from adapters.bigquery.transaction import BigQueryTransaction
from adapters.records.store import Query, RecordStore
from adapters.transactions import Guard
from domain.shared.entity import Entity
from domain.shared.filters import Condition
from domain.shared.scope import TenantScope

E = TypeVar("E", bound=Entity)


class BigQueryRecordStore(RecordStore[E]):
    def __init__(self, definition: TableDefinition[E], transaction: BigQueryTransaction, scope: TenantScope,
                 guard: Guard) -> None:
        self.definition = definition
        self.schema = definition.record
        self.scope = scope
        self.transaction = transaction
        self.guard = guard

    def _open(self) -> BigQueryTransaction:
        """The transaction, once the block is known to be open and this store's tenant known."""
        self.guard.check()
        self.transaction.tenant(self.definition)  # from system scope this raises, before any read
        return self.transaction

    def get(self, key: uuid.UUID) -> E | None:
        return self._open().get(self.definition, key)

    def find(self, query: Query) -> list[E]:
        return self._open().select(self.definition, query)

    def count(self, conditions: Sequence[Condition] = ()) -> int:
        return self._open().count(self.definition, conditions)

    def count_by(self, field: str) -> dict[Any, int]:
        return self._open().count_by(self.definition, field)

    def insert(self, rows: Sequence[E]) -> None:
        self._open().insert(self.definition, rows)

    def insert_new(self, rows: Sequence[E]) -> list[E]:
        return self._open().insert(self.definition, rows, skip_taken=True)

    def update(self, entity: E, *, keys_unchanged: bool = False) -> E:
        """`keys_unchanged` changes nothing here: only the keys `entity` takes that the record did not
        hold are checked, so an update keeping its keys costs no check already."""
        return self._open().update(self.definition, entity)

    def delete(self, key: uuid.UUID, expected_version: int | None) -> None:
        self._open().delete(self.definition, key, expected_version)

    def atomically(self) -> AbstractContextManager[None]:
        return self._open().atomically()
