"""The reliability ports (spec 001): one repository per aggregate, tenant-bound through the unit
of work (`uow.workflows`, `uow.vendors`, `uow.events`, `uow.incidents`, `uow.decisions`,
`uow.actions`, `uow.kill_switches`). Vendors are global; everything else lives in one tenant."""

from __future__ import annotations

import uuid
from abc import abstractmethod
from collections.abc import Sequence
from datetime import datetime

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
from domain.reliability.incident import OPEN_STATUSES, Incident, IncidentStatus
from domain.reliability.kill_switch import KillSwitch
from domain.reliability.vendor import Vendor
from domain.reliability.workflow import Workflow
from domain.shared.fields import FieldKind
from domain.shared.sorting import SortDirection, SortField
from ports.records import RecordSchema, UniqueKey
from ports.repository import CrudRepository
from ports.unit_of_work import UnitOfWork, UnitOfWorkFactory

_COMMON = {"id": FieldKind.UUID, "created_at": FieldKind.DATETIME, "updated_at": FieldKind.DATETIME}

WORKFLOW_SCHEMA: RecordSchema[Workflow] = RecordSchema(
    entity="Workflow", model=Workflow, table="workflows",
    fields={**_COMMON, "name": FieldKind.STRING, "is_active": FieldKind.BOOLEAN},
    unique_keys={"name": UniqueKey(("tenant_id", "name"))},
)
VENDOR_SCHEMA: RecordSchema[Vendor] = RecordSchema(
    entity="Vendor", model=Vendor, table="vendors", scope_field=None,
    fields={**_COMMON, "name": FieldKind.STRING, "circuit_breaker_state": FieldKind.STRING},
    unique_keys={"name": UniqueKey(("name",))},
)
EVENT_SCHEMA: RecordSchema[Event] = RecordSchema(
    entity="Event", model=Event, table="events",
    fields={**_COMMON, "workflow_id": FieldKind.UUID, "event_type": FieldKind.STRING,
            "correlation_id": FieldKind.STRING, "occurred_at": FieldKind.DATETIME},
    unique_keys={"idempotency_key": UniqueKey(("tenant_id", "idempotency_key"))},
    default_sort=(SortField("occurred_at"),),
)
OPEN_STATUS_VALUES = tuple(status.value for status in IncidentStatus if status in OPEN_STATUSES)
"""In the enum's order, so that the partial index's predicate text is stable."""
INCIDENT_SCHEMA: RecordSchema[Incident] = RecordSchema(
    entity="Incident", model=Incident, table="incidents",
    fields={**_COMMON, "workflow_id": FieldKind.UUID, "status": FieldKind.STRING, "severity": FieldKind.STRING,
            "signature": FieldKind.STRING, "event_count": FieldKind.INTEGER,
            "first_seen_at": FieldKind.DATETIME, "last_seen_at": FieldKind.DATETIME},
    # At most one open incident per signature and tenant: a partial unique index in SQL.
    unique_keys={"open_signature": UniqueKey(("tenant_id", "signature"), only=("status", OPEN_STATUS_VALUES))},
    default_sort=(SortField("created_at", SortDirection.DESC),),
)
DECISION_SCHEMA: RecordSchema[Decision] = RecordSchema(
    entity="Decision", model=Decision, table="decisions",
    fields={**_COMMON, "incident_id": FieldKind.UUID, "decision_type": FieldKind.STRING},
)
ACTION_SCHEMA: RecordSchema[Action] = RecordSchema(
    entity="Action", model=Action, table="actions",
    fields={**_COMMON, "incident_id": FieldKind.UUID, "status": FieldKind.STRING, "action_type": FieldKind.STRING},
)
KILL_SWITCH_SCHEMA: RecordSchema[KillSwitch] = RecordSchema(
    entity="KillSwitch", model=KillSwitch, table="kill_switches",
    fields={**_COMMON, "workflow_id": FieldKind.UUID, "is_active": FieldKind.BOOLEAN},
)


class WorkflowRepository(CrudRepository[Workflow, WorkflowFilter]):
    @abstractmethod
    def get_by_name(self, name: str) -> Workflow | None: ...

    @property
    def entity_name(self) -> str:
        return WORKFLOW_SCHEMA.entity


class VendorRepository(CrudRepository[Vendor, VendorFilter]):
    """Global: the same vendors from every scope."""

    @abstractmethod
    def get_by_name(self, name: str) -> Vendor | None: ...

    @property
    def entity_name(self) -> str:
        return VENDOR_SCHEMA.entity


