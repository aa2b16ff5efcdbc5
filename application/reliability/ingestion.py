"""Event ingestion: idempotent, stopped by kill switches, grouped into incidents atomically.

One unit of work holds the event and the incident change: a failure anywhere leaves neither.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from application.reliability.commands import IncomingEvent
from application.retry import retrying
from domain.reliability.errors import KillSwitchEngaged
from domain.reliability.event import Event
from domain.reliability.filters import IncidentFilter, KillSwitchFilter
from domain.reliability.incident import OPEN_STATUSES, Incident
from domain.reliability.kill_switch import KillSwitch
from domain.shared.errors import NotFound, ValidationError
from domain.shared.ids import TenantId, new_id
from domain.shared.pagination import MAX_PAGE_SIZE, CursorPageRequest
from domain.shared.sorting import Sort
from ports.clock import Clock
from ports.reliability import ReliabilityUnitOfWork, ReliabilityUnitOfWorkFactory

OLDEST_FIRST = Sort.parse("created_at,id")


@dataclass(frozen=True, slots=True)
class Ingested:
    event: Event
    created: bool
    """False: the idempotency key was known, the first event is returned and nothing changed."""
    incident: Incident | None
    """The incident the event opened or joined (failure events only)."""


def _title(event: Event) -> str:
    error = event.payload.get("error")
    message = error.get("message") if isinstance(error, dict) else error
    detail = f": {message}" if message else ""
    return f"{event.event_type}{detail}"[:500]


def _check_workflow(uow: ReliabilityUnitOfWork, workflow_id: uuid.UUID) -> None:
    _check_workflows(uow, [workflow_id])


def _check_workflows(uow: ReliabilityUnitOfWork, workflow_ids: Iterable[uuid.UUID]) -> None:
    """Each workflow, in turn, exists, is active and no active kill switch stops it (tenant-wide or
    its own; the oldest is reported). The tenant's active switches are read once for them all."""
    active: list[KillSwitch] | None = None
    for workflow_id in workflow_ids:
        workflow = uow.workflows.get_by_id(workflow_id)
        if workflow is None:
            raise NotFound("Workflow", workflow_id)
        if not workflow.is_active:
            raise ValidationError("workflow_id", f"workflow {workflow_id} is inactive")
        if active is None:
            active = _active_kill_switches(uow)
        switches = [switch for switch in active if switch.workflow_id in (None, workflow_id)]
        if switches:
            raise KillSwitchEngaged(workflow_id, switches[0].id, switches[0].reason)


def _active_kill_switches(uow: ReliabilityUnitOfWork) -> list[KillSwitch]:
    """Every active switch of the tenant, oldest first (`get_active_for`'s order)."""
    found: list[KillSwitch] = []
    cursor: str | None = None
    while True:
        page = uow.kill_switches.list_by_cursor(KillSwitchFilter(is_active=True), OLDEST_FIRST,
                                                CursorPageRequest(limit=MAX_PAGE_SIZE, after=cursor))
        found.extend(page.items)
        cursor = page.next_cursor
        if cursor is None:
            return found


def _group_into_incident(
    uow: ReliabilityUnitOfWork, failures: Sequence[Event], severity: str, open_incident: Incident | None
) -> Incident:
    """Record `failures` (all of one signature) on its open incident (looked up by the caller), or
    open one with the first of them."""
    if open_incident is None:
        first, *rest = failures
        incident = uow.incidents.create_from_event(first, title=_title(first), severity=severity)
    else:
        incident, rest = open_incident, list(failures)
    if rest:
        incident = uow.incidents.record_events(incident, [event.occurred_at for event in rest])
    return incident


