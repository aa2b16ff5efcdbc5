"""The SQL unit of work: one connection, one transaction, savepoints for nesting."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from adapters.clock import SystemClock
from adapters.sql import processing, reliability
from adapters.sql.database import SqlDatabase
from adapters.sql.errors import translated
from adapters.sql.row_level_security import bind_scope
from adapters.sql.tenancy import SqlTenantRepository
from adapters.transactions import TransactionalUnitOfWork
from domain.processing.catalog import ProcessorCatalog
from domain.processing.processors import default_catalog
from domain.shared.scope import TenantScope
from ports.clock import Clock
from ports.unit_of_work import UnitOfWork, UnitOfWorkFactory


@dataclass(slots=True)
class SqlTransaction:
    connection: sa.Connection
    root: sa.RootTransaction


class SqlUnitOfWork(TransactionalUnitOfWork[SqlTransaction, sa.NestedTransaction]):
    def __init__(self, database: SqlDatabase, scope: TenantScope, *, catalog: ProcessorCatalog | None = None,
                 clock: Clock | None = None) -> None:
        self._database = database
        self._catalog = catalog if catalog is not None else default_catalog()
        self._clock = clock if clock is not None else SystemClock()
        super().__init__(scope, backend_key=database)

    def _start(self, connection: sa.Connection) -> sa.RootTransaction:
        root = connection.begin()
        if self._database.uses_row_level_security:
            bind_scope(connection, self.scope)
        return root

    def _begin(self) -> SqlTransaction:
        with translated("unit of work"):
            connection = self._database.engine.connect()
            try:
                return SqlTransaction(connection, self._start(connection))
            except BaseException:
                connection.close()
                raise

    def _commit(self, transaction: SqlTransaction) -> None:
        with translated("unit of work"):
            transaction.root.commit()

    def _rollback(self, transaction: SqlTransaction) -> None:
        with translated("unit of work"):
            transaction.root.rollback()

    def _restart(self, transaction: SqlTransaction) -> None:
        with translated("unit of work"):
            transaction.root = self._start(transaction.connection)

    def _close(self, transaction: SqlTransaction) -> None:
        with translated("unit of work"):
            transaction.connection.close()  # rolls back anything left and returns it to the pool

    def _savepoint(self, transaction: SqlTransaction) -> sa.NestedTransaction:
        with translated("unit of work"):
            return transaction.connection.begin_nested()

    def _release(self, transaction: SqlTransaction, savepoint: sa.NestedTransaction) -> None:
        with translated("unit of work"):
            savepoint.commit()

    def _rollback_to(self, transaction: SqlTransaction, savepoint: sa.NestedTransaction) -> None:
        with translated("unit of work"):
            savepoint.rollback()

    def _bind(self, transaction: SqlTransaction) -> None:
        connection, scope = transaction.connection, self.scope
        self.tenants = SqlTenantRepository(connection, scope)
        self.workflows = reliability.SqlWorkflowRepository(connection, scope)
        self.vendors = reliability.SqlVendorRepository(connection, scope)
        self.events = reliability.SqlEventRepository(connection, scope)
        self.incidents = reliability.SqlIncidentRepository(connection, scope)
        self.decisions = reliability.SqlDecisionRepository(connection, scope)
        self.actions = reliability.SqlActionRepository(connection, scope)
        self.kill_switches = reliability.SqlKillSwitchRepository(connection, scope)
        executions = processing.SqlExecutionRepository(connection, scope, self._catalog, self._clock)
        self.executions = executions
        self.processors = processing.SqlProcessorRepository(connection, scope, executions, self._catalog, self._clock)


class SqlUnitOfWorkFactory(UnitOfWorkFactory):
    """`catalog`: the processors `uow.processors` and `uow.executions` know (the shipped ones unless
    given); `clock`: where they take the time the processing ports do not pass."""

    def __init__(self, database: SqlDatabase, *, catalog: ProcessorCatalog | None = None,
                 clock: Clock | None = None) -> None:
        self.database = database
        self.catalog = catalog if catalog is not None else default_catalog()
        self.clock = clock if clock is not None else SystemClock()

    def __call__(self, scope: TenantScope) -> UnitOfWork:
        return SqlUnitOfWork(self.database, scope, catalog=self.catalog, clock=self.clock)
