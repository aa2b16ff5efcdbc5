"""The reliability context (spec 001): its repositories and unit of work, on any backend.

Each repository is spec 004's CRUD over its store plus its port's methods, whose meaning (windows,
order, idempotency, the one-open-incident rule) is fixed here once, so the backends cannot drift.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from contextlib import nullcontext
from datetime import datetime
from typing import Any, ClassVar

from adapters.records.crud import AppendOnlyCrud, Crud
from adapters.records.store import NEWEST_FIRST, Query, equal
from adapters.transactions import Backend, ContextFactory, ContextUnitOfWork, repository
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
from domain.reliability.incident import Incident, IncidentStatus
from domain.reliability.kill_switch import KillSwitch
from domain.reliability.vendor import Vendor
from domain.reliability.workflow import Workflow
from domain.shared.checks import aware_datetime, hours_before, member, positive_int, sequence, text_argument
from domain.shared.errors import Conflict, ValidationError
from domain.shared.filters import Condition, Operator
from domain.shared.ids import parse_id
from domain.shared.sorting import Sort
from ports.clock import Clock
from ports.records import RecordSchema
from ports.reliability import (
    ACTION_SCHEMA,
    DECISION_SCHEMA,
    EVENT_SCHEMA,
    INCIDENT_SCHEMA,
    KILL_SWITCH_SCHEMA,
    OPEN_STATUS_VALUES,
    VENDOR_SCHEMA,
    WORKFLOW_SCHEMA,
    ActionRepository,
    DecisionRepository,
    EventRepository,
    IncidentRepository,
    KillSwitchRepository,
    ReliabilityUnitOfWork,
    VendorRepository,
    WorkflowRepository,
)

KEY_LOOKUP_CHUNK = 500
"""Keys per `IN (...)` lookup: far below SQLite's and PostgreSQL's bound-parameter limits."""


class Workflows(Crud[Workflow, WorkflowFilter], WorkflowRepository):
    def get_by_name(self, name: str) -> Workflow | None:
        return self._first(equal("name", text_argument(name, "name")))


class Vendors(Crud[Vendor, VendorFilter], VendorRepository):
    def get_by_name(self, name: str) -> Vendor | None:
        return self._first(equal("name", text_argument(name, "name")))


class Events(AppendOnlyCrud[Event, EventFilter], EventRepository):
    def get_by_idempotency_key(self, idempotency_key: str, tenant_id: uuid.UUID | None = None) -> Event | None:
        key = text_argument(idempotency_key, "idempotency_key")
        self._same_tenant(tenant_id)
        return self._first(equal("idempotency_key", key))

    def append(self, event: Event) -> tuple[Event, bool]:
        [result] = self.append_many([event])
        return result

    def append_many(self, events: Sequence[Event]) -> list[tuple[Event, bool]]:
        if isinstance(events, str | bytes) or not isinstance(events, Sequence):
            raise ValidationError("events", f"expected a list, got {type(events).__name__}")
        checked = self._all_checked(events)
        firsts: dict[str, Event] = {}
        for event in checked:
            firsts.setdefault(event.idempotency_key, event)
        # One event is one statement, atomic by itself; a batch needs a savepoint to be all or nothing.
        with self._store.atomically() if len(firsts) > 1 else nullcontext():
            new = self._store.insert_new(list(firsts.values())) if firsts else []
            if len(new) == len(checked):  # every key distinct and new: nothing to look up or tell apart
                return [(event, True) for event in checked]
            inserted = {event.idempotency_key for event in new}
            stored = {key: firsts[key] for key in inserted}
            stored.update(self._by_keys([key for key in firsts if key not in inserted]))
            for key, event in firsts.items():
                if key not in stored:  # skipped for its id, and no event holds its key
                    raise Conflict(self.entity_name, self._schema.taken("id", event))
        results: list[tuple[Event, bool]] = []
        reported: set[str] = set()
        for event in checked:
            key = event.idempotency_key
            results.append((stored[key], key in inserted and key not in reported))
            reported.add(key)
        return results

    def _by_keys(self, keys: list[str]) -> dict[str, Event]:
        found: dict[str, Event] = {}
        for start in range(0, len(keys), KEY_LOOKUP_CHUNK):
            chunk = Condition("idempotency_key", Operator.IN, tuple(keys[start: start + KEY_LOOKUP_CHUNK]))
            found.update((event.idempotency_key, event) for event in self._find(Query((chunk,))))
        return found

    def get_recent_events(self, workflow_id: uuid.UUID, *rest: uuid.UUID | int, hours: int | None = None,
                          now: datetime | None = None, tenant_id: uuid.UUID | None = None) -> list[Event]:
        workflow, window = self._recent_arguments(workflow_id, rest, hours, tenant_id)
        until = self._clock.now() if now is None else aware_datetime(now, "now")
        since = hours_before(until, window)
        return self._find(Query(
            (equal("workflow_id", workflow), Condition("occurred_at", Operator.GTE, since)),
            Sort.parse("-occurred_at,-id"),
        ))

    def _recent_arguments(self, first: Any, rest: tuple[Any, ...], hours: Any,
                          tenant_id: Any) -> tuple[uuid.UUID, Any]:
        """`(workflow_id[, hours])`, or spec 001's `(tenant_id, workflow_id[, hours])`: an id in second
        place is a workflow id, which only the spec's form has there."""
        if len(rest) > 2 or (len(rest) == 2 and hours is not None):
            raise ValidationError("hours", "given twice")
        if rest and _is_id(rest[0]):
            self._same_tenant(first)
            first, rest = rest[0], rest[1:]
        elif len(rest) == 2:
            raise ValidationError("workflow_id", f"expected a UUID, got {rest[0]!r}")
        self._same_tenant(tenant_id)
        if rest and hours is not None:
            raise ValidationError("hours", "given twice")
        window = rest[0] if rest else (24 if hours is None else hours)
        return parse_id(first, "workflow_id"), window

    def count_events(self, workflow_id: uuid.UUID | None = None, *rest: uuid.UUID,
                     tenant_id: uuid.UUID | None = None) -> int:
        if len(rest) > 1:
            raise ValidationError("workflow_id", "expected (workflow_id) or (tenant_id, workflow_id)")
        if rest:  # spec 001's (tenant_id, workflow_id)
            self._same_tenant(workflow_id)
            workflow_id = rest[0]
        self._same_tenant(tenant_id)
        if workflow_id is None:
            return self.count()
        return self.count(EventFilter(workflow_id=parse_id(workflow_id, "workflow_id")))


