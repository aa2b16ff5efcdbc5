"""What the memory and SQL processing repositories share (spec 000): every port method written once
over a few storage primitives, and the checks of their arguments.

The pattern is `adapters.reliability`'s, and its `Records` primitives are reused as they are, so that
an adapter implements them once for both contexts:

- `_checked(entity)`: the entity if it has the repository's type and is in the unit of work's scope
  (`ValidationError("entity")`, `TenantScopeRequired` otherwise), before anything is written;
- `_find(Query(conditions, sort, limit))`: the visible rows (the unit of work's tenant, its own
  uncommitted writes included) matching every condition, in the sort's order, at most `limit`;
- plus the CRUD methods of the port (`get_by_id`, `update` with its version check, `count`...).

Executions need three more, each one statement on SQL (see `ExecutionRules`):

- `_insert_deduplicated(execution)`: insert unless a live duplicate exists (the partial unique key);
- `_active(up_id)`: the active executions of an underwriting processor, in its list's order;
- `_chain(execution_id)`: the supersession component of an execution, oldest first;

and one optional hook, `_store_move(execution)`, the `update` of the rules' own writes (see there).

`ProcessorRules` is a complete `ProcessorRepository` composed of an adapter's two stores (CRUD plus
`Records`) and its execution records; `ExecutionRules` comes after an adapter's CRUD base in a
repository's bases, which sets `_catalog` and `_clock` in its constructor. Time comes from the clock
only where the port passes none (supersession, activation, the current list, a status move without
its timestamp).
"""

from __future__ import annotations

import re
import uuid
from abc import abstractmethod
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from adapters.reliability import (
    KEY_LOOKUP_CHUNK,
    NEWEST_FIRST,
    OLDEST_FIRST,
    Query,
    Records,
    aware_datetime,
    text_argument,
)
from domain.processing.catalog import CatalogEntry, ProcessorCatalog
from domain.processing.config import merge_config
from domain.processing.execution import EXECUTION_LIFECYCLE, Execution, ExecutionStatus
from domain.processing.filters import ExecutionFilter
from domain.processing.hashing import document_set_hash
from domain.processing.hashing import payload_hash as hash_of_payload
from domain.processing.subscriptions import PurchasedProcessor, SubscriptionStatus, UnderwritingProcessor
from domain.shared.errors import Conflict, InvalidTransition, NotFound, ValidationError
from domain.shared.filters import Condition, Operator
from domain.shared.ids import parse_id
from domain.shared.time import ensure_utc
from ports.clock import Clock
from ports.processing import (
    DEDUPLICATED_STATUSES,
    ExecutionRepository,
    ProcessorRepository,
    PurchasedProcessorStore,
    UnderwritingProcessorStore,
)

LIVE_STATUS_VALUES = tuple(sorted(status.value for status in DEDUPLICATED_STATUSES))
"""Statuses bound by the deduplication key, sorted so that the SQL predicate text is stable."""
LIVE_PAYLOAD_KEY = ("organization_id", "underwriting_processor_id", "payload_hash")
"""The partial unique key of executions: at most one live execution per payload and processor."""

_HASH = re.compile(r"^[0-9a-f]{64}$")


# -- argument checks --------------------------------------------------------------------------
def flag(value: Any, field: str) -> bool:
    if not isinstance(value, bool):
        raise ValidationError(field, f"expected a boolean, got {type(value).__name__} {value!r}")
    return value


def hash_argument(value: Any, field: str = "payload_hash") -> str:
    if not _HASH.match(text_argument(value, field)):
        raise ValidationError(field, f"must be 64 lowercase hexadecimal digits (SHA-256), got {value!r}")
    return str(value)


def execution_status(value: Any) -> ExecutionStatus:
    try:
        return ExecutionStatus(value)
    except ValueError:
        names = ", ".join(status.value for status in ExecutionStatus)
        raise ValidationError("status", f"unknown status {value!r}; one of {names}") from None


