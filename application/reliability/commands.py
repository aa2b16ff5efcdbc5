"""Commands of the reliability use cases, validated at the boundary."""

from __future__ import annotations

import uuid

from pydantic import Field, JsonValue

from application.commands import Command
from domain.reliability.action import ActionType
from domain.reliability.event import EventType, IdempotencyKey
from domain.reliability.incident import IncidentStatus, Severity
from domain.shared.time import UtcDatetime


class NewWorkflow(Command):
    tenant_id: uuid.UUID
    name: str
    description: str = ""


class NewVendor(Command):
    name: str
    failure_threshold: int = Field(default=5, ge=1)
    cool_down_seconds: int = Field(default=60, ge=1)
    rate_limit_per_minute: int = Field(default=600, ge=1)


class IncomingEvent(Command):
    tenant_id: uuid.UUID
    workflow_id: uuid.UUID
    event_type: EventType
    idempotency_key: IdempotencyKey
    payload: dict[str, JsonValue] = Field(default_factory=dict)
    correlation_id: str | None = Field(default=None, max_length=255)
    occurred_at: UtcDatetime | None = None
    """When it happened at the source; the ingestion time when not given."""
    severity: Severity = Severity.MEDIUM
    """Severity of the incident this event opens, if it opens one."""


class NewDecision(Command):
    tenant_id: uuid.UUID
    incident_id: uuid.UUID
    decision_type: str
    reasoning: str
    confidence_score: float
    ai_model: str


class IncidentMove(Command):
    tenant_id: uuid.UUID
    incident_id: uuid.UUID
    status: IncidentStatus


class NewAction(Command):
    tenant_id: uuid.UUID
    incident_id: uuid.UUID
    action_type: ActionType
    parameters: dict[str, JsonValue] = Field(default_factory=dict)
    is_reversible: bool = False


class ActionOutcome(Command):
    tenant_id: uuid.UUID
    action_id: uuid.UUID
    succeeded: bool
    result: dict[str, JsonValue] = Field(default_factory=dict)


class KillSwitchActivation(Command):
    tenant_id: uuid.UUID
    workflow_id: uuid.UUID | None = None
    reason: str
    activated_by: str


class KillSwitchRelease(Command):
    tenant_id: uuid.UUID
    kill_switch_id: uuid.UUID
    released_by: str