def _is_id(value: Any) -> bool:
    try:
        parse_id(value)
    except ValidationError:
        return False
    return True


class Incidents(Crud[Incident, IncidentFilter], IncidentRepository):
    def get_open_by_signature(self, signature: str) -> Incident | None:
        return self._first(
            equal("signature", text_argument(signature, "signature")),
            Condition("status", Operator.IN, OPEN_STATUS_VALUES),
        )

    def create_from_event(self, event: Event, *, title: str | None = None, severity: str = "medium") -> Incident:
        if not isinstance(event, Event):
            raise ValidationError("event", f"expected an Event, got {type(event).__name__}")
        if title is None:
            title = event.event_type
        # The port passes no clock: the incident is as old as the event's ingestion.
        incident = self._checked(Incident.new(
            tenant_id=event.tenant_id, workflow_id=event.workflow_id, signature=event.signature,
            title=title, severity=severity, first_seen_at=event.occurred_at, last_seen_at=event.occurred_at,
            correlation_id=event.correlation_id, created_at=event.created_at, updated_at=event.created_at,
        ))
        if not self._store.insert_new([incident]):
            raise Conflict(self.entity_name, f"signature {incident.signature!r} already has an open incident")
        return incident

    def get_incidents_by_status(self, status: IncidentStatus, limit: int | None = None) -> list[Incident]:
        wanted = member(IncidentStatus, status, "status")
        bound = None if limit is None else positive_int(limit, "limit")
        return self._find(Query((equal("status", wanted.value),), NEWEST_FIRST, limit=bound))

    def record_events(self, incident: Incident, times: Sequence[datetime]) -> Incident:
        [counted] = self.record_events_many([(incident, times)])
        return counted

    def record_events_many(self, counts: Sequence[tuple[Incident, Sequence[datetime]]]) -> list[Incident]:
        pairs = sequence(counts, "counts")
        if any(not isinstance(pair, tuple) or len(pair) != 2 for pair in pairs):
            raise ValidationError("counts", "expected (incident, times) pairs")
        incidents = self._all_checked([incident for incident, _ in pairs])
        moments = [[aware_datetime(at, "times") for at in sequence(times, "times")] for _, times in pairs]
        changed = [(position, incident.record_events(times)) for position, (incident, times)
                   in enumerate(zip(incidents, moments, strict=True)) if times]
        stored = self._store.update_many([incident for _, incident in changed], keys_unchanged=True)
        result = list(incidents)
        for (position, _), incident in zip(changed, stored, strict=True):
            result[position] = incident
        return result

    def count_by_status(self) -> dict[IncidentStatus, int]:
        counts = self._store.count_by("status")
        return {status: counts.get(status, 0) for status in IncidentStatus}


class Decisions(AppendOnlyCrud[Decision, DecisionFilter], DecisionRepository):
    def list_for_incident(self, incident_id: uuid.UUID) -> list[Decision]:
        return self._find(Query((equal("incident_id", parse_id(incident_id, "incident_id")),)))


class Actions(Crud[Action, ActionFilter], ActionRepository):
    def list_for_incident(self, incident_id: uuid.UUID) -> list[Action]:
        return self._find(Query((equal("incident_id", parse_id(incident_id, "incident_id")),)))


class KillSwitches(Crud[KillSwitch, KillSwitchFilter], KillSwitchRepository):
    def get_active_for(self, workflow_id: uuid.UUID | None) -> list[KillSwitch]:
        workflow = None if workflow_id is None else parse_id(workflow_id, "workflow_id")
        # A tenant has a handful of active switches: "tenant-wide or this workflow" is decided here
        # rather than taught to the condition vocabulary, which has no OR of two fields.
        active = self._find(Query((equal("is_active", True),)))
        return [switch for switch in active if switch.workflow_id in (None, workflow)]


class ReliabilityWork(ContextUnitOfWork, ReliabilityUnitOfWork):
    schemas: ClassVar[tuple[RecordSchema[Any], ...]] = (
        WORKFLOW_SCHEMA, VENDOR_SCHEMA, EVENT_SCHEMA, INCIDENT_SCHEMA, DECISION_SCHEMA, ACTION_SCHEMA,
        KILL_SWITCH_SCHEMA,
    )

    workflows = repository(Workflows, WORKFLOW_SCHEMA)
    vendors = repository(Vendors, VENDOR_SCHEMA)
    events = repository(Events, EVENT_SCHEMA)
    incidents = repository(Incidents, INCIDENT_SCHEMA)
    decisions = repository(Decisions, DECISION_SCHEMA)
    actions = repository(Actions, ACTION_SCHEMA)
    kill_switches = repository(KillSwitches, KILL_SWITCH_SCHEMA)


def reliability_units(backend: Backend[Any, Any], *, clock: Clock | None = None,
                      ) -> ContextFactory[ReliabilityUnitOfWork]:
    return ContextFactory(backend, "reliability", ReliabilityWork.schemas,
                          lambda scope: ReliabilityWork(backend, scope, clock))
