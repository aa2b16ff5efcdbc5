"""The in-memory unit of work: transactional and thread-safe, like the SQL one."""

from __future__ import annotations

from adapters.clock import SystemClock
from adapters.memory import processing, reliability
from adapters.memory.crud import table_rules
from adapters.memory.store import MemoryDatabase, MemoryTransaction, Overlay
from adapters.memory.tenancy import TABLE as TENANTS_TABLE
from adapters.memory.tenancy import MemoryTenantRepository
from adapters.transactions import TransactionalUnitOfWork
from domain.processing.catalog import ProcessorCatalog
from domain.processing.processors import default_catalog
from domain.shared.scope import TenantScope
from ports.clock import Clock
from ports.tenancy import TENANT_SCHEMA
from ports.unit_of_work import UnitOfWork, UnitOfWorkFactory


def create_memory_database() -> MemoryDatabase:
    """A memory database with every table of every context registered."""
    database = MemoryDatabase()
    database.register(TENANTS_TABLE, table_rules(TENANT_SCHEMA))
    for table, rules in (*reliability.TABLES.items(), *processing.TABLES.items()):
        database.register(table, rules)
    return database


class MemoryUnitOfWork(TransactionalUnitOfWork[MemoryTransaction, Overlay]):
    def __init__(self, database: MemoryDatabase, scope: TenantScope, *, catalog: ProcessorCatalog | None = None,
                 clock: Clock | None = None) -> None:
        self._database = database
        self._catalog = catalog if catalog is not None else default_catalog()
        self._clock = clock if clock is not None else SystemClock()
        super().__init__(scope, backend_key=database)

    def _begin(self) -> MemoryTransaction:
        return self._database.begin()

    def _commit(self, transaction: MemoryTransaction) -> None:
        transaction.commit()

    def _rollback(self, transaction: MemoryTransaction) -> None:
        transaction.rollback()

    def _restart(self, transaction: MemoryTransaction) -> None:
        """The overlay was emptied by commit or rollback: the same object goes on."""

    def _close(self, transaction: MemoryTransaction) -> None:
        transaction.rollback()
        transaction.closed = True

    def _savepoint(self, transaction: MemoryTransaction) -> Overlay:
        return transaction.savepoint()

    def _release(self, transaction: MemoryTransaction, savepoint: Overlay) -> None:
        """Releasing keeps the writes: nothing to do."""

    def _rollback_to(self, transaction: MemoryTransaction, savepoint: Overlay) -> None:
        transaction.rollback_to(savepoint)

    def _bind(self, transaction: MemoryTransaction) -> None:
        scope = self.scope
        self.tenants = MemoryTenantRepository(transaction, scope)
        self.workflows = reliability.MemoryWorkflowRepository(transaction, scope)
        self.vendors = reliability.MemoryVendorRepository(transaction, scope)
        self.events = reliability.MemoryEventRepository(transaction, scope)
        self.incidents = reliability.MemoryIncidentRepository(transaction, scope)
        self.decisions = reliability.MemoryDecisionRepository(transaction, scope)
        self.actions = reliability.MemoryActionRepository(transaction, scope)
        self.kill_switches = reliability.MemoryKillSwitchRepository(transaction, scope)
        executions = processing.MemoryExecutionRepository(transaction, scope, self._catalog, self._clock)
        self.executions = executions
        self.processors = processing.MemoryProcessorRepository(transaction, scope, executions, self._catalog,
                                                               self._clock)


class MemoryUnitOfWorkFactory(UnitOfWorkFactory):
    """`catalog`: the processors `uow.processors` and `uow.executions` know (the shipped ones unless
    given); `clock`: where they take the time the processing ports do not pass."""

    def __init__(self, database: MemoryDatabase, *, catalog: ProcessorCatalog | None = None,
                 clock: Clock | None = None) -> None:
        self.database = database
        self.catalog = catalog if catalog is not None else default_catalog()
        self.clock = clock if clock is not None else SystemClock()

    def __call__(self, scope: TenantScope) -> UnitOfWork:
        return MemoryUnitOfWork(self.database, scope, catalog=self.catalog, clock=self.clock)
