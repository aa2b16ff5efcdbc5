"""Typed filters of the reliability listings."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from domain.reliability.action import ActionStatus
from domain.reliability.incident import IncidentStatus, Severity
from domain.shared.filters import Condition, FilterSet, Operator
from domain.shared.time import ensure_utc


def _since(field: str, value: datetime | None) -> list[Condition]:
    return [] if value is None else [Condition(field, Operator.GTE, ensure_utc(value, field))]


@dataclass(frozen=True, slots=True)
class WorkflowFilter(FilterSet):
    is_active: bool | None = None
    name_contains: str | None = None

    def conditions(self) -> tuple[Condition, ...]:
        found = []
        if self.is_active is not None:
            found.append(Condition("is_active", Operator.EQ, self.is_active))
        if self.name_contains:
            found.append(Condition("name", Operator.CONTAINS, self.name_contains))
        return tuple(found)


@dataclass(frozen=True, slots=True)
class VendorFilter(FilterSet):
    name_contains: str | None = None

    def conditions(self) -> tuple[Condition, ...]:
        return (Condition("name", Operator.CONTAINS, self.name_contains),) if self.name_contains else ()


@dataclass(frozen=True, slots=True)
class EventFilter(FilterSet):
    workflow_id: uuid.UUID | None = None
    event_type: str | None = None
    correlation_id: str | None = None
    occurred_from: datetime | None = None
    occurred_before: datetime | None = None

    def conditions(self) -> tuple[Condition, ...]:
        found = _since("occurred_at", self.occurred_from)
        if self.workflow_id is not None:
            found.append(Condition("workflow_id", Operator.EQ, self.workflow_id))
        if self.event_type is not None:
            found.append(Condition("event_type", Operator.EQ, self.event_type))
        if self.correlation_id is not None:
            found.append(Condition("correlation_id", Operator.EQ, self.correlation_id))
        if self.occurred_before is not None:
            found.append(Condition("occurred_at", Operator.LT, ensure_utc(self.occurred_before, "occurred_before")))
        return tuple(found)


@dataclass(frozen=True, slots=True)
class IncidentFilter(FilterSet):
    statuses: tuple[IncidentStatus, ...] | None = None
    severity: Severity | None = None
    workflow_id: uuid.UUID | None = None
    signature: str | None = None
    signatures: tuple[str, ...] | None = None

    def conditions(self) -> tuple[Condition, ...]:
        found = []
        if self.signatures is not None:
            found.append(Condition("signature", Operator.IN, self.signatures))
        if self.statuses is not None:
            found.append(Condition("status", Operator.IN, tuple(s.value for s in self.statuses)))
        if self.severity is not None:
            found.append(Condition("severity", Operator.EQ, self.severity.value))
        if self.workflow_id is not None:
            found.append(Condition("workflow_id", Operator.EQ, self.workflow_id))
        if self.signature is not None:
            found.append(Condition("signature", Operator.EQ, self.signature))
        return tuple(found)


@dataclass(frozen=True, slots=True)
class DecisionFilter(FilterSet):
    incident_id: uuid.UUID | None = None
    decision_type: str | None = None

    def conditions(self) -> tuple[Condition, ...]:
        found = []
        if self.incident_id is not None:
            found.append(Condition("incident_id", Operator.EQ, self.incident_id))
        if self.decision_type is not None:
            found.append(Condition("decision_type", Operator.EQ, self.decision_type))
        return tuple(found)


@dataclass(frozen=True, slots=True)
class ActionFilter(FilterSet):
    incident_id: uuid.UUID | None = None
    statuses: tuple[ActionStatus, ...] | None = None

    def conditions(self) -> tuple[Condition, ...]:
        found = []
        if self.incident_id is not None:
            found.append(Condition("incident_id", Operator.EQ, self.incident_id))
        if self.statuses is not None:
            found.append(Condition("status", Operator.IN, tuple(s.value for s in self.statuses)))
        return tuple(found)


@dataclass(frozen=True, slots=True)
class KillSwitchFilter(FilterSet):
    is_active: bool | None = None
    workflow_id: uuid.UUID | None = None

    def conditions(self) -> tuple[Condition, ...]:
        found = []
        if self.is_active is not None:
            found.append(Condition("is_active", Operator.EQ, self.is_active))
        if self.workflow_id is not None:
            found.append(Condition("workflow_id", Operator.EQ, self.workflow_id))
        return tuple(found)
