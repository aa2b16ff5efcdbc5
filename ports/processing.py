"""The processing ports (spec 000), under the spec's method names, tenant-bound through the unit of
work (`uow.processors`, `uow.executions`). A tenant is an organization: the scope column is
`organization_id`, and another organization's ids behave as missing ones. Returns are aggregates."""

from __future__ import annotations

import uuid
from abc import ABC, abstractmethod
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from domain.processing.catalog import CatalogEntry, ProcessorCatalog
from domain.processing.execution import Execution, ExecutionStatus
from domain.processing.filters import ExecutionFilter, PurchasedProcessorFilter, UnderwritingProcessorFilter
from domain.processing.subscriptions import PurchasedProcessor, UnderwritingProcessor
from domain.shared.fields import FieldKind
from domain.shared.sorting import SortField
from ports.records import RecordSchema, UniqueKey
from ports.repository import CrudRepository
from ports.unit_of_work import UnitOfWork, UnitOfWorkFactory

_COMMON = {"id": FieldKind.UUID, "created_at": FieldKind.DATETIME, "updated_at": FieldKind.DATETIME}

PURCHASED_PROCESSOR_SCHEMA: RecordSchema[PurchasedProcessor] = RecordSchema(
    entity="PurchasedProcessor", model=PurchasedProcessor, table="purchased_processors", scope_field="organization_id",
    fields={**_COMMON, "processor": FieldKind.STRING, "status": FieldKind.STRING, "auto": FieldKind.BOOLEAN,
            "name": FieldKind.STRING, "purchased_at": FieldKind.DATETIME},
)
UNDERWRITING_PROCESSOR_SCHEMA: RecordSchema[UnderwritingProcessor] = RecordSchema(
    entity="UnderwritingProcessor", model=UnderwritingProcessor, table="underwriting_processors",
    scope_field="organization_id",
    fields={**_COMMON, "underwriting_id": FieldKind.UUID, "processor": FieldKind.STRING,
            "enabled": FieldKind.BOOLEAN, "auto": FieldKind.BOOLEAN},
    unique_keys={"processor": UniqueKey(("organization_id", "underwriting_id", "processor"))},
)
DEDUPLICATED_STATUSES = frozenset({ExecutionStatus.PENDING, ExecutionStatus.RUNNING, ExecutionStatus.COMPLETED})
"""At most one execution in these statuses per (organization, underwriting processor, payload hash):
a failed one does not count, so it can be retried as a new execution."""
LIVE_STATUS_VALUES = tuple(sorted(status.value for status in DEDUPLICATED_STATUSES))
LIVE_PAYLOAD_KEY = ("organization_id", "underwriting_processor_id", "payload_hash")
LIVE_PAYLOAD = "live_payload"
"""The partial unique key of executions: a partial unique index in SQL."""

EXECUTION_SCHEMA: RecordSchema[Execution] = RecordSchema(
    entity="Execution", model=Execution, table="processor_executions", scope_field="organization_id",
    fields={**_COMMON, "underwriting_id": FieldKind.UUID, "underwriting_processor_id": FieldKind.UUID,
            "processor": FieldKind.STRING, "status": FieldKind.STRING, "enabled": FieldKind.BOOLEAN,
            "payload_hash": FieldKind.STRING},
    unique_keys={LIVE_PAYLOAD: UniqueKey(LIVE_PAYLOAD_KEY, only=("status", LIVE_STATUS_VALUES))},
    default_sort=(SortField("created_at"),),
)



class PurchasedProcessorStore(CrudRepository[PurchasedProcessor, PurchasedProcessorFilter]):
    @property
    def entity_name(self) -> str:
        return PURCHASED_PROCESSOR_SCHEMA.entity


class UnderwritingProcessorStore(CrudRepository[UnderwritingProcessor, UnderwritingProcessorFilter]):
    @property
    def entity_name(self) -> str:
        return UNDERWRITING_PROCESSOR_SCHEMA.entity


