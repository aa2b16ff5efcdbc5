"""What the memory and SQL reliability repositories share: every port method beyond CRUD, written
once over a few storage primitives, and the checks of their arguments.

Each adapter's repository is its CRUD base (`MemoryCrud`, `SqlCrud`) plus the primitives below
(`_find`, `_count_by`, `_atomically`, and for events and incidents their insert), followed by the
rules class of its aggregate. The rules fix what the methods mean (windows, order, idempotency,
the one-open-incident rule) in one place, so the backends cannot drift; the adapters only decide
how a query runs.
"""

from __future__ import annotations

import uuid
from abc import ABC, abstractmethod
from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Generic, NoReturn, Protocol, TypeVar

from domain.reliability.action import Action
from domain.reliability.decision import Decision
from domain.reliability.event import Event
from domain.reliability.filters import EventFilter, IncidentFilter
from domain.reliability.incident import OPEN_STATUSES, Incident, IncidentStatus
from domain.reliability.kill_switch import KillSwitch
from domain.reliability.vendor import Vendor
from domain.reliability.workflow import Workflow
from domain.shared.entity import Entity
from domain.shared.errors import Conflict, Unsupported, ValidationError
from domain.shared.filters import Condition, Operator
from domain.shared.ids import parse_id
from domain.shared.pagination import OffsetPageRequest, Page
from domain.shared.sorting import Sort
from domain.shared.time import ensure_utc
from ports.rate_limit import minute_window
from ports.reliability import (
    ActionRepository,
    DecisionRepository,
    EventRepository,
    IncidentRepository,
    KillSwitchRepository,
    VendorRepository,
    WorkflowRepository,
)

E = TypeVar("E", bound=Entity)

OLDEST_FIRST = Sort.parse("created_at,id")
NEWEST_FIRST = Sort.parse("-created_at,-id")
OPEN_STATUS_VALUES = tuple(status.value for status in IncidentStatus if status in OPEN_STATUSES)
KEY_LOOKUP_CHUNK = 500
"""Keys per `IN (...)` lookup: far below SQLite's and PostgreSQL's bound-parameter limits."""


@dataclass(frozen=True, slots=True)
class Query:
    """A read the rules ask of an adapter: conditions in the shared vocabulary, an order, a limit."""

    conditions: tuple[Condition, ...]
    sort: Sort = OLDEST_FIRST
    limit: int | None = None


# -- argument checks --------------------------------------------------------------------------
def text_argument(value: Any, field: str) -> str:
    if not isinstance(value, str):
        raise ValidationError(field, f"expected text, got {type(value).__name__} {value!r}")
    return value