def json_object(value: Any, field: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValidationError(field, f"expected a JSON object (dict), got {type(value).__name__}")
    return value


def cents(value: Any, field: str) -> int:
    # bool is an int to Python and to pydantic's lax mode: refused here so that True is never 1 cent.
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValidationError(field, f"must be a non-negative integer, got {value!r}")
    return value


def _sequence(value: Any, field: str) -> Sequence[Any]:
    # A string is a sequence too, and iterating "rev_1" would yield five one-letter ids.
    if isinstance(value, str | bytes | Mapping) or not isinstance(value, Sequence):
        raise ValidationError(field, f"expected a list, got {type(value).__name__}")
    return value


def id_list(value: Any, field: str) -> list[uuid.UUID]:
    return [parse_id(item, field) for item in _sequence(value, field)]


def text_list(value: Any, field: str) -> list[str]:
    return [text_argument(item, field) for item in _sequence(value, field)]


def optional_datetime(value: Any, field: str) -> datetime | None:
    return None if value is None else aware_datetime(value, field)


def optional_text(value: Any, field: str) -> str | None:
    return None if value is None else text_argument(value, field)


def _equal(field: str, value: Any) -> Condition:
    return Condition(field, Operator.EQ, value)


def _now(clock: Clock) -> datetime:
    return ensure_utc(clock.now(), "clock")


# -- what every adapter supplies ----------------------------------------------------------------
class PurchasedRecords(Records[PurchasedProcessor], PurchasedProcessorStore):
    """`purchased_processors`: the adapter's CRUD base plus the `Records` primitives."""


class UnderwritingRecords(Records[UnderwritingProcessor], UnderwritingProcessorStore):
    """`underwriting_processors`: the adapter's CRUD base plus the `Records` primitives."""


# -- the rules ----------------------------------------------------------------------------------
class ProcessorRules(ProcessorRepository):
    """The whole `ProcessorRepository` over an adapter's two stores and its execution records (read
    to check the ids of a current executions list)."""

    purchased: PurchasedRecords
    underwriting: UnderwritingRecords

    def __init__(self, purchased: PurchasedRecords, underwriting: UnderwritingRecords,
                 executions: Records[Execution], catalog: ProcessorCatalog, clock: Clock) -> None:
        self.purchased = purchased
        self.underwriting = underwriting
        self.catalog = catalog
        self._executions = executions
        self._clock = clock

    def get_processor_catalog(self) -> list[CatalogEntry]:
        return self.catalog.entries()

    # -- purchased processors -------------------------------------------------------------------
    def get_purchased_processor_by_id(self, purchased_processor_id: uuid.UUID) -> PurchasedProcessor | None:
        return self.purchased.get_by_id(parse_id(purchased_processor_id, "purchased_processor_id"))

    def get_purchased_processors_by_organization(
        self, org_id: uuid.UUID, enabled_only: bool = False, auto_only: bool = False
    ) -> list[PurchasedProcessor]:
        conditions = [
            _equal("organization_id", parse_id(org_id, "org_id")),
            _equal("status", SubscriptionStatus.ACTIVE.value) if flag(enabled_only, "enabled_only")
            else Condition("status", Operator.NE, SubscriptionStatus.DELETED.value),
        ]
        if flag(auto_only, "auto_only"):
            conditions.append(_equal("auto", True))
        return self.purchased._find(Query(tuple(conditions), OLDEST_FIRST))

    def get_processor_by_name(self, processor_name: str, org_id: uuid.UUID) -> PurchasedProcessor | None:
        found = self.purchased._find(Query((
            _equal("organization_id", parse_id(org_id, "org_id")),
            _equal("processor", text_argument(processor_name, "processor_name")),
            Condition("status", Operator.NE, SubscriptionStatus.DELETED.value),
        ), OLDEST_FIRST))
        # Nothing keeps a tenant from holding two live subscriptions of one processor: the active one
        # wins over a disabled one, then the oldest, so the answer is the same on every backend.
        active = [row for row in found if row.status == SubscriptionStatus.ACTIVE]
        best = active or found
        return best[0] if best else None

    # -- underwriting processors ----------------------------------------------------------------
    def get_underwriting_processor_by_id(self, up_id: uuid.UUID) -> UnderwritingProcessor | None:
        return self.underwriting.get_by_id(parse_id(up_id, "up_id"))

    def get_underwriting_processors(
        self, underwriting_id: uuid.UUID, enabled_only: bool = False, auto_only: bool = False
    ) -> list[UnderwritingProcessor]:
        conditions = [_equal("underwriting_id", parse_id(underwriting_id, "underwriting_id"))]
        if flag(enabled_only, "enabled_only"):
            conditions.append(_equal("enabled", True))
        if flag(auto_only, "auto_only"):
            conditions.append(_equal("auto", True))
        return self.underwriting._find(Query(tuple(conditions), OLDEST_FIRST))

    def update_current_executions_list(self, up_id: uuid.UUID, execution_ids: Sequence[uuid.UUID]) -> bool:
        key = parse_id(up_id, "up_id")
        wanted = list(dict.fromkeys(id_list(execution_ids, "execution_ids")))
        up = self._underwriting_or_raise(key)
        self._check_executions_of(up, wanted)
        if up.current_executions_list == wanted:
            return False  # nothing to write: the version stays, no concurrent writer is disturbed
        self.underwriting.update(up.with_executions(wanted, _now(self._clock)))
        return True

    def _check_executions_of(self, up: UnderwritingProcessor, wanted: list[uuid.UUID]) -> None:
        found: set[uuid.UUID] = set()
        for start in range(0, len(wanted), KEY_LOOKUP_CHUNK):
            chunk = tuple(wanted[start: start + KEY_LOOKUP_CHUNK])
            rows = self._executions._find(Query((
                _equal("underwriting_processor_id", up.id), Condition("id", Operator.IN, chunk),
            )))
            found.update(row.id for row in rows)
        missing = next((execution_id for execution_id in wanted if execution_id not in found), None)
        if missing is not None:
            raise ValidationError("execution_ids", f"{missing} is not an execution of underwriting processor {up.id}")

    def get_effective_config(self, up_id: uuid.UUID) -> dict[str, Any]:
        up = self._underwriting_or_raise(parse_id(up_id, "up_id"))
        definition = self.catalog.get(up.processor)  # NotFound if the code no longer has the processor
        purchased = self.purchased.get_by_id(up.purchased_processor_id)
        if purchased is None:
            # Resolving without the tenant layer would hand out a config nobody chose.
            raise NotFound(self.purchased.entity_name, up.purchased_processor_id)
        return merge_config(definition.CONFIG, purchased.config, up.config_override)

    def _underwriting_or_raise(self, key: uuid.UUID) -> UnderwritingProcessor:
        found = self.underwriting.get_by_id(key)
        if found is None:
            raise NotFound(self.underwriting.entity_name, key)
        return found


class ExecutionRules(Records[Execution], ExecutionRepository):
    """Every `ExecutionRepository` method beyond CRUD. Mutators raise `NotFound` for an id that is
    missing or another organization's; getters return None or []. A method returning a bool returns
    False when the record already was as asked, and then writes nothing."""

    _catalog: ProcessorCatalog
    """Set by the adapter's constructor: `create_execution` refuses names the catalog lacks."""
    _clock: Clock
    """Set by the adapter's constructor."""

    # -- primitives ---------------------------------------------------------------------------
    @abstractmethod
    def _insert_deduplicated(self, execution: Execution) -> bool:
        """Insert the (checked, new) execution unless a visible execution in a live status (pending,
        running, completed) has its organization, underwriting processor and payload hash; whether it
        was inserted. A concurrent insert of the same key is waited for, and decided by what its
        transaction commits, as a partial unique index does (SQL: `ON CONFLICT (key) WHERE live DO
        NOTHING`). A refused insert leaves the unit of work usable."""

    @abstractmethod
    def _active(self, up_id: uuid.UUID) -> list[Execution]:
        """The executions whose ids are in the current executions list of the visible underwriting
        processor `up_id`, that belong to it (their `underwriting_processor_id`), are enabled and
        completed, in the list's order ([] if the processor is not visible). An id the list holds twice
        may come back twice; the rules keep the first. One statement on SQL."""

    @abstractmethod
    def _chain(self, execution_id: uuid.UUID) -> list[Execution]:
        """Every visible execution reachable from `execution_id` through `updated_execution_id` links
        followed in either direction (the execution itself included), ordered by (created_at, id);
        [] if it is not visible. Must terminate whatever the links (a recursive CTE with UNION). One
        statement on SQL."""

    def _store_move(self, execution: Execution) -> Execution:
        """`update` for the writes of these rules, which never change the deduplication key's columns
        nor move an execution into a live status from a non-live one, so cannot violate the partial
        key. An adapter whose generic `update` guards against that violation (SQL: a savepoint) may
        skip the guard here."""
        return self.update(execution)

    # -- creation -----------------------------------------------------------------------------
    def create_execution(
        self, underwriting_id: uuid.UUID, underwriting_processor_id: uuid.UUID, organization_id: uuid.UUID,
        processor_name: str, payload: dict[str, Any], payload_hash: str | None = None,
        document_revision_ids: Sequence[str] = (), document_ids_hash: str | None = None, *, at: datetime,
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
        documents_hash = document_ids_hash
        if documents_hash is None and documents:
            documents_hash = document_set_hash(documents)
        moment = aware_datetime(at, "at")
        execution = self._checked(Execution.new(
            organization_id=org, underwriting_id=uw_key, underwriting_processor_id=up_key, processor=name,
            payload=body, payload_hash=digest, document_revision_ids=documents, document_ids_hash=documents_hash,
            created_at=moment, updated_at=moment,
        ))
        if not self._insert_deduplicated(execution):
            raise Conflict(self.entity_name, f"underwriting processor {up_key} already has a pending, running or "
                                             f"completed execution of payload hash {digest}")
        return execution

    def find_execution_by_hash(self, up_id: uuid.UUID, payload_hash: str) -> Execution | None:
        same = (_equal("underwriting_processor_id", parse_id(up_id, "up_id")),
                _equal("payload_hash", hash_argument(payload_hash)))
        # Two bounded reads rather than every failed retry of the payload: the unique key leaves at
        # most one live execution, and only the newest failed one matters.
        live = self._find(Query((*same, Condition("status", Operator.IN, LIVE_STATUS_VALUES)), limit=1))
        if live:
            return live[0]
        failed = self._find(Query((*same, _equal("status", ExecutionStatus.FAILED.value)), NEWEST_FIRST, limit=1))
        return failed[0] if failed else None

    # -- lifecycle ----------------------------------------------------------------------------
    def update_execution_status(
        self, exec_id: uuid.UUID, status: ExecutionStatus, started_at: datetime | None = None,
        completed_at: datetime | None = None, failed_code: str | None = None, failed_reason: str | None = None,
    ) -> bool:
        key = parse_id(exec_id, "exec_id")
        target = execution_status(status)
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
        EXECUTION_LIFECYCLE.check(current.status, target)
        at = started or completed or _now(self._clock)
        changes: dict[str, Any] = {"status": target, "updated_at": at}
        if target is ExecutionStatus.RUNNING:
            changes["started_at"] = at
        else:
            changes["completed_at"] = at
        if target is ExecutionStatus.FAILED:
            changes.update(failed_code=code, failed_reason=reason)
        self._store_move(current.evolve(**changes))
        return True

    def save_execution_result(
        self, exec_id: uuid.UUID, output: dict[str, Any], factors_delta: dict[str, Any], run_cost_cents: int,
        completed_at: datetime,
    ) -> bool:
        key = parse_id(exec_id, "exec_id")
        result = json_object(output, "output")
        factors = json_object(factors_delta, "factors_delta")
        cost = cents(run_cost_cents, "run_cost_cents")
        at = aware_datetime(completed_at, "completed_at")
        current = self._execution_or_raise(key)
        self._store_move(current.complete(result, factors, cost, at))  # InvalidTransition unless running
        return True

    # -- reads --------------------------------------------------------------------------------
    def get_execution_by_id(self, exec_id: uuid.UUID) -> Execution | None:
        return self.get_by_id(parse_id(exec_id, "exec_id"))

    def get_active_executions(self, up_id: uuid.UUID) -> list[Execution]:
        unique: dict[uuid.UUID, Execution] = {}
        for execution in self._active(parse_id(up_id, "up_id")):
            unique.setdefault(execution.id, execution)
        return list(unique.values())

    def get_executions_by_underwriting(
        self, uw_id: uuid.UUID, processor: str | None = None, status: ExecutionStatus | None = None
    ) -> list[Execution]:
        conditions = [_equal("underwriting_id", parse_id(uw_id, "uw_id"))]
        if processor is not None:
            conditions.append(_equal("processor", text_argument(processor, "processor")))
        if status is not None:
            conditions.append(_equal("status", execution_status(status).value))
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
        superseded = old.superseded_by(new, _now(self._clock))  # itself, another processor: InvalidTransition
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
        linked = {row.id: row for row in self._chain(start.id)}
        current: Execution | None = start
        for _ in range(len(linked)):  # bounded even if stored links already loop
            if current is None or current.updated_execution_id is None:
                return False
            if current.updated_execution_id == target.id:
                return True
            current = linked.get(current.updated_execution_id)
        return False

    def get_execution_chain(self, exec_id: uuid.UUID) -> list[Execution]:
        return self._chain(parse_id(exec_id, "exec_id"))

    # -- activation ---------------------------------------------------------------------------
    def activate_execution(self, exec_id: uuid.UUID) -> bool:
        current = self._execution_or_raise(parse_id(exec_id, "exec_id"))
        if current.enabled:
            return False
        self._store_move(current.activate(_now(self._clock)))
        return True

    def deactivate_execution(self, exec_id: uuid.UUID) -> bool:
        current = self._execution_or_raise(parse_id(exec_id, "exec_id"))
        if not current.enabled:
            return False  # the first disabled_at stands
        self._store_move(current.deactivate(_now(self._clock)))
        return True

    def _execution_or_raise(self, key: uuid.UUID) -> Execution:
        found = self.get_by_id(key)
        if found is None:
            raise NotFound(self.entity_name, key)
        return found
