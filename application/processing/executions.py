"""Executions: submission with deduplication, the lifecycle, supersession, consolidation and
auto-execution (patterns 2 to 6 of spec 000)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from application.processing.commands import AutoRun, Completion, Failure, Submission
from application.retry import retrying
from domain.processing.execution import Execution, ExecutionStatus
from domain.processing.hashing import document_set_hash, payload_hash
from domain.shared.errors import ConcurrencyConflict, Conflict, InvalidTransition, NotFound
from domain.shared.ids import parse_id
from ports.clock import Clock
from ports.processing import ProcessingUnitOfWork, ProcessingUnitOfWorkFactory


class Outcome(StrEnum):
    CREATED = "created"
    REUSED = "reused"
    """A completed execution with the same payload: its output stands."""
    IN_PROGRESS = "in_progress"
    """A pending or running one with the same payload: wait for it."""
    RETRIED = "retried"
    """The previous execution with this payload failed: a new one was created."""


@dataclass(frozen=True, slots=True)
class Submitted:
    execution: Execution
    outcome: Outcome


def _submit(uow: ProcessingUnitOfWork, command: Submission, clock: Clock) -> Submitted:
    up = uow.processors.get_underwriting_processor_by_id(command.underwriting_processor_id)
    if up is None:
        raise NotFound("UnderwritingProcessor", command.underwriting_processor_id)
    digest = payload_hash(command.payload)
    existing = uow.executions.find_execution_by_hash(up.id, digest)
    if existing is not None and existing.status is ExecutionStatus.COMPLETED:
        return Submitted(existing, Outcome.REUSED)
    if existing is not None and existing.status in (ExecutionStatus.PENDING, ExecutionStatus.RUNNING):
        return Submitted(existing, Outcome.IN_PROGRESS)
    try:
        created = uow.executions.create_execution(
            up.underwriting_id, up.id, up.organization_id, up.processor, dict(command.payload), digest,
            command.document_revision_ids,
            document_set_hash(command.document_revision_ids) if command.document_revision_ids else None,
            at=clock.now(),
        )
    except Conflict:
        # A concurrent submission of the same payload won the unique index: report its execution.
        winner = uow.executions.find_execution_by_hash(up.id, digest)
        if winner is None:
            raise
        outcome = Outcome.REUSED if winner.status is ExecutionStatus.COMPLETED else Outcome.IN_PROGRESS
        return Submitted(winner, outcome)
    return Submitted(created, Outcome.RETRIED if existing is not None else Outcome.CREATED)


class SubmitExecution:
    """Pattern 3: a payload already run is reused, one running is returned, a failed one retried."""

    def __init__(self, uow: ProcessingUnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    def __call__(self, command: Submission) -> Submitted:
        with self._uow.for_tenant(command.tenant_id) as uow:
            return _submit(uow, command, self._clock)


class StartExecution:
    def __init__(self, uow: ProcessingUnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    def __call__(self, tenant_id: object, execution_id: object) -> Execution:
        key = parse_id(execution_id, "execution_id")
        with self._uow.for_tenant(tenant_id) as uow:
            uow.executions.update_execution_status(key, ExecutionStatus.RUNNING, started_at=self._clock.now())
            return uow.executions.get_by_id_or_raise(key)


class CompleteExecution:
    """Pattern 2: save the result; the execution joins its processor's current executions."""

    def __init__(self, uow: ProcessingUnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    def __call__(self, command: Completion) -> Execution:
        # Completions of one processor race for its list: a loser runs again, never overwrites.
        return retrying(lambda: self._once(command), lost=(ConcurrencyConflict,))

    def _once(self, command: Completion) -> Execution:
        with self._uow.for_tenant(command.tenant_id) as uow:
            earlier = uow.executions.get_by_id_or_raise(command.execution_id)
            if _completed_as(earlier, command):
                # A retry after an unknown commit outcome: this completion already landed.
                if earlier.enabled:
                    uow.processors.append_to_current_executions_list(earlier.underwriting_processor_id, earlier.id)
                return earlier
            uow.executions.save_execution_result(
                command.execution_id, dict(command.output), dict(command.factors_delta), command.run_cost_cents,
                self._clock.now(),
            )
            done = uow.executions.get_by_id_or_raise(command.execution_id)
            if done.enabled:
                uow.processors.append_to_current_executions_list(done.underwriting_processor_id, done.id)
            return done


def _completed_as(execution: Execution, command: Completion) -> bool:
    return (execution.status is ExecutionStatus.COMPLETED and execution.output == dict(command.output)
            and execution.factors_delta == dict(command.factors_delta)
            and execution.run_cost_cents == command.run_cost_cents)


class FailExecution:
    def __init__(self, uow: ProcessingUnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    def __call__(self, command: Failure) -> Execution:
        with self._uow.for_tenant(command.tenant_id) as uow:
            uow.executions.update_execution_status(
                command.execution_id, ExecutionStatus.FAILED, completed_at=self._clock.now(),
                failed_code=command.failed_code, failed_reason=command.failed_reason,
            )
            return uow.executions.get_by_id_or_raise(command.execution_id)


class SupersedeExecution:
    """Pattern 5: the new execution replaces the old one in the current list; the old one is
    disabled and points to its successor."""

    def __init__(self, uow: ProcessingUnitOfWorkFactory) -> None:
        self._uow = uow

    def __call__(self, tenant_id: object, old_id: object, new_id: object) -> list[uuid.UUID]:
        old_key, new_key = parse_id(old_id, "old_id"), parse_id(new_id, "new_id")
        return retrying(lambda: self._once(tenant_id, old_key, new_key), lost=(ConcurrencyConflict,))

    def _once(self, tenant_id: object, old_key: uuid.UUID, new_key: uuid.UUID) -> list[uuid.UUID]:
        with self._uow.for_tenant(tenant_id) as uow:
            newer = uow.executions.get_by_id_or_raise(new_key)
            if newer.status is not ExecutionStatus.COMPLETED:
                raise InvalidTransition("execution", newer.status.value, "superseding another")
            uow.executions.mark_execution_superseded(old_key, new_key)
            up = uow.processors.get_underwriting_processor_by_id(newer.underwriting_processor_id)
            assert up is not None  # the repository checked both belong to one underwriting processor
            current = [new_key if e == old_key else e for e in up.current_executions_list]
            if new_key not in current:
                current.append(new_key)
            uow.processors.update_current_executions_list(up.id, current, expected_version=up.version)
            return list(dict.fromkeys(current))


class RollbackSupersession:
    """Pattern 5, undone: the superseded execution is active again and the newer one disabled."""

    def __init__(self, uow: ProcessingUnitOfWorkFactory) -> None:
        self._uow = uow

    def __call__(self, tenant_id: object, old_id: object) -> list[uuid.UUID]:
        old_key = parse_id(old_id, "old_id")
        return retrying(lambda: self._once(tenant_id, old_key), lost=(ConcurrencyConflict,))

    def _once(self, tenant_id: object, old_key: uuid.UUID) -> list[uuid.UUID]:
        with self._uow.for_tenant(tenant_id) as uow:
            old = uow.executions.get_by_id_or_raise(old_key)
            if old.updated_execution_id is None:
                raise InvalidTransition("execution", "not superseded", "rolled back")
            newer_id = old.updated_execution_id
            uow.executions.activate_execution(old_key)
            uow.executions.deactivate_execution(newer_id)
            up = uow.processors.get_underwriting_processor_by_id(old.underwriting_processor_id)
            assert up is not None
            current = [old_key if e == newer_id else e for e in up.current_executions_list]
            if old_key not in current:
                current.append(old_key)
            uow.processors.update_current_executions_list(up.id, current, expected_version=up.version)
            return list(dict.fromkeys(current))


class ConsolidateFactors:
    """Pattern 4: the processor's `consolidate` over its active executions' outputs."""

    def __init__(self, uow: ProcessingUnitOfWorkFactory) -> None:
        self._uow = uow

    def __call__(self, tenant_id: object, underwriting_processor_id: object) -> dict[str, Any]:
        key = parse_id(underwriting_processor_id, "underwriting_processor_id")
        with self._uow.for_tenant(tenant_id) as uow:
            up = uow.processors.get_underwriting_processor_by_id(key)
            if up is None:
                raise NotFound("UnderwritingProcessor", key)
            active = uow.executions.get_active_executions(key)
            definition = uow.processors.catalog.get(up.processor)
            return definition.consolidate([dict(e.output or {}) for e in active])


class AutoExecute:
    """Pattern 6: every enabled, auto processor of the underwriting whose `should_execute` agrees."""

    def __init__(self, uow: ProcessingUnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    def __call__(self, command: AutoRun) -> list[Submitted]:
        submitted: list[Submitted] = []
        with self._uow.for_tenant(command.tenant_id) as uow:
            for up in uow.processors.get_underwriting_processors(command.underwriting_id, True, True):
                definition = uow.processors.catalog.get(up.processor)
                if definition.should_execute(command.payload, up.effective_config):
                    submission = Submission(tenant_id=command.tenant_id, underwriting_processor_id=up.id,
                                            payload=command.payload,
                                            document_revision_ids=command.document_revision_ids)
                    submitted.append(_submit(uow, submission, self._clock))
        return submitted