def positive_int(value: Any, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValidationError(field, f"must be a positive integer, got {value!r}")
    return value


def aware_datetime(value: Any, field: str) -> datetime:
    if not isinstance(value, datetime):
        raise ValidationError(field, f"expected a datetime, got {type(value).__name__}")
    return ensure_utc(value, field)


def incident_status(value: Any) -> IncidentStatus:
    try:
        return IncidentStatus(value)
    except ValueError:
        names = ", ".join(status.value for status in IncidentStatus)
        raise ValidationError("status", f"unknown status {value!r}; one of {names}") from None


def rate_counter_arguments(key: Any, window: Any) -> tuple[str, datetime]:
    """The checked arguments of `RateCounter.hit` and `count`, for every counter adapter."""
    if not text_argument(key, "key"):
        raise ValidationError("key", "must not be empty")
    start = aware_datetime(window, "window")
    if start != minute_window(start):
        raise ValidationError("window", f"must be the start of a minute, got {start.isoformat()}")
    return key, start


# -- what every adapter supplies ----------------------------------------------------------------
class Records(ABC, Generic[E]):
    """The storage primitives the rules are written over. Rules classes come after the adapter's
    CRUD base in a repository's bases, so the concrete methods found first are the adapter's."""

    @abstractmethod
    def _checked(self, entity: E) -> E:
        """The entity, if it is of this repository's type and in scope (the CRUD bases)."""

    @abstractmethod
    def _find(self, query: Query) -> list[E]:
        """The visible rows matching the query, in its order."""

    @abstractmethod
    def _count_by(self, field: str) -> dict[Any, int]:
        """Visible rows counted by the value of `field` (values absent from the rows are absent)."""

    @abstractmethod
    def _atomically(self) -> AbstractContextManager[None]:
        """A savepoint: an exception inside undoes the writes made inside, and the unit of work goes on."""

    def _first(self, *conditions: Condition) -> E | None:
        found = self._find(Query(conditions, limit=1))
        return found[0] if found else None


class _Named(Protocol):
    @property
    def entity_name(self) -> str: ...


class AppendOnly:
    """Placed first in a repository's bases, before its CRUD base: events and decisions are never
    changed or removed (PostgreSQL's triggers refuse it to raw SQL as well)."""

    def update(self: _Named, entity: Any) -> NoReturn:
        raise Unsupported(f"{self.entity_name} records are append-only: they cannot be updated")

    def delete(self: _Named, entity_id: uuid.UUID, expected_version: int | None = None) -> NoReturn:
        raise Unsupported(f"{self.entity_name} records are append-only: they cannot be deleted")


# -- the rules of each aggregate ----------------------------------------------------------------
def _equal(field: str, value: Any) -> Condition:
    return Condition(field, Operator.EQ, value)


class WorkflowRules(Records[Workflow], WorkflowRepository):
    def get_by_name(self, name: str) -> Workflow | None:
        return self._first(_equal("name", text_argument(name, "name")))


class VendorRules(Records[Vendor], VendorRepository):
    def get_by_name(self, name: str) -> Vendor | None:
        return self._first(_equal("name", text_argument(name, "name")))


class EventRules(Records[Event], EventRepository):
    @abstractmethod
    def _insert_new(self, events: list[Event]) -> set[str]:
        """Insert the events whose id and idempotency key are free and return the keys inserted
        (ON CONFLICT DO NOTHING). A key another transaction is inserting is waited for, so that
        the outcome is decided by what that transaction commits. The keys are distinct."""

    def get_by_idempotency_key(self, idempotency_key: str) -> Event | None:
        return self._first(_equal("idempotency_key", text_argument(idempotency_key, "idempotency_key")))

    def append(self, event: Event) -> tuple[Event, bool]:
        [result] = self.append_many([event])
        return result

    def append_many(self, events: Sequence[Event]) -> list[tuple[Event, bool]]:
        checked = [self._checked(event) for event in events]
        firsts: dict[str, Event] = {}
        for event in checked:
            firsts.setdefault(event.idempotency_key, event)
        # One event is one statement, atomic by itself; a batch needs a savepoint to be all or nothing.
        with self._atomically() if len(firsts) > 1 else nullcontext():
            inserted = self._insert_new(list(firsts.values())) if firsts else set()
            stored = {key: firsts[key] for key in inserted}
            stored.update(self._by_keys([key for key in firsts if key not in inserted]))
            for key, event in firsts.items():
                if key not in stored:  # skipped for its id, and no event holds its key
                    raise Conflict(self.entity_name, f"id {event.id} is already taken")
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

    def get_recent_events(self, workflow_id: uuid.UUID, hours: int = 24, *, now: datetime) -> list[Event]:
        workflow = parse_id(workflow_id, "workflow_id")
        until = aware_datetime(now, "now")
        since = until - timedelta(hours=positive_int(hours, "hours"))
        return self._find(Query(
            (
                _equal("workflow_id", workflow),
                Condition("occurred_at", Operator.GTE, since),
                Condition("occurred_at", Operator.LTE, until),
            ),
            Sort.parse("-occurred_at,-id"),
        ))

    def count_events(self, workflow_id: uuid.UUID | None = None) -> int:
        if workflow_id is None:
            return self.count()
        return self.count(EventFilter(workflow_id=parse_id(workflow_id, "workflow_id")))


class IncidentRules(Records[Incident], IncidentRepository):
    @abstractmethod
    def _insert_open(self, incident: Incident) -> bool:
        """Insert unless the tenant has an open incident of the same signature (the partial unique
        key); whether it was inserted. A concurrent insert of the signature is waited for."""

    def get_open_by_signature(self, signature: str) -> Incident | None:
        return self._first(
            _equal("signature", text_argument(signature, "signature")),
            Condition("status", Operator.IN, OPEN_STATUS_VALUES),
        )

    def create_from_event(self, event: Event, *, title: str, severity: str = "medium") -> Incident:
        if not isinstance(event, Event):
            raise ValidationError("event", f"expected an Event, got {type(event).__name__}")
        # The port passes no clock: the incident is as old as the event's ingestion.
        incident = Incident.new(
            tenant_id=event.tenant_id, workflow_id=event.workflow_id, signature=event.signature,
            title=title, severity=severity, first_seen_at=event.occurred_at, last_seen_at=event.occurred_at,
            correlation_id=event.correlation_id, created_at=event.created_at, updated_at=event.created_at,
        )
        if not self._insert_open(self._checked(incident)):
            raise Conflict(self.entity_name, f"signature {incident.signature!r} already has an open incident")
        return incident

    def get_incidents_by_status(
        self, status: IncidentStatus, page: OffsetPageRequest | None = None
    ) -> Page[Incident]:
        return self.list_and_count(IncidentFilter(statuses=(incident_status(status),)), NEWEST_FIRST, page)

    def count_by_status(self) -> dict[IncidentStatus, int]:
        counts = self._count_by("status")
        return {status: counts.get(status, 0) for status in IncidentStatus}


def _for_incident(records: Records[E], incident_id: uuid.UUID) -> list[E]:
    return records._find(Query((_equal("incident_id", parse_id(incident_id, "incident_id")),)))


class DecisionRules(Records[Decision], DecisionRepository):
    def list_for_incident(self, incident_id: uuid.UUID) -> list[Decision]:
        return _for_incident(self, incident_id)


class ActionRules(Records[Action], ActionRepository):
    def list_for_incident(self, incident_id: uuid.UUID) -> list[Action]:
        return _for_incident(self, incident_id)


class KillSwitchRules(Records[KillSwitch], KillSwitchRepository):
    def get_active_for(self, workflow_id: uuid.UUID | None) -> list[KillSwitch]:
        workflow = None if workflow_id is None else parse_id(workflow_id, "workflow_id")
        # A tenant has a handful of active switches: the "tenant-wide or this workflow" choice is
        # made here rather than taught to the condition vocabulary, which has no OR.
        active = self._find(Query((_equal("is_active", True),)))
        return [switch for switch in active if switch.workflow_id in (None, workflow)]