class ProcessorRepository(ABC):
    """Spec 000's ProcessorRepository: the catalog (code), purchased processors (tenant level) and
    underwriting processors (case level). Generic CRUD is on `purchased` and `underwriting`."""

    purchased: PurchasedProcessorStore
    underwriting: UnderwritingProcessorStore
    catalog: ProcessorCatalog

    @abstractmethod
    def get_processor_catalog(self) -> list[CatalogEntry]: ...

    @abstractmethod
    def get_purchased_processor_by_id(self, purchased_processor_id: uuid.UUID) -> PurchasedProcessor | None: ...

    @abstractmethod
    def get_purchased_processors_by_organization(
        self, org_id: uuid.UUID, enabled_only: bool = False, auto_only: bool = False
    ) -> list[PurchasedProcessor]:
        """Not deleted; `enabled_only`: active ones. Another organization's id gives []."""

    @abstractmethod
    def get_processor_by_name(self, processor_name: str, org_id: uuid.UUID) -> PurchasedProcessor | None:
        """The organization's subscription (not deleted) to the named processor."""

    @abstractmethod
    def get_underwriting_processor_by_id(self, up_id: uuid.UUID) -> UnderwritingProcessor | None: ...

    @abstractmethod
    def get_underwriting_processors(
        self, underwriting_id: uuid.UUID, enabled_only: bool = False, auto_only: bool = False
    ) -> list[UnderwritingProcessor]:
        """Oldest first."""

    @abstractmethod
    def update_current_executions_list(self, up_id: uuid.UUID, execution_ids: Sequence[uuid.UUID],
                                       expected_version: int | None = None) -> bool:
        """Replace the list (order kept, repeats dropped); every id must be an execution of this
        underwriting processor (`ValidationError` otherwise). True when it changed.

        A caller that computed the list from a read passes that read's `expected_version`: when the
        processor moved on meanwhile, `ConcurrencyConflict` and nothing written, so a concurrent
        append is never overwritten by a stale copy. Without it the write is checked against the
        repository's own read, which guards only the replacement itself."""

    @abstractmethod
    def append_to_current_executions_list(self, up_id: uuid.UUID, execution_id: uuid.UUID) -> bool:
        """Add one execution at the end of the list, atomically: computed from the stored list and
        written with its version (`ConcurrencyConflict` when a concurrent writer got there first:
        retry the unit of work). False when it was already listed."""

    @abstractmethod
    def get_effective_config(self, up_id: uuid.UUID) -> dict[str, Any]:
        """Catalog default, then the tenant's config, then the underwriting override, resolved now
        (`domain/processing/config.py` has the rule)."""


class ExecutionRepository(CrudRepository[Execution, ExecutionFilter]):
    """Spec 000's ExecutionRepository. Generic CRUD (`bulk_create` included) plus its methods."""

    @property
    def entity_name(self) -> str:
        return EXECUTION_SCHEMA.entity

    @abstractmethod
    def create_execution(
        self, underwriting_id: uuid.UUID, underwriting_processor_id: uuid.UUID, organization_id: uuid.UUID,
        processor_name: str, payload: dict[str, Any], payload_hash: str | None = None,
        document_revision_ids: Sequence[str] = (), document_ids_hash: str | None = None, *,
        at: datetime | None = None,
    ) -> Execution:
        """A pending execution (the hashes are computed when not given; `at` is the unit of work's
        clock when not given). When a pending, running or completed execution with the same
        processor and payload hash exists, `Conflict` naming it and nothing written: the unique index
        makes this hold under concurrency (`submit_execution` reuses or waits for that execution)."""

    @abstractmethod
    def find_execution_by_hash(self, up_id: uuid.UUID, payload_hash: str) -> Execution | None:
        """The pending, running or completed execution with this hash, else the newest failed one."""

    @abstractmethod
    def update_execution_status(
        self, exec_id: uuid.UUID, status: ExecutionStatus, started_at: datetime | None = None,
        completed_at: datetime | None = None, failed_code: str | None = None, failed_reason: str | None = None,
    ) -> bool:
        """Move along the lifecycle (`InvalidTransition` otherwise); True when stored."""

    @abstractmethod
    def save_execution_result(
        self, exec_id: uuid.UUID, output: dict[str, Any], factors_delta: dict[str, Any], run_cost_cents: int,
        completed_at: datetime,
    ) -> bool:
        """Complete a running execution with its output."""

    @abstractmethod
    def get_execution_by_id(self, exec_id: uuid.UUID) -> Execution | None: ...

    @abstractmethod
    def get_active_executions(self, up_id: uuid.UUID) -> list[Execution]:
        """Enabled, completed, and in the underwriting processor's current executions list, in that
        list's order. One query."""

    @abstractmethod
    def get_executions_by_underwriting(
        self, uw_id: uuid.UUID, processor: str | None = None, status: ExecutionStatus | None = None
    ) -> list[Execution]:
        """Oldest first."""

    @abstractmethod
    def mark_execution_superseded(self, old_id: uuid.UUID, new_id: uuid.UUID) -> bool:
        """`old.updated_execution_id = new`, old disabled. Superseding with itself, with another
        processor's execution, or closing a cycle in the chain is `InvalidTransition`."""

    @abstractmethod
    def get_execution_chain(self, exec_id: uuid.UUID) -> list[Execution]:
        """Every execution linked to this one through supersession, oldest first. One query."""

    @abstractmethod
    def activate_execution(self, exec_id: uuid.UUID) -> bool: ...

    @abstractmethod
    def deactivate_execution(self, exec_id: uuid.UUID) -> bool: ...

    @abstractmethod
    def get_execution_count(self, uw_id: uuid.UUID, processor: str | None = None) -> int: ...


class ProcessingUnitOfWork(UnitOfWork):
    """The processing context's unit of work (spec 000)."""

    @property
    @abstractmethod
    def processors(self) -> ProcessorRepository:
        """Processor catalog, purchased and underwriting processors."""

    @property
    @abstractmethod
    def executions(self) -> ExecutionRepository: ...


ProcessingUnitOfWorkFactory = UnitOfWorkFactory[ProcessingUnitOfWork]
