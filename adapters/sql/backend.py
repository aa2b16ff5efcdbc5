"""The SQL backend: one connection and one transaction per unit of work, savepoints for nesting,
the tenant bound to the transaction for PostgreSQL's row-level security."""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

import sqlalchemy as sa

from adapters.records.store import RecordStore
from adapters.sql import explicit_begin, tables
from adapters.sql.database import SqlDatabase
from adapters.sql.errors import sqlstate, translated
from adapters.sql.records import SqlRecordStore
from adapters.sql.row_level_security import bind_scope
from adapters.transactions import Backend, Guard
from domain.shared.entity import Entity
from domain.shared.errors import CommitOutcomeUnknown, StorageUnavailable
from domain.shared.scope import TenantScope
from ports.records import RecordSchema

E = TypeVar("E", bound=Entity)


@dataclass(slots=True)
class SqlTransaction:
    connection: sa.Connection
    root: sa.RootTransaction
    explicit: bool = False
    """Begun by `explicit_begin.begin_bound` (BEGIN and the binding in one round trip): COMMIT and
    ROLLBACK are sent by it too, and the connection is released by it."""


class SqlBackend(Backend[SqlTransaction, sa.NestedTransaction]):
    name: ClassVar[str] = "sql"

    def __init__(self, database: SqlDatabase) -> None:
        self.database = database

    @property
    def key(self) -> object:
        return self.database

    def supports(self, schema: RecordSchema[Any]) -> bool:
        return schema.table in tables.metadata.tables

    def store(self, transaction: SqlTransaction, schema: RecordSchema[E], scope: TenantScope,
              guard: Guard) -> RecordStore[E]:
        return SqlRecordStore(schema, tables.metadata.tables[schema.table], transaction.connection, scope, guard,
                              copy_threshold=self.database.copy_threshold)

    def _start(self, connection: sa.Connection, scope: TenantScope) -> tuple[sa.RootTransaction, bool]:
        """The transaction begun, and whether explicitly (`explicit_begin`)."""
        root = connection.begin()
        if not self.database.uses_row_level_security:
            return root, False
        if explicit_begin.can_begin_explicitly(connection, scope):
            explicit_begin.begin_bound(connection, scope)
            return root, True
        bind_scope(connection, scope)
        return root, False

    def begin(self, scope: TenantScope) -> SqlTransaction:
        with translated("unit of work"):
            connection = self.database.engine.connect()
            try:
                return SqlTransaction(connection, *self._start(connection, scope))
            except BaseException:
                explicit_begin.release(connection)
                connection.close()
                raise

    def commit(self, transaction: SqlTransaction) -> None:
        try:
            with translated("unit of work"):
                if transaction.explicit:
                    explicit_begin.finish(transaction.connection, "COMMIT")
                transaction.root.commit()
        except StorageUnavailable as error:
            state = sqlstate(getattr(error.__cause__, "orig", None))
            if state is not None and state.startswith("40"):
                raise  # a serialization failure or deadlock at commit: refused, nothing landed
            # The COMMIT was sent, or about to be, when the connection failed: the server may have
            # committed it. Unlike any other transient failure, that is no "nothing happened".
            raise CommitOutcomeUnknown(f"the outcome of COMMIT is unknown: {error}") from error.__cause__

    def rollback(self, transaction: SqlTransaction) -> None:
        with translated("unit of work"):
            if transaction.explicit:
                explicit_begin.finish(transaction.connection, "ROLLBACK")
            transaction.root.rollback()

    def restart(self, transaction: SqlTransaction, scope: TenantScope) -> None:
        with translated("unit of work"):
            transaction.root, transaction.explicit = self._start(transaction.connection, scope)

    def close(self, transaction: SqlTransaction) -> None:
        with translated("unit of work"):
            if transaction.explicit:
                explicit_begin.release(transaction.connection)
            transaction.connection.close()  # rolls back anything left and returns it to the pool

    def committing_alone(self, transaction: SqlTransaction) -> AbstractContextManager[None]:
        if not transaction.explicit:
            return nullcontext()
        return explicit_begin.committing_alone(transaction.connection)

    def savepoint(self, transaction: SqlTransaction) -> sa.NestedTransaction:
        with translated("unit of work"):
            return transaction.connection.begin_nested()

    def release(self, transaction: SqlTransaction, savepoint: sa.NestedTransaction) -> None:
        with translated("unit of work"):
            savepoint.commit()

    def rollback_to(self, transaction: SqlTransaction, savepoint: sa.NestedTransaction) -> None:
        with translated("unit of work"):
            savepoint.rollback()
