"""A remediation action on an incident.

    PENDING -> IN_PROGRESS -> SUCCEEDED | FAILED        (PENDING -> FAILED: cancelled)
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from pydantic import Field, JsonValue

from domain.shared.entity import TenantOwned
from domain.shared.lifecycle import TransitionTable
from domain.shared.time import UtcDatetime


class ActionType(StrEnum):
    RETRY = "retry"
    ESCALATE = "escalate"
    MANUAL = "manual"


class ActionStatus(StrEnum):
    PENDING = "PENDING"
    IN_PROGRESS = "IN_PROGRESS"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


ACTION_LIFECYCLE = TransitionTable[ActionStatus]("action", {
    ActionStatus.PENDING: frozenset({ActionStatus.IN_PROGRESS, ActionStatus.FAILED}),
    ActionStatus.IN_PROGRESS: frozenset({ActionStatus.SUCCEEDED, ActionStatus.FAILED}),
    ActionStatus.SUCCEEDED: frozenset(),
    ActionStatus.FAILED: frozenset(),
})


class Action(TenantOwned):
    incident_id: uuid.UUID
    action_type: ActionType
    status: ActionStatus = ActionStatus.PENDING
    parameters: dict[str, JsonValue] = Field(default_factory=dict)
    result: dict[str, JsonValue] | None = None
    is_reversible: bool = False
    started_at: UtcDatetime | None = None
    finished_at: UtcDatetime | None = None

    def start(self, at: datetime) -> Action:
        ACTION_LIFECYCLE.check(self.status, ActionStatus.IN_PROGRESS)
        return self.evolve(status=ActionStatus.IN_PROGRESS, started_at=at, updated_at=at)

    def finish(self, succeeded: bool, result: dict[str, JsonValue], at: datetime) -> Action:
        to = ActionStatus.SUCCEEDED if succeeded else ActionStatus.FAILED
        ACTION_LIFECYCLE.check(self.status, to)
        return self.evolve(status=to, result=result, finished_at=at, updated_at=at)
