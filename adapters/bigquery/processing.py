"""The processing repositories on BigQuery (spec 000): the shared rules of `adapters.processing` over
`BigQueryRecords`, with BigQuery primitives.

- `_insert_deduplicated`: one query reads the visible records sharing the new execution's id or live
  payload key; a taken key leaves the execution out. A unit of work racing with this one on the same
  key is not waited for: whichever publishes its commit first wins, and the other's commit fails with
  `Conflict` (see `adapters/bigquery/unit_of_work.py`).
- `_active`: the underwriting processor, then its listed executions (one query with the list as an
  array parameter), in the list's order.
- `_chain`: a breadth-first walk, one query per step (`updated_execution_id IN UNNEST(@frontier) OR
  id IN UNNEST(@forward_links)`), each record visited once, so any links terminate.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from adapters.bigquery.crud import BigQueryRecords
from adapters.bigquery.schema import EXECUTIONS_TABLE, PURCHASED_TABLE, UNDERWRITING_TABLE
from adapters.memory import querying
from adapters.processing import ExecutionRules, ProcessorRules, PurchasedRecords, UnderwritingRecords
from adapters.reliability import OLDEST_FIRST
from domain.processing.catalog import ProcessorCatalog
from domain.processing.execution import Execution, ExecutionStatus
from domain.processing.filters import ExecutionFilter, PurchasedProcessorFilter, UnderwritingProcessorFilter
from domain.processing.subscriptions import PurchasedProcessor, UnderwritingProcessor
from domain.shared.filters import Condition, Operator
from ports.clock import Clock

if TYPE_CHECKING:
    from adapters.bigquery.unit_of_work import BigQueryTransaction


class BigQueryPurchasedStore(BigQueryRecords[PurchasedProcessor, PurchasedProcessorFilter], PurchasedRecords):
    def __init__(self, transaction: BigQueryTransaction) -> None:
        super().__init__(PURCHASED_TABLE, transaction)


class BigQueryUnderwritingStore(BigQueryRecords[UnderwritingProcessor, UnderwritingProcessorFilter],
                                UnderwritingRecords):
    def __init__(self, transaction: BigQueryTransaction) -> None:
        super().__init__(UNDERWRITING_TABLE, transaction)


class BigQueryExecutionRepository(BigQueryRecords[Execution, ExecutionFilter], ExecutionRules):
    def __init__(self, transaction: BigQueryTransaction, catalog: ProcessorCatalog, clock: Clock) -> None:
        super().__init__(EXECUTIONS_TABLE, transaction)
        self._catalog = catalog
        self._clock = clock

    def _insert_deduplicated(self, execution: Execution) -> bool:
        return bool(self._live().insert(self._definition, [execution], skip_taken=True))

    def _active(self, up_id: uuid.UUID) -> list[Execution]:
        transaction = self._live()
        transaction.tenant(self._definition)  # from system scope this raises, before any read
        up = transaction.get(UNDERWRITING_TABLE, up_id)
        if up is None or not up.current_executions_list:
            return []
        found = transaction.select(self._definition, (
            Condition("id", Operator.IN, tuple(dict.fromkeys(up.current_executions_list))),
            Condition("underwriting_processor_id", Operator.EQ, up.id),
            Condition("enabled", Operator.EQ, True),
            Condition("status", Operator.EQ, ExecutionStatus.COMPLETED.value),
        ), OLDEST_FIRST)
        by_id = {row.id: row for row in found}
        return [by_id[key] for key in up.current_executions_list if key in by_id]

    def _chain(self, execution_id: uuid.UUID) -> list[Execution]:
        transaction = self._live()
        transaction.tenant(self._definition)  # from system scope this raises, before any read
        start = transaction.get(self._definition, execution_id)
        if start is None:
            return []
        linked = {start.id: start}
        frontier = [start]
        while frontier:
            # One step both ways: the records the frontier superseded, and those that superseded it.
            # A link to a missing or invisible record finds no row and leads nowhere.
            steps = [Condition("updated_execution_id", Operator.IN, tuple(sorted(row.id for row in frontier)))]
            forward = {row.updated_execution_id for row in frontier} - {None, *linked}
            if forward:
                steps.append(Condition("id", Operator.IN, tuple(sorted(key for key in forward if key is not None))))
            rows = transaction.select(self._definition, (), OLDEST_FIRST, any_of=steps)
            frontier = [row for row in rows if row.id not in linked]
            linked.update((row.id, row) for row in frontier)
        return querying.order(list(linked.values()), OLDEST_FIRST)


class BigQueryProcessorRepository(ProcessorRules):
    def __init__(self, transaction: BigQueryTransaction, executions: BigQueryExecutionRepository,
                 catalog: ProcessorCatalog, clock: Clock) -> None:
        super().__init__(BigQueryPurchasedStore(transaction), BigQueryUnderwritingStore(transaction),
                         executions, catalog, clock)
