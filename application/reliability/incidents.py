"""Incidents, the decisions taken on them and the actions that remediate them."""

from __future__ import annotations

from application.reliability.commands import ActionOutcome, IncidentMove, NewAction, NewDecision
from domain.reliability.action import Action
from domain.reliability.decision import Decision
from domain.reliability.filters import IncidentFilter
from domain.reliability.incident import Incident, IncidentStatus
from domain.shared.errors import InvalidTransition
from domain.shared.ids import parse_id
from domain.shared.pagination import OffsetPageRequest, Page
from domain.shared.sorting import Sort
from ports.clock import Clock
from ports.reliability import ReliabilityUnitOfWorkFactory


class RecordDecision:
    """An immutable audit record; the incident must exist in the tenant."""

    def __init__(self, uow: ReliabilityUnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    def __call__(self, command: NewDecision) -> Decision:
        at = self._clock.now()
        decision = Decision.new(**command.model_dump(), created_at=at, updated_at=at)
        with self._uow.for_tenant(command.tenant_id) as uow:
            uow.incidents.get_by_id_or_raise(command.incident_id)
            return uow.decisions.create(decision)


class MoveIncident:
    def __init__(self, uow: ReliabilityUnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    def __call__(self, command: IncidentMove) -> Incident:
        at = self._clock.now()
        with self._uow.for_tenant(command.tenant_id) as uow:
            incident = uow.incidents.get_by_id_or_raise(command.incident_id)
            return uow.incidents.update(incident.move_to(command.status, at))


class ProposeAction:
    def __init__(self, uow: ReliabilityUnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    def __call__(self, command: NewAction) -> Action:
        at = self._clock.now()
        action = Action.new(**command.model_dump(), created_at=at, updated_at=at)
        with self._uow.for_tenant(command.tenant_id) as uow:
            incident = uow.incidents.get_by_id_or_raise(command.incident_id)
            if not incident.is_open:
                raise InvalidTransition("incident", incident.status.value, IncidentStatus.ACTIONED.value)
            return uow.actions.create(action)


class StartAction:
    """Starting an action marks its incident ACTIONED (from NEW, through ANALYZING)."""

    def __init__(self, uow: ReliabilityUnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    def __call__(self, tenant_id: object, action_id: object) -> Action:
        at = self._clock.now()
        with self._uow.for_tenant(tenant_id) as uow:
            action = uow.actions.get_by_id_or_raise(parse_id(action_id, "action_id"))
            incident = uow.incidents.get_by_id_or_raise(action.incident_id)
            if not incident.is_open:  # nothing is started on a closed incident
                raise InvalidTransition("incident", incident.status.value, IncidentStatus.ACTIONED.value)
            started = uow.actions.update(action.start(at))
            if incident.status is IncidentStatus.NEW:
                incident = incident.move_to(IncidentStatus.ANALYZING, at)
            if incident.status is IncidentStatus.ANALYZING:
                uow.incidents.update(incident.move_to(IncidentStatus.ACTIONED, at))
            return started


class FinishAction:
    def __init__(self, uow: ReliabilityUnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    def __call__(self, command: ActionOutcome) -> Action:
        at = self._clock.now()
        with self._uow.for_tenant(command.tenant_id) as uow:
            action = uow.actions.get_by_id_or_raise(command.action_id)
            return uow.actions.update(action.finish(command.succeeded, command.result, at))


NEWEST_FIRST_INCIDENTS = Sort.parse("-created_at,-id")


class ListIncidents:
    def __init__(self, uow: ReliabilityUnitOfWorkFactory) -> None:
        self._uow = uow

    def __call__(
        self, tenant_id: object, status: IncidentStatus, page: OffsetPageRequest | None = None
    ) -> Page[Incident]:
        with self._uow.for_tenant(tenant_id) as uow:
            return uow.incidents.list_and_count(IncidentFilter(statuses=(status,)), NEWEST_FIRST_INCIDENTS, page)

    def counts(self, tenant_id: object) -> dict[IncidentStatus, int]:
        with self._uow.for_tenant(tenant_id) as uow:
            return uow.incidents.count_by_status()

    def matching(
        self, tenant_id: object, filters: IncidentFilter, page: OffsetPageRequest | None = None
    ) -> Page[Incident]:
        with self._uow.for_tenant(tenant_id) as uow:
            return uow.incidents.list_and_count(filters, None, page)
