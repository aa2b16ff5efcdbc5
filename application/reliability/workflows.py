"""Registering workflows and vendors."""

from __future__ import annotations

from application.reliability.commands import NewVendor, NewWorkflow
from domain.reliability.vendor import Vendor
from domain.reliability.workflow import Workflow
from domain.shared.ids import parse_id
from ports.clock import Clock
from ports.reliability import ReliabilityUnitOfWorkFactory
from ports.tenancy import TenancyUnitOfWorkFactory


class RegisterWorkflow:
    def __init__(self, uow: ReliabilityUnitOfWorkFactory, clock: Clock, tenants: TenancyUnitOfWorkFactory) -> None:
        self._uow = uow
        self._clock = clock
        self._tenants = tenants

    def __call__(self, command: NewWorkflow) -> Workflow:
        at = self._clock.now()
        workflow = Workflow.new(tenant_id=command.tenant_id, name=command.name, description=command.description,
                                created_at=at, updated_at=at)
        # Two contexts, one transaction when they share a database: the tenant cannot vanish meanwhile.
        with self._uow.for_tenant(command.tenant_id) as uow, self._tenants.for_tenant(command.tenant_id) as tenancy:
            tenancy.tenants.get_by_id_or_raise(command.tenant_id)
            return uow.workflows.create(workflow)


class SetWorkflowActive:
    def __init__(self, uow: ReliabilityUnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    def __call__(self, tenant_id: object, workflow_id: object, active: bool) -> Workflow:
        at = self._clock.now()
        with self._uow.for_tenant(tenant_id) as uow:
            workflow = uow.workflows.get_by_id_or_raise(parse_id(workflow_id, "workflow_id"))
            return uow.workflows.update(workflow.activate(at) if active else workflow.deactivate(at))


class RegisterVendor:
    def __init__(self, uow: ReliabilityUnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    def __call__(self, command: NewVendor) -> Vendor:
        at = self._clock.now()
        vendor = Vendor.new(**command.model_dump(), created_at=at, updated_at=at)
        with self._uow.system() as uow:
            return uow.vendors.create(vendor)
