"""The processing repositories in memory: the shared rules of `adapters.processing` over
`MemoryRecords`, with the store's primitives. They answer exactly as the SQL ones: same order, same
errors, the same partial unique key (waited for like PostgreSQL's index)."""

from __future__ import annotations

import copy
import uuid
from collections import defaultdict

from adapters.memory import querying
from adapters.memory.crud import table_rules
from adapters.memory.reliability import MemoryRecords
from adapters.memory.store import MemoryTransaction, TableRules
from adapters.processing import (
    LIVE_PAYLOAD_KEY,
    ExecutionRules,
    ProcessorRules,
    PurchasedRecords,
    UnderwritingRecords,
)
from adapters.reliability import OLDEST_FIRST
from domain.processing.catalog import ProcessorCatalog
from domain.processing.execution import Execution, ExecutionStatus
from domain.processing.filters import ExecutionFilter, PurchasedProcessorFilter, UnderwritingProcessorFilter
from domain.processing.subscriptions import PurchasedProcessor, UnderwritingProcessor
from domain.shared.entity import Entity
from domain.shared.scope import TenantScope
from ports.clock import Clock
from ports.processing import (
    DEDUPLICATED_STATUSES,
    EXECUTION_SCHEMA,
    PURCHASED_PROCESSOR_SCHEMA,
    UNDERWRITING_PROCESSOR_SCHEMA,
)

PURCHASED = "purchased_processors"
UNDERWRITING = "underwriting_processors"
EXECUTIONS = "processor_executions"

LIVE_PAYLOAD = "live_payload"
"""The partial unique key's name (a partial unique index in SQL)."""


def _is_live(row: Entity) -> bool:
    return isinstance(row, Execution) and row.status in DEDUPLICATED_STATUSES


TABLES: dict[str, TableRules] = {
    PURCHASED: table_rules(PURCHASED_PROCESSOR_SCHEMA),
    UNDERWRITING: table_rules(UNDERWRITING_PROCESSOR_SCHEMA),
    EXECUTIONS: TableRules(
        EXECUTION_SCHEMA.entity,
        {**EXECUTION_SCHEMA.unique_keys, LIVE_PAYLOAD: LIVE_PAYLOAD_KEY},
        partial={LIVE_PAYLOAD: _is_live},
    ),
}
"""Every processing table with its unique keys, for `create_memory_database`."""


class MemoryPurchasedStore(MemoryRecords[PurchasedProcessor, PurchasedProcessorFilter], PurchasedRecords):
    def __init__(self, transaction: MemoryTransaction, scope: TenantScope) -> None:
        super().__init__(PURCHASED_PROCESSOR_SCHEMA, PURCHASED, transaction, scope)


class MemoryUnderwritingStore(MemoryRecords[UnderwritingProcessor, UnderwritingProcessorFilter],
                              UnderwritingRecords):
    def __init__(self, transaction: MemoryTransaction, scope: TenantScope) -> None:
        super().__init__(UNDERWRITING_PROCESSOR_SCHEMA, UNDERWRITING, transaction, scope)


class MemoryExecutionRepository(MemoryRecords[Execution, ExecutionFilter], ExecutionRules):
    def __init__(self, transaction: MemoryTransaction, scope: TenantScope, catalog: ProcessorCatalog,
                 clock: Clock) -> None:
        super().__init__(EXECUTION_SCHEMA, EXECUTIONS, transaction, scope)
        self._catalog = catalog
        self._clock = clock

    def _insert_deduplicated(self, execution: Execution) -> bool:
        return bool(self._live().insert(self._table, [execution], skip_taken=True))

    def _active(self, up_id: uuid.UUID) -> list[Execution]:
        rows = self._rows()  # first: from system scope this raises, as the SQL statement does
        tenant = self._schema.scope_value(self._scope)
        up = self._live().get(UNDERWRITING, up_id)
        if not isinstance(up, UnderwritingProcessor) or (tenant is not None and up.organization_id != tenant):
            return []
        by_id = {row.id: row for row in rows}
        listed = (by_id.get(execution_id) for execution_id in up.current_executions_list)
        return [
            copy.deepcopy(row) for row in listed
            if row is not None and row.underwriting_processor_id == up.id and row.enabled
            and row.status == ExecutionStatus.COMPLETED
        ]

    def _chain(self, execution_id: uuid.UUID) -> list[Execution]:
        by_id = {row.id: row for row in self._rows()}
        if execution_id not in by_id:
            return []
        predecessors: defaultdict[uuid.UUID, list[uuid.UUID]] = defaultdict(list)
        for row in by_id.values():
            if row.updated_execution_id is not None:
                predecessors[row.updated_execution_id].append(row.id)
        linked, frontier = {execution_id}, [execution_id]
        while frontier:
            current = by_id[frontier.pop()]
            for neighbour in (*predecessors[current.id], current.updated_execution_id):
                # A link to an invisible or missing row leads nowhere, as the SQL join finds no row.
                if neighbour is not None and neighbour in by_id and neighbour not in linked:
                    linked.add(neighbour)
                    frontier.append(neighbour)
        ordered = querying.order([by_id[key] for key in linked], OLDEST_FIRST)
        return [copy.deepcopy(row) for row in ordered]


class MemoryProcessorRepository(ProcessorRules):
    def __init__(self, transaction: MemoryTransaction, scope: TenantScope, executions: MemoryExecutionRepository,
                 catalog: ProcessorCatalog, clock: Clock) -> None:
        super().__init__(MemoryPurchasedStore(transaction, scope), MemoryUnderwritingStore(transaction, scope),
                         executions, catalog, clock)