class EventRepository(CrudRepository[Event, EventFilter]):
    """Append-only: `update` and `delete` raise `Unsupported` (and PostgreSQL's triggers refuse
    UPDATE, DELETE and TRUNCATE even to raw SQL)."""

    @abstractmethod
    def get_by_idempotency_key(self, idempotency_key: str, tenant_id: uuid.UUID | None = None) -> Event | None:
        """`tenant_id` (spec 001's signature) must be the unit of work's tenant."""

    @abstractmethod
    def append(self, event: Event) -> tuple[Event, bool]:
        """Insert unless the tenant already has the idempotency key; returns the stored event and
        whether it is new. Concurrent appends of one key store exactly one event."""

    @abstractmethod
    def append_many(self, events: Sequence[Event]) -> list[tuple[Event, bool]]:
        """`append` for a batch, in one statement per batch; results in input order. A key repeated
        inside the batch is stored once (the first) and reported as not new after that."""

    @abstractmethod
    def get_recent_events(self, workflow_id: uuid.UUID, *rest: uuid.UUID | int, hours: int | None = None,
                          now: datetime | None = None, tenant_id: uuid.UUID | None = None) -> list[Event]:
        """Events of a workflow that occurred at or after `hours` (24 by default) before `now` (the
        clock's when not given), newest first. No upper bound, as spec 001: an event from a source
        whose clock runs ahead is recent too. Called as `(workflow_id[, hours])` or as spec 001 does,
        `(tenant_id, workflow_id[, hours])`; a tenant named must be the unit of work's."""

    @abstractmethod
    def count_events(self, workflow_id: uuid.UUID | None = None, *rest: uuid.UUID,
                     tenant_id: uuid.UUID | None = None) -> int:
        """All the tenant's events, or a workflow's: `()`, `(workflow_id)`, or spec 001's
        `(tenant_id, workflow_id)`; a tenant named must be the unit of work's."""

    @property
    def entity_name(self) -> str:
        return EVENT_SCHEMA.entity


class IncidentRepository(CrudRepository[Incident, IncidentFilter]):
    @abstractmethod
    def get_open_by_signature(self, signature: str) -> Incident | None:
        """The one open (NEW, ANALYZING, ACTIONED) incident of a signature, if any."""

    @abstractmethod
    def create_from_event(self, event: Event, *, title: str | None = None, severity: str = "medium") -> Incident:
        """Open an incident for a failure event. At most one incident per signature is open: when
        another is, `Conflict` (the caller then records the event on that one). The title is the
        event's type when not given (spec 001 passes none)."""

    @abstractmethod
    def get_incidents_by_status(self, status: IncidentStatus, limit: int | None = None) -> list[Incident]:
        """Every incident in the status, newest first (at most `limit` when given). Pages with a
        total are `list_and_count(IncidentFilter(statuses=...))`."""

    @abstractmethod
    def record_events(self, incident: Incident, times: Sequence[datetime]) -> Incident:
        """`incident` (as read) with more events of its failure at `times`, stored with the version
        check; the incident at its new version. Its signature and status stay, so no unique key can
        clash (SQL takes no savepoint for it)."""

    @abstractmethod
    def record_events_many(self, counts: Sequence[tuple[Incident, Sequence[datetime]]]) -> list[Incident]:
        """`record_events` for many incidents, all or nothing (one statement on PostgreSQL)."""

    @abstractmethod
    def count_by_status(self) -> dict[IncidentStatus, int]:
        """Every status, zero included."""

    @property
    def entity_name(self) -> str:
        return INCIDENT_SCHEMA.entity


class DecisionRepository(CrudRepository[Decision, DecisionFilter]):
    """Append-only audit trail: `update` and `delete` raise `Unsupported`."""

    @abstractmethod
    def list_for_incident(self, incident_id: uuid.UUID) -> list[Decision]:
        """Oldest first."""

    @property
    def entity_name(self) -> str:
        return DECISION_SCHEMA.entity


class ActionRepository(CrudRepository[Action, ActionFilter]):
    @abstractmethod
    def list_for_incident(self, incident_id: uuid.UUID) -> list[Action]:
        """Oldest first."""

    @property
    def entity_name(self) -> str:
        return ACTION_SCHEMA.entity


class KillSwitchRepository(CrudRepository[KillSwitch, KillSwitchFilter]):
    @abstractmethod
    def get_active_for(self, workflow_id: uuid.UUID | None) -> list[KillSwitch]:
        """Active switches covering the workflow: tenant-wide ones and the workflow's own
        (with None: the tenant-wide ones only)."""

    @property
    def entity_name(self) -> str:
        return KILL_SWITCH_SCHEMA.entity


class ReliabilityUnitOfWork(UnitOfWork):
    """The reliability context's unit of work (spec 001)."""

    @property
    @abstractmethod
    def workflows(self) -> WorkflowRepository: ...

    @property
    @abstractmethod
    def vendors(self) -> VendorRepository:
        """Global: the same vendors from every scope."""

    @property
    @abstractmethod
    def events(self) -> EventRepository: ...

    @property
    @abstractmethod
    def incidents(self) -> IncidentRepository: ...

    @property
    @abstractmethod
    def decisions(self) -> DecisionRepository: ...

    @property
    @abstractmethod
    def actions(self) -> ActionRepository: ...

    @property
    @abstractmethod
    def kill_switches(self) -> KillSwitchRepository: ...


ReliabilityUnitOfWorkFactory = UnitOfWorkFactory[ReliabilityUnitOfWork]
