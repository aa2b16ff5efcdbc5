"""The BigQuery backend: the processing context's tables (spec 000) in one dataset.

It stores the tables of `adapters/bigquery/schema.py` and no others, so a container that wires
another context (tenancy, reliability...) to BigQuery is refused when it builds that context's
factory (`ContextFactory` raises `Unsupported`), not at the first call.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar, cast

from adapters.bigquery import publish
from adapters.bigquery.buffer import Overlay
from adapters.bigquery.database import BigQueryDatabase
from adapters.bigquery.records import BigQueryRecordStore
from adapters.bigquery.schema import TABLES, TableDefinition
from adapters.bigquery.transaction import BigQueryTransaction
from adapters.records.store import RecordStore
from adapters.transactions import Backend, Guard
from domain.shared.entity import Entity
from domain.shared.errors import Unsupported
from domain.shared.scope import TenantScope
from ports.records import RecordSchema

E = TypeVar("E", bound=Entity)


@dataclass(frozen=True, eq=False)
class BigQueryBackend(Backend[BigQueryTransaction, Overlay]):
    """A transaction is a write buffer (`transaction.py`) that its commit publishes (`publish.py`);
    a savepoint is a copy of the buffer."""

    name: ClassVar[str] = "bigquery"
    database: BigQueryDatabase

    @property
    def key(self) -> object:
        return self.database

    def _definition(self, schema: RecordSchema[E]) -> TableDefinition[E] | None:
        definition = TABLES.get(schema.table)
        return cast(TableDefinition[E], definition) if definition is not None and definition.record == schema else None

    def supports(self, schema: RecordSchema[Any]) -> bool:
        return self._definition(schema) is not None

    def store(self, transaction: BigQueryTransaction, schema: RecordSchema[E], scope: TenantScope,
              guard: Guard) -> RecordStore[E]:
        definition = self._definition(schema)
        if definition is None:
            raise Unsupported(f"the {self.name} backend does not store {schema.table}")
        return BigQueryRecordStore(definition, transaction, scope, guard)

    def begin(self, scope: TenantScope) -> BigQueryTransaction:
        return BigQueryTransaction(self.database, scope)

    def commit(self, transaction: BigQueryTransaction) -> None:
        publish.commit(transaction)

    def restart(self, transaction: BigQueryTransaction, scope: TenantScope) -> None:
        """Commit and rollback emptied the buffer: the same transaction goes on."""

    def rollback(self, transaction: BigQueryTransaction) -> None:
        transaction.rollback()

    def close(self, transaction: BigQueryTransaction) -> None:
        transaction.close()

    def savepoint(self, transaction: BigQueryTransaction) -> Overlay:
        return transaction.savepoint()

    def rollback_to(self, transaction: BigQueryTransaction, savepoint: Overlay) -> None:
        transaction.rollback_to(savepoint)

    def release(self, transaction: BigQueryTransaction, savepoint: Overlay) -> None:
        """Releasing keeps the writes: nothing to do."""
