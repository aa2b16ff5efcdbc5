"""The reliability repositories in memory: the shared rules of `adapters.reliability` over
`MemoryCrud`, with the store's primitives."""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TypeVar, cast

from adapters.memory import querying
from adapters.memory.crud import MemoryCrud, table_rules
from adapters.memory.store import MemoryTransaction, TableRules
from adapters.reliability import (
    ActionRules,
    AppendOnly,
    DecisionRules,
    EventRules,
    IncidentRules,
    KillSwitchRules,
    Query,
    VendorRules,
    WorkflowRules,
)
from domain.reliability.action import Action
from domain.reliability.decision import Decision
from domain.reliability.event import Event
from domain.reliability.filters import (
    ActionFilter,
    DecisionFilter,
    EventFilter,
    IncidentFilter,
    KillSwitchFilter,
    VendorFilter,
    WorkflowFilter,
)
from domain.reliability.incident import Incident
from domain.reliability.kill_switch import KillSwitch
from domain.reliability.vendor import Vendor
from domain.reliability.workflow import Workflow
from domain.shared.entity import Entity
from domain.shared.filters import FilterSet
from domain.shared.scope import TenantScope
from ports.reliability import (
    ACTION_SCHEMA,
    DECISION_SCHEMA,
    EVENT_SCHEMA,
    INCIDENT_SCHEMA,
    KILL_SWITCH_SCHEMA,
    VENDOR_SCHEMA,
    WORKFLOW_SCHEMA,
)

E = TypeVar("E", bound=Entity)
F = TypeVar("F", bound=FilterSet)

WORKFLOWS = "workflows"
VENDORS = "vendors"
EVENTS = "events"
INCIDENTS = "incidents"
DECISIONS = "decisions"
ACTIONS = "actions"
KILL_SWITCHES = "kill_switches"

OPEN_SIGNATURE = "open_signature"
"""The partial unique key: one open incident per signature and tenant (a partial index in SQL)."""


def _is_open(row: Entity) -> bool:
    return isinstance(row, Incident) and row.is_open


TABLES: dict[str, TableRules] = {
    WORKFLOWS: table_rules(WORKFLOW_SCHEMA),
    VENDORS: table_rules(VENDOR_SCHEMA),
    EVENTS: table_rules(EVENT_SCHEMA),
    INCIDENTS: TableRules(
        INCIDENT_SCHEMA.entity,
        {**INCIDENT_SCHEMA.unique_keys, OPEN_SIGNATURE: ("tenant_id", "signature")},
        partial={OPEN_SIGNATURE: _is_open},
    ),
    DECISIONS: table_rules(DECISION_SCHEMA),
    ACTIONS: table_rules(ACTION_SCHEMA),
    KILL_SWITCHES: table_rules(KILL_SWITCH_SCHEMA),
}
"""Every reliability table with its unique keys, for `create_memory_database`."""


class MemoryRecords(MemoryCrud[E, F]):
    """`MemoryCrud` with the primitives the shared rules are written over."""

    def _find(self, query: Query) -> list[E]:
        rows = querying.order(querying.select(self._rows(), query.conditions), query.sort)
        return [copy.deepcopy(row) for row in rows[: query.limit]]

    def _count_by(self, field: str) -> dict[Any, int]:
        return dict(Counter(getattr(row, field) for row in self._rows()))

    @contextmanager
    def _atomically(self) -> Iterator[None]:
        transaction = self._live()
        savepoint = transaction.savepoint()
        try:
            yield
        except BaseException:
            transaction.rollback_to(savepoint)
            raise


class MemoryWorkflowRepository(MemoryRecords[Workflow, WorkflowFilter], WorkflowRules):
    def __init__(self, transaction: MemoryTransaction, scope: TenantScope) -> None:
        super().__init__(WORKFLOW_SCHEMA, WORKFLOWS, transaction, scope)


class MemoryVendorRepository(MemoryRecords[Vendor, VendorFilter], VendorRules):
    def __init__(self, transaction: MemoryTransaction, scope: TenantScope) -> None:
        super().__init__(VENDOR_SCHEMA, VENDORS, transaction, scope)


class MemoryEventRepository(AppendOnly, MemoryRecords[Event, EventFilter], EventRules):
    def __init__(self, transaction: MemoryTransaction, scope: TenantScope) -> None:
        super().__init__(EVENT_SCHEMA, EVENTS, transaction, scope)

    def _insert_new(self, events: list[Event]) -> set[str]:
        inserted = cast(list[Event], self._live().insert(self._table, list(events), skip_taken=True))
        return {event.idempotency_key for event in inserted}


class MemoryIncidentRepository(MemoryRecords[Incident, IncidentFilter], IncidentRules):
    def __init__(self, transaction: MemoryTransaction, scope: TenantScope) -> None:
        super().__init__(INCIDENT_SCHEMA, INCIDENTS, transaction, scope)

    def _insert_open(self, incident: Incident) -> bool:
        return bool(self._live().insert(self._table, [incident], skip_taken=True))


class MemoryDecisionRepository(AppendOnly, MemoryRecords[Decision, DecisionFilter], DecisionRules):
    def __init__(self, transaction: MemoryTransaction, scope: TenantScope) -> None:
        super().__init__(DECISION_SCHEMA, DECISIONS, transaction, scope)


class MemoryActionRepository(MemoryRecords[Action, ActionFilter], ActionRules):
    def __init__(self, transaction: MemoryTransaction, scope: TenantScope) -> None:
        super().__init__(ACTION_SCHEMA, ACTIONS, transaction, scope)


class MemoryKillSwitchRepository(MemoryRecords[KillSwitch, KillSwitchFilter], KillSwitchRules):
    def __init__(self, transaction: MemoryTransaction, scope: TenantScope) -> None:
        super().__init__(KILL_SWITCH_SCHEMA, KILL_SWITCHES, transaction, scope)
