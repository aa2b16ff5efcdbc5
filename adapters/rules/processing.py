"""The processing context's unit of work (spec 000), on any backend."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

from adapters.clock import SystemClock
from adapters.records.store import RecordStore
from adapters.rules.execution_queries import ExecutionQueries, StoreExecutionQueries
from adapters.rules.executions import Executions
from adapters.rules.processors import Processors
from adapters.transactions import Backend, ContextFactory, ContextUnitOfWork
from domain.processing.catalog import ProcessorCatalog
from domain.processing.execution import Execution
from domain.processing.processors import default_catalog
from domain.processing.subscriptions import UnderwritingProcessor
from domain.shared.scope import TenantScope
from ports.clock import Clock
from ports.processing import (
    EXECUTION_SCHEMA,
    PURCHASED_PROCESSOR_SCHEMA,
    UNDERWRITING_PROCESSOR_SCHEMA,
    ExecutionRepository,
    ProcessingUnitOfWork,
    ProcessorRepository,
)
from ports.records import RecordSchema

QueriesFactory = Callable[[RecordStore[Execution], RecordStore[UnderwritingProcessor]], ExecutionQueries]
"""Builds a backend's executions queries from the two stores they read."""
ConfigChanges = Callable[[TenantScope, Sequence[uuid.UUID]], None]
"""Told, after the commit, which underwriting processors' effective configs the transaction changed
or removed (the effective-config cache drops them)."""


class ProcessingWork(ContextUnitOfWork, ProcessingUnitOfWork):
    schemas: ClassVar[tuple[RecordSchema[Any], ...]] = (
        PURCHASED_PROCESSOR_SCHEMA, UNDERWRITING_PROCESSOR_SCHEMA, EXECUTION_SCHEMA,
    )

    def __init__(self, backend: Backend[Any, Any], scope: TenantScope, *, catalog: ProcessorCatalog, clock: Clock,
                 queries: QueriesFactory, config_changes: ConfigChanges | None = None) -> None:
        super().__init__(backend, scope, clock)
        self._catalog = catalog
        self._clock = clock
        self._queries = queries
        self._config_changes = config_changes

    def _config_changed(self, ids: Sequence[uuid.UUID]) -> None:
        listener = self._config_changes
        if listener is not None and ids:
            changed, scope = tuple(ids), self.scope
            self.after_commit(lambda: listener(scope, changed))

    @property
    def executions(self) -> ExecutionRepository:
        return self._repository("executions", self._executions)

    def _executions(self) -> Executions:
        store = self.store(EXECUTION_SCHEMA)
        queries = self._queries(store, self.store(UNDERWRITING_PROCESSOR_SCHEMA))
        return Executions(store, queries, self._catalog, self._clock)

    @property
    def processors(self) -> ProcessorRepository:
        return self._repository("processors", lambda: Processors(
            self.store(PURCHASED_PROCESSOR_SCHEMA), self.store(UNDERWRITING_PROCESSOR_SCHEMA),
            self.store(EXECUTION_SCHEMA), self._catalog, self._clock, self._config_changed,
        ))


def processing_units(backend: Backend[Any, Any], *, catalog: ProcessorCatalog | None = None,
                     clock: Clock | None = None, queries: QueriesFactory | None = None,
                     config_changes: ConfigChanges | None = None) -> ContextFactory[ProcessingUnitOfWork]:
    """`catalog`: the processors the repositories know (the shipped ones unless given); `clock`: where
    they take the time the ports do not pass; `queries`: the backend's own executions queries;
    `config_changes`: told after each commit which effective configs it changed."""
    known = catalog if catalog is not None else default_catalog()
    time = clock if clock is not None else SystemClock()
    build = queries if queries is not None else StoreExecutionQueries
    return ContextFactory(backend, "processing", ProcessingWork.schemas, lambda scope: ProcessingWork(
        backend, scope, catalog=known, clock=time, queries=build, config_changes=config_changes))
