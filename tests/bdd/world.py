"""The `World` the steps of one scenario share (tenancy and reliability), and small helpers for step text."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from adapters.clock import ManualClock
from application.container import Container
from application.reliability.commands import IncidentMove, IncomingEvent, NewWorkflow
from application.reliability.incidents import (
    FinishAction,
    ListIncidents,
    MoveIncident,
    ProposeAction,
    RecordDecision,
    StartAction,
)
from application.reliability.ingestion import Ingested, IngestEvent, IngestEvents
from application.reliability.kill_switches import ActivateKillSwitch, ReleaseKillSwitch
from application.reliability.vendors import Admission, AdmitVendorCall, RecordVendorCall
from application.reliability.workflows import RegisterVendor, RegisterWorkflow, SetWorkflowActive
from application.tenancy.use_cases import (
    CreateTenant,
    CreateTenants,
    DeleteTenant,
    GetTenant,
    ListTenants,
    NewTenant,
    TenantChanges,
    UpdateTenant,
)
from domain.reliability.action import Action
from domain.reliability.event import Event
from domain.reliability.filters import IncidentFilter
from domain.reliability.incident import Incident, IncidentStatus
from domain.reliability.kill_switch import KillSwitch
from domain.reliability.vendor import Vendor
from domain.reliability.workflow import Workflow
from domain.shared.errors import PortsideError
from domain.shared.pagination import CursorPage, OffsetPageRequest, Page
from domain.tenancy.tenant import Tenant
from ports.reliability import ReliabilityUnitOfWork, ReliabilityUnitOfWorkFactory
from ports.tenancy import TenancyUnitOfWorkFactory

T = TypeVar("T")

QUOTED = r'"(?P<{}>[^"]*)"'
"""A quoted step argument that may be empty (parse's `{}` needs at least one character)."""


def quoted(name: str) -> str:
    return QUOTED.format(name)


def names_in(text: str) -> list[str]:
    """'Acme Corp, Hooli' -> ['Acme Corp', 'Hooli']; an empty text is no names."""
    return [part.strip() for part in text.split(",") if part.strip()]


def table_rows(datatable: list[list[str]]) -> list[dict[str, str]]:
    header, *rows = datatable
    return [dict(zip(header, row, strict=True)) for row in rows]


def yes_no(text: str) -> bool:
    if text not in ("yes", "no"):
        raise AssertionError(f"expected yes or no in the table, got {text!r}")
    return text == "yes"


def moment(text: str) -> datetime:
    return datetime.fromisoformat(text)


@dataclass
class World:
    """What the steps of one scenario share."""

    container: Container
    ids: dict[str, uuid.UUID] = field(default_factory=dict)
    """Every name an organization was registered or renamed under, to its id."""
    error: PortsideError | None = None
    """The error the last request was refused with, or None if it succeeded."""
    tenant: Tenant | None = None
    """The organization the last request returned."""
    listed: list[Tenant] = field(default_factory=list)
    page: Page[Tenant] | None = None
    cursor_page: CursorPage[Tenant] | None = None
    cursor_sort: str | None = None
    walk: list[list[Tenant]] = field(default_factory=list)
    """The pages of the last keyset walk, in the order they were read."""
    found: Tenant | None = None
    """What the last lookup found."""
    refusals: dict[str, PortsideError] = field(default_factory=dict)
    """Refusals met inside a unit of work that went on, by the organization's name."""
    work_failed: bool = False

    # -- reliability (features/reliability) ------------------------------------------------
    workflows: dict[str, Workflow] = field(default_factory=dict)
    """Every workflow registered in this scenario, by name (names are unique across a scenario)."""
    vendors: dict[str, Vendor] = field(default_factory=dict)
    reported: list[Ingested] = field(default_factory=list)
    """Everything ingestion answered in this scenario, in order, duplicates included."""
    results: list[Ingested] = field(default_factory=list)
    """What the last report (one event or a batch) was answered with."""
    incident: Incident | None = None
    """The incident the scenario talks about."""
    action: Action | None = None
    """The action the scenario talks about."""
    switch: KillSwitch | None = None
    """The kill switch the last activation returned."""
    switches: list[KillSwitch] = field(default_factory=list)
    """Every kill switch activation's answer, in order."""
    admissions: list[Admission] = field(default_factory=list)
    """The answers to the last requests to call a vendor."""

    # -- the container's parts, typed ------------------------------------------------------
    @property
    def clock(self) -> ManualClock:
        clock = self.container.clock()
        assert isinstance(clock, ManualClock), "the in-memory container runs on a manual clock"
        return clock

    @property
    def uow(self) -> TenancyUnitOfWorkFactory:
        factory: TenancyUnitOfWorkFactory = self.container.tenancy_unit_of_work()
        return factory

    @property
    def create_tenant(self) -> CreateTenant:
        use_case: CreateTenant = self.container.create_tenant()
        return use_case

    @property
    def create_tenants(self) -> CreateTenants:
        use_case: CreateTenants = self.container.create_tenants()
        return use_case

    @property
    def get_tenant(self) -> GetTenant:
        use_case: GetTenant = self.container.get_tenant()
        return use_case

    @property
    def update_tenant(self) -> UpdateTenant:
        use_case: UpdateTenant = self.container.update_tenant()
        return use_case

    @property
    def delete_tenant(self) -> DeleteTenant:
        use_case: DeleteTenant = self.container.delete_tenant()
        return use_case

    @property
    def list_tenants(self) -> ListTenants:
        use_case: ListTenants = self.container.list_tenants()
        return use_case

    @property
    def reliability_uow(self) -> ReliabilityUnitOfWorkFactory:
        factory: ReliabilityUnitOfWorkFactory = self.container.reliability_unit_of_work()
        return factory

    @property
    def register_workflow(self) -> RegisterWorkflow:
        use_case: RegisterWorkflow = self.container.register_workflow()
        return use_case

    @property
    def set_workflow_active(self) -> SetWorkflowActive:
        use_case: SetWorkflowActive = self.container.set_workflow_active()
        return use_case

    @property
    def register_vendor(self) -> RegisterVendor:
        use_case: RegisterVendor = self.container.register_vendor()
        return use_case

    @property
    def ingest_event(self) -> IngestEvent:
        use_case: IngestEvent = self.container.ingest_event()
        return use_case

    @property
    def ingest_events(self) -> IngestEvents:
        use_case: IngestEvents = self.container.ingest_events()
        return use_case

    @property
    def record_decision(self) -> RecordDecision:
        use_case: RecordDecision = self.container.record_decision()
        return use_case

    @property
    def move_incident(self) -> MoveIncident:
        use_case: MoveIncident = self.container.move_incident()
        return use_case

    @property
    def propose_action(self) -> ProposeAction:
        use_case: ProposeAction = self.container.propose_action()
        return use_case

    @property
    def start_action(self) -> StartAction:
        use_case: StartAction = self.container.start_action()
        return use_case

    @property
    def finish_action(self) -> FinishAction:
        use_case: FinishAction = self.container.finish_action()
        return use_case

    @property
    def list_incidents(self) -> ListIncidents:
        use_case: ListIncidents = self.container.list_incidents()
        return use_case

    @property
    def record_vendor_call(self) -> RecordVendorCall:
        use_case: RecordVendorCall = self.container.record_vendor_call()
        return use_case

    @property
    def admit_vendor_call(self) -> AdmitVendorCall:
        use_case: AdmitVendorCall = self.container.admit_vendor_call()
        return use_case

    @property
    def activate_kill_switch(self) -> ActivateKillSwitch:
        use_case: ActivateKillSwitch = self.container.activate_kill_switch()
        return use_case

    @property
    def release_kill_switch(self) -> ReleaseKillSwitch:
        use_case: ReleaseKillSwitch = self.container.release_kill_switch()
        return use_case

    # -- bookkeeping -----------------------------------------------------------------------
    def attempt(self, action: Callable[[], T]) -> T | None:
        """Run a request; a refusal (any `PortsideError`) is kept for the Then steps."""
        self.error = None
        try:
            return action()
        except PortsideError as error:
            self.error = error
            return None

    def succeeded(self) -> None:
        assert self.error is None, f"the request was refused: {type(self.error).__name__}: {self.error}"

    def remember(self, tenant: Tenant) -> Tenant:
        self.ids[tenant.name] = tenant.id
        return tenant

    def id_of(self, name: str) -> uuid.UUID:
        assert name in self.ids, f"no organization was registered as {name!r} in this scenario"
        return self.ids[name]

    def current(self, name: str) -> Tenant:
        """The organization as stored now, read through the application."""
        return self.get_tenant(self.id_of(name))

    def register(self, **data: Any) -> Tenant:
        return self.remember(self.create_tenant(NewTenant.parse(**data)))

    def registered(self) -> list[Tenant]:
        """Every organization, in registration order."""
        page = self.list_tenants(page=OffsetPageRequest(limit=1000))
        assert page.total == len(page.items), "more organizations than one listing shows"
        return page.items

    # -- reliability bookkeeping -------------------------------------------------------------
    def workflow(self, name: str) -> Workflow:
        assert name in self.workflows, f"no workflow was registered as {name!r} in this scenario"
        return self.workflows[name]

    def vendor(self, name: str) -> Vendor:
        assert name in self.vendors, f"no vendor was registered as {name!r} in this scenario"
        return self.vendors[name]

    def add_workflow(self, organization: str, name: str) -> Workflow:
        workflow = self.register_workflow(NewWorkflow.parse(tenant_id=self.id_of(organization), name=name))
        self.workflows[name] = workflow
        return workflow

    def report(self, workflow: str, **data: Any) -> Ingested:
        """Report one event of `workflow` (ingested in its organization) and keep the answer."""
        known = self.workflow(workflow)
        result = self.ingest_event(IncomingEvent.parse(tenant_id=known.tenant_id, workflow_id=known.id, **data))
        self.reported.append(result)
        self.results = [result]
        if result.incident is not None:
            self.incident = result.incident
        return result

    def report_at_once(self, workflow: str, rows: list[dict[str, Any]]) -> list[Ingested]:
        known = self.workflow(workflow)
        commands = [IncomingEvent.parse(tenant_id=known.tenant_id, workflow_id=known.id, **row) for row in rows]
        results = self.ingest_events(commands)
        self.reported.extend(results)
        self.results = results
        return results

    def first_recorded(self, key: str) -> Event:
        """The event first recorded under the idempotency key `key` in this scenario."""
        for result in self.reported:
            if result.created and result.event.idempotency_key == key:
                return result.event
        raise AssertionError(f"no event was recorded under the key {key!r} in this scenario")

    def read(self, organization: str, query: Callable[[ReliabilityUnitOfWork], T]) -> T:
        """Read through the organization's own unit of work."""
        with self.reliability_uow.for_tenant(self.id_of(organization)) as uow:
            return query(uow)

    def events_of(self, organization: str) -> list[Event]:
        return self.read(organization, lambda uow: uow.events.list_and_count(page=OffsetPageRequest(limit=1000)).items)

    def incidents_of(self, organization: str) -> list[Incident]:
        """Every incident of the organization, oldest first."""
        page = self.list_incidents.matching(self.id_of(organization), IncidentFilter(), OffsetPageRequest(limit=1000))
        assert page.total == len(page.items), "more incidents than one listing shows"
        return sorted(page.items, key=lambda incident: (incident.first_seen_at, incident.created_at, incident.title))

    def organization_of(self, tenant_id: uuid.UUID) -> str:
        return next(name for name, known in self.ids.items() if known == tenant_id)

    def current_incident(self) -> Incident:
        assert self.incident is not None, "no incident was opened in this scenario"
        incident = self.incident
        return self.read(self.organization_of(incident.tenant_id),
                         lambda uow: uow.incidents.get_by_id_or_raise(incident.id))

    def move_incident_to(self, status: IncidentStatus, organization: str | None = None) -> Incident:
        """Move the incident, as its own organization or as `organization`."""
        assert self.incident is not None, "no incident was opened in this scenario"
        tenant_id = self.id_of(organization) if organization else self.incident.tenant_id
        return self.move_incident(IncidentMove.parse(tenant_id=tenant_id, incident_id=self.incident.id, status=status))

    def current_action(self) -> Action:
        assert self.action is not None, "no action was proposed in this scenario"
        action = self.action
        return self.read(self.organization_of(action.tenant_id), lambda uow: uow.actions.get_by_id_or_raise(action.id))

    def current_switch(self, switch: KillSwitch | None = None) -> KillSwitch:
        chosen = switch or self.switch
        assert chosen is not None, "no kill switch was activated in this scenario"
        return self.read(self.organization_of(chosen.tenant_id),
                         lambda uow: uow.kill_switches.get_by_id_or_raise(chosen.id))

    def current_vendor(self, name: str) -> Vendor:
        with self.reliability_uow.system() as uow:
            return uow.vendors.get_by_id_or_raise(self.vendor(name).id)


def quoted_names(text: str) -> list[str]:
    """'"Initech", "Acme Corp" and "Hooli"' -> ['Initech', 'Acme Corp', 'Hooli']."""
    return re.findall(r'"([^"]*)"', text)


def changes(world: World, known_as: str, version: int, /, **data: Any) -> TenantChanges:
    """The change request an operator sends after reading the organization at `version`."""
    return TenantChanges.parse(tenant_id=world.id_of(known_as), expected_version=version, **data)