class IngestEvent:
    def __init__(self, uow: ReliabilityUnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    def __call__(self, command: IncomingEvent) -> Ingested:
        return retrying(lambda: self._once(command))

    def _once(self, command: IncomingEvent) -> Ingested:
        at = self._clock.now()
        event = _to_event(command, at)
        with self._uow.for_tenant(command.tenant_id) as uow:
            known = uow.events.get_by_idempotency_key(command.idempotency_key)
            if known is not None:
                return Ingested(known, False, None)
            _check_workflow(uow, command.workflow_id)
            stored, created = uow.events.append(event)
            if not created:  # a concurrent ingest of the same key won
                return Ingested(stored, False, None)
            incident = None
            if stored.is_failure:
                open_incident = uow.incidents.get_open_by_signature(stored.signature)
                incident = _group_into_incident(uow, [stored], command.severity, open_incident)
            return Ingested(stored, True, incident)


_EVENT_FIELDS = ("id", "created_at", "updated_at", "version", "tenant_id", "workflow_id", "event_type", "payload",
                 "idempotency_key", "correlation_id", "occurred_at")
# `_to_event` builds what `Event.model_construct` would (the same `__dict__` in field order, every
# field set): only while the model is a plain one with exactly these fields, in this order.
_PLAIN_EVENT = (tuple(Event.__pydantic_fields__) == _EVENT_FIELDS and not Event.__pydantic_post_init__
                and not Event.__private_attributes__ and Event.model_config.get("extra") != "allow"
                and all(info.alias is None and info.validation_alias is None
                        for info in Event.__pydantic_fields__.values()))


def _to_event(command: IncomingEvent, at: datetime) -> Event:
    # The command was validated with the event's own field types: building the event needs no second
    # validation, which on a batch of a thousand events costs more than storing them.
    values: dict[str, Any] = {
        "id": new_id(), "created_at": at, "updated_at": at, "version": 1, "tenant_id": TenantId(command.tenant_id),
        "workflow_id": command.workflow_id, "event_type": command.event_type, "payload": command.payload,
        "idempotency_key": command.idempotency_key, "correlation_id": command.correlation_id,
        "occurred_at": command.occurred_at or at,
    }
    if not _PLAIN_EVENT:
        return Event.model_construct(**values)
    # model_construct's own steps without its walk over aliases and defaults (a tenth of the ingest).
    event = Event.__new__(Event)
    object.__setattr__(event, "__dict__", values)
    object.__setattr__(event, "__pydantic_fields_set__", set(_EVENT_FIELDS))
    object.__setattr__(event, "__pydantic_extra__", None)
    object.__setattr__(event, "__pydantic_private__", None)
    return event


def _open_incidents(uow: ReliabilityUnitOfWork, signatures: tuple[str, ...]) -> list[Incident]:
    if not signatures:
        return []
    found: list[Incident] = []
    cursor: str | None = None
    filters = IncidentFilter(statuses=tuple(OPEN_STATUSES), signatures=signatures)
    while True:
        page = uow.incidents.list_by_cursor(filters, None, CursorPageRequest(limit=MAX_PAGE_SIZE, after=cursor))
        found.extend(page.items)
        cursor = page.next_cursor
        if cursor is None:
            return found


class IngestEvents:
    """A batch of one tenant's events in one unit of work: one insert statement per batch, one
    incident read and write per distinct failure signature, not per event."""

    def __init__(self, uow: ReliabilityUnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    def __call__(self, commands: Sequence[IncomingEvent]) -> list[Ingested]:
        if not commands:
            return []
        tenant_id = commands[0].tenant_id
        if any(command.tenant_id != tenant_id for command in commands):
            raise ValidationError("tenant_id", "a batch holds the events of one tenant")
        return retrying(lambda: self._once(commands, tenant_id))

    def _once(self, commands: Sequence[IncomingEvent], tenant_id: uuid.UUID) -> list[Ingested]:
        at = self._clock.now()
        events = [_to_event(command, at) for command in commands]
        with self._uow.for_tenant(tenant_id) as uow:
            _check_workflows(uow, {event.workflow_id for event in events})
            stored = uow.events.append_many(events)
            by_signature: dict[str, list[Event]] = defaultdict(list)
            severity: dict[str, str] = {}
            signature_of: dict[uuid.UUID, str] = {}
            for command, (event, created) in zip(commands, stored, strict=True):
                if created and event.is_failure:
                    signature = signature_of[event.id] = event.signature  # computed once per event
                    by_signature[signature].append(event)
                    severity.setdefault(signature, command.severity)
            # One query finds the open incidents of every signature in the batch.
            open_now = {incident.signature: incident for incident in _open_incidents(uow, tuple(by_signature))}
            # New signatures open an incident each; the open ones count their events in one statement.
            incidents = {signature: _group_into_incident(uow, failures, severity[signature], None)
                         for signature, failures in by_signature.items() if signature not in open_now}
            joined = [signature for signature in by_signature if signature in open_now]
            counted = uow.incidents.record_events_many([
                (open_now[signature], [event.occurred_at for event in by_signature[signature]]) for signature in joined
            ])
            incidents.update(zip(joined, counted, strict=True))
            # A key repeated in the batch comes back as the same event, not new: it joined nothing.
            return [Ingested(event, created, incidents.get(signature_of[event.id]) if created and
                             event.id in signature_of else None) for event, created in stored]

