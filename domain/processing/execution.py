"""`processor_executions`: one run of a processor for an underwriting.

    pending -> running -> completed | failed

Supersession: a newer execution replaces an older one (`updated_execution_id` on the old one points
to the new one, and the old one is disabled). Activation decides which executions consolidate.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from pydantic import Field, JsonValue

from domain.processing.subscriptions import ProcessorName
from domain.shared.entity import Entity
from domain.shared.errors import InvalidTransition
from domain.shared.ids import TenantId
from domain.shared.lifecycle import TransitionTable
from domain.shared.time import UtcDatetime


class ExecutionStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"


EXECUTION_LIFECYCLE = TransitionTable[ExecutionStatus]("execution", {
    ExecutionStatus.PENDING: frozenset({ExecutionStatus.RUNNING}),
    ExecutionStatus.RUNNING: frozenset({ExecutionStatus.COMPLETED, ExecutionStatus.FAILED}),
    ExecutionStatus.COMPLETED: frozenset(),
    ExecutionStatus.FAILED: frozenset(),
})


class Execution(Entity):
    organization_id: TenantId
    underwriting_id: uuid.UUID
    underwriting_processor_id: uuid.UUID
    processor: ProcessorName
    status: ExecutionStatus = ExecutionStatus.PENDING
    enabled: bool = True
    payload: dict[str, JsonValue] = Field(default_factory=dict)
    payload_hash: str = Field(pattern=r"^[0-9a-f]{64}$")
    output: dict[str, JsonValue] | None = None
    factors_delta: dict[str, JsonValue] | None = None
    document_revision_ids: list[str] = Field(default_factory=list)
    document_ids_hash: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")
    run_cost_cents: int | None = Field(default=None, ge=0)
    started_at: UtcDatetime | None = None
    completed_at: UtcDatetime | None = None
    failed_code: str | None = Field(default=None, max_length=100)
    failed_reason: str | None = Field(default=None, max_length=5000)
    updated_execution_id: uuid.UUID | None = None
    """Set on a superseded execution: the one that replaced it."""
    disabled_at: UtcDatetime | None = None

    def _move(self, to: ExecutionStatus, at: datetime, **changes: object) -> Execution:
        EXECUTION_LIFECYCLE.check(self.status, to)
        return self.evolve(status=to, updated_at=at, **changes)

    def start(self, at: datetime) -> Execution:
        return self._move(ExecutionStatus.RUNNING, at, started_at=at)

    def complete(self, output: dict[str, JsonValue], factors_delta: dict[str, JsonValue], cost_cents: int,
                 at: datetime) -> Execution:
        return self._move(ExecutionStatus.COMPLETED, at, output=output, factors_delta=factors_delta,
                          run_cost_cents=cost_cents, completed_at=at)

    def fail(self, code: str | None, reason: str | None, at: datetime) -> Execution:
        return self._move(ExecutionStatus.FAILED, at, failed_code=code, failed_reason=reason, completed_at=at)

    def moved_to(self, status: ExecutionStatus, at: datetime, *, failed_code: str | None = None,
                 failed_reason: str | None = None) -> Execution:
        """The lifecycle move spec 000's `update_execution_status` asks for. A completion through it
        records no result (`complete` does); failure details belong to a move to failed only."""
        if (failed_code is not None or failed_reason is not None) and status is not ExecutionStatus.FAILED:
            raise InvalidTransition("execution", self.status.value, f"{status.value} with failure details")
        if status is ExecutionStatus.RUNNING:
            return self.start(at)
        if status is ExecutionStatus.FAILED:
            return self.fail(failed_code, failed_reason, at)
        return self._move(status, at, completed_at=at)

    def superseded_by(self, newer: Execution, at: datetime) -> Execution:
        if newer.id == self.id:
            raise InvalidTransition("execution", str(self.id), "superseded by itself")
        if newer.underwriting_processor_id != self.underwriting_processor_id:
            raise InvalidTransition("execution", "its processor", "superseded by another processor's execution")
        return self.evolve(updated_execution_id=newer.id, enabled=False, disabled_at=at, updated_at=at)

    def activate(self, at: datetime) -> Execution:
        return self.evolve(enabled=True, disabled_at=None, updated_at=at)

    def deactivate(self, at: datetime) -> Execution:
        return self.evolve(enabled=False, disabled_at=at, updated_at=at)

    @property
    def is_active(self) -> bool:
        return self.enabled and self.status is ExecutionStatus.COMPLETED
