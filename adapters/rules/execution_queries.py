"""The two executions queries a backend may answer in one statement: the active executions of an
underwriting processor, and the supersession chain of an execution.

`StoreExecutionQueries` answers them over any record store (memory and BigQuery use it); the SQL
backend supplies its own, one statement each (`adapters/sql/processing.py`).
"""

from __future__ import annotations

import uuid
from abc import ABC, abstractmethod

from adapters.records.store import Query, RecordStore, equal
from domain.processing.execution import Execution, ExecutionStatus
from domain.processing.subscriptions import UnderwritingProcessor
from domain.shared.filters import Condition, Operator


class ExecutionQueries(ABC):
    @abstractmethod
    def active(self, up_id: uuid.UUID) -> list[Execution]:
        """The executions whose ids are in the current executions list of the visible underwriting
        processor `up_id`, that belong to it, are enabled and completed, in the list's order ([] if
        the processor is not visible). An id the list holds twice may come back twice."""

    @abstractmethod
    def chain(self, execution_id: uuid.UUID) -> list[Execution]:
        """Every visible execution reachable from `execution_id` through `updated_execution_id`
        links followed in either direction (itself included), ordered by (created_at, id); [] if it
        is not visible. Terminates whatever the links."""


class StoreExecutionQueries(ExecutionQueries):
    """Over the stores' `find`: two reads for the active executions, one per step of the chain."""

    def __init__(self, executions: RecordStore[Execution], underwriting: RecordStore[UnderwritingProcessor]) -> None:
        self._executions = executions
        self._underwriting = underwriting

    def active(self, up_id: uuid.UUID) -> list[Execution]:
        self._executions.schema.scope_value(self._executions.scope)  # from system scope this raises first
        up = self._underwriting.get(up_id)
        if up is None or not up.current_executions_list:
            return []
        found = self._executions.find(Query((
            Condition("id", Operator.IN, tuple(dict.fromkeys(up.current_executions_list))),
            equal("underwriting_processor_id", up.id),
            equal("enabled", True),
            equal("status", ExecutionStatus.COMPLETED.value),
        )))
        by_id = {row.id: row for row in found}
        return [by_id[key] for key in up.current_executions_list if key in by_id]

    def chain(self, execution_id: uuid.UUID) -> list[Execution]:
        start = self._executions.get(execution_id)
        if start is None:
            return []
        linked = {start.id: start}
        frontier = [start]
        while frontier:
            # One step both ways: the records the frontier superseded, and those that superseded it.
            # A link to a missing or invisible record finds no row and leads nowhere.
            steps = [Condition("updated_execution_id", Operator.IN, tuple(sorted(row.id for row in frontier)))]
            forward = sorted(key for key in {row.updated_execution_id for row in frontier} if key not in linked
                             and key is not None)
            if forward:
                steps.append(Condition("id", Operator.IN, tuple(forward)))
            rows = self._executions.find(Query(any_of=tuple(steps)))
            frontier = [row for row in rows if row.id not in linked]
            linked.update((row.id, row) for row in frontier)
        return sorted(linked.values(), key=lambda row: (row.created_at, row.id))


