"""Spec 000's ExecutionRepository on any backend: every method beyond CRUD, calling the domain's
own transitions (`Execution.moved_to`, `complete`, `superseded_by`, `activate`, `deactivate`).

Mutators raise `NotFound` for an id that is missing or another organization's; getters return None
or []. A method returning a bool returns False when the record already was as asked, and then
writes nothing. Time comes from the clock only where the port passes none.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from adapters.records.crud import Crud
from adapters.records.store import NEWEST_FIRST, OLDEST_FIRST, Query, RecordStore, equal
from adapters.rules.execution_queries import ExecutionQueries
from adapters.rules.processors import now_of
from domain.processing.catalog import ProcessorCatalog
from domain.processing.execution import Execution, ExecutionStatus
from domain.processing.filters import ExecutionFilter
from domain.processing.hashing import document_set_hash, hash_argument
from domain.processing.hashing import payload_hash as hash_of_payload
from domain.shared.checks import (
    aware_datetime,
    json_object,
    member,
    non_negative_int,
    optional_datetime,
    optional_text,
    text_argument,
    text_list,
)
from domain.shared.errors import Conflict, InvalidTransition, NotFound, ValidationError
from domain.shared.filters import Condition, Operator
from domain.shared.ids import parse_id
from ports.clock import Clock
from ports.processing import LIVE_STATUS_VALUES, ExecutionRepository


class Executions(Crud[Execution, ExecutionFilter], ExecutionRepository):
    def __init__(self, store: RecordStore[Execution], queries: ExecutionQueries, catalog: ProcessorCatalog,
                 clock: Clock) -> None:
        super().__init__(store, clock)
        self._queries = queries
        self._catalog = catalog
        self._clock = clock

    def _store_move(self, execution: Execution) -> Execution:
        # The moves of these rules never change the deduplication key's columns nor move an execution
        # into a live status from a non-live one, so they cannot violate the partial unique key.
        return self._store.update(execution, keys_unchanged=True)

    # -- creation -----------------------------------------------------------------------------
    def create_execution(
        self, underwriting_id: uuid.UUID, underwriting_processor_id: uuid.UUID, organization_id: uuid.UUID,
        processor_name: str, payload: dict[str, Any], payload_hash: str | None = None,
        document_revision_ids: Sequence[str] = (), document_ids_hash: str | None = None, *,
        at: datetime | None = None,
    ) -> Execution:
        up_key = parse_id(underwriting_processor_id, "underwriting_processor_id")
        uw_key = parse_id(underwriting_id, "underwriting_id")
        org = parse_id(organization_id, "organization_id")
        name = text_argument(processor_name, "processor_name")
        self._catalog.get(name)  # NotFound("Processor", name): only code-managed processors run
        body = json_object(payload, "payload")
        digest = hash_of_payload(body) if payload_hash is None else hash_argument(payload_hash)
        documents = text_list(document_revision_ids, "document_revision_ids")
        # As the use cases do: a document set hash only when there are documents.
        documents_hash = None if document_ids_hash is None else hash_argument(document_ids_hash, "document_ids_hash")
        if documents_hash is None and documents:
            documents_hash = document_set_hash(documents)
        moment = now_of(self._clock) if at is None else aware_datetime(at, "at")
        execution = self._checked(Execution.new(
            organization_id=org, underwriting_id=uw_key, underwriting_processor_id=up_key, processor=name,
            payload=body, payload_hash=digest, document_revision_ids=documents, document_ids_hash=documents_hash,
            created_at=moment, updated_at=moment,
        ))
        if not self._store.insert_new([execution]):
            holder = self.find_execution_by_hash(up_key, digest)
            held = f"execution {holder.id} ({holder.status.value})" if holder is not None else "a live execution"
            raise Conflict(self.entity_name, f"{held} of underwriting processor {up_key} already holds payload hash "
                                             f"{digest}: one pending, running or completed execution per payload; "
                                             f"submit_execution reuses it, or waits for it")
        return execution

    def find_execution_by_hash(self, up_id: uuid.UUID, payload_hash: str) -> Execution | None:
        same = (equal("underwriting_processor_id", parse_id(up_id, "up_id")),
                equal("payload_hash", hash_argument(payload_hash)))
        # Two bounded reads rather than every failed retry of the payload: the unique key leaves at
        # most one live execution, and only the newest failed one matters.
        live = self._find(Query((*same, Condition("status", Operator.IN, LIVE_STATUS_VALUES)), limit=1))
        if live:
            return live[0]
        failed = self._find(Query((*same, equal("status", ExecutionStatus.FAILED.value)), NEWEST_FIRST, limit=1))
        return failed[0] if failed else None

    # -- lifecycle ----------------------------------------------------------------------------
    def update_execution_status(
        self, exec_id: uuid.UUID, status: ExecutionStatus, started_at: datetime | None = None,
        completed_at: datetime | None = None, failed_code: str | None = None, failed_reason: str | None = None,
    ) -> bool:
        key = parse_id(exec_id, "exec_id")
        target = member(ExecutionStatus, status, "status")
        started = optional_datetime(started_at, "started_at")
        completed = optional_datetime(completed_at, "completed_at")
        code = optional_text(failed_code, "failed_code")
        reason = optional_text(failed_reason, "failed_reason")
        # A timestamp or failure detail the move does not record is a caller's mistake, not ignored.
        if started is not None and target is not ExecutionStatus.RUNNING:
            raise ValidationError("started_at", f"is recorded by a move to running, not to {target.value}")
        if completed is not None and target not in (ExecutionStatus.COMPLETED, ExecutionStatus.FAILED):
            raise ValidationError("completed_at", f"is recorded by a move to completed or failed, not {target.value}")
        for field, value in (("failed_code", code), ("failed_reason", reason)):
            if value is not None and target is not ExecutionStatus.FAILED:
                raise ValidationError(field, f"is recorded by a move to failed, not to {target.value}")
        current = self._execution_or_raise(key)
        at = started or completed or now_of(self._clock)
        self._store_move(current.moved_to(target, at, failed_code=code, failed_reason=reason))
        return True

    def save_execution_result(
        self, exec_id: uuid.UUID, output: dict[str, Any], factors_delta: dict[str, Any], run_cost_cents: int,
        completed_at: datetime,
    ) -> bool:
        key = parse_id(exec_id, "exec_id")
        result = json_object(output, "output")
        factors = json_object(factors_delta, "factors_delta")
        cost = non_negative_int(run_cost_cents, "run_cost_cents")
        at = aware_datetime(completed_at, "completed_at")
        current = self._execution_or_raise(key)
        self._store_move(current.complete(result, factors, cost, at))  # InvalidTransition unless running
        return True

    # -- reads --------------------------------------------------------------------------------
    def get_execution_by_id(self, exec_id: uuid.UUID) -> Execution | None:
        return self.get_by_id(parse_id(exec_id, "exec_id"))

    def get_active_executions(self, up_id: uuid.UUID) -> list[Execution]:
        unique: dict[uuid.UUID, Execution] = {}
        for execution in self._queries.active(parse_id(up_id, "up_id")):
            unique.setdefault(execution.id, execution)
        return list(unique.values())

    def get_executions_by_underwriting(
        self, uw_id: uuid.UUID, processor: str | None = None, status: ExecutionStatus | None = None
    ) -> list[Execution]:
        conditions = [equal("underwriting_id", parse_id(uw_id, "uw_id"))]
        if processor is not None:
            conditions.append(equal("processor", text_argument(processor, "processor")))
        if status is not None:
            conditions.append(equal("status", member(ExecutionStatus, status, "status").value))
        return self._find(Query(tuple(conditions), OLDEST_FIRST))

    def get_execution_count(self, uw_id: uuid.UUID, processor: str | None = None) -> int:
        uw_key = parse_id(uw_id, "uw_id")
        name = None if processor is None else text_argument(processor, "processor")
        return self.count(ExecutionFilter(underwriting_id=uw_key, processor=name))

    # -- supersession -------------------------------------------------------------------------
    def mark_execution_superseded(self, old_id: uuid.UUID, new_id: uuid.UUID) -> bool:
        old_key, new_key = parse_id(old_id, "old_id"), parse_id(new_id, "new_id")
        found = {row.id: row for row in self._find(Query((Condition("id", Operator.IN, (old_key, new_key)),)))}
        old, new = found.get(old_key), found.get(new_key)
        if old is None:
            raise NotFound(self.entity_name, old_key)
        if new is None:
            raise NotFound(self.entity_name, new_key)
        superseded = old.superseded_by(new, now_of(self._clock))  # itself, another processor: InvalidTransition
        if old.updated_execution_id == new.id and not old.enabled:
            return False
        if self._precedes(new, old):
            raise InvalidTransition("execution", f"superseding {old.id}", f"superseded by {new.id}: a cycle")
        self._store_move(superseded)
        return True

    def _precedes(self, start: Execution, target: Execution) -> bool:
        """Whether following supersession links forward from `start` reaches `target` (linking
        `target` to `start` would then close a cycle)."""
        if start.updated_execution_id is None:
            return False  # the common case needs no read
        linked = {row.id: row for row in self._queries.chain(start.id)}
        current: Execution | None = start
        for _ in range(len(linked)):  # bounded even if stored links already loop
            if current is None or current.updated_execution_id is None:
                return False
            if current.updated_execution_id == target.id:
                return True
            current = linked.get(current.updated_execution_id)
        return False

    def get_execution_chain(self, exec_id: uuid.UUID) -> list[Execution]:
        return self._queries.chain(parse_id(exec_id, "exec_id"))

    # -- activation ---------------------------------------------------------------------------
    def activate_execution(self, exec_id: uuid.UUID) -> bool:
        current = self._execution_or_raise(parse_id(exec_id, "exec_id"))
        if current.enabled:
            return False
        self._store_move(current.activate(now_of(self._clock)))
        return True

    def deactivate_execution(self, exec_id: uuid.UUID) -> bool:
        current = self._execution_or_raise(parse_id(exec_id, "exec_id"))
        if not current.enabled:
            return False  # the first disabled_at stands
        self._store_move(current.deactivate(now_of(self._clock)))
        return True

    def _execution_or_raise(self, key: uuid.UUID) -> Execution:
        found = self.get_by_id(key)
        if found is None:
            raise NotFound(self.entity_name, key)
        return found
