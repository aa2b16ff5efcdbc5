"""Kill switches: stop a workflow, or a whole tenant, and release it."""

from __future__ import annotations

from application.reliability.commands import KillSwitchActivation, KillSwitchRelease
from domain.reliability.kill_switch import KillSwitch
from ports.clock import Clock
from ports.reliability import ReliabilityUnitOfWorkFactory
from ports.tenancy import TenancyUnitOfWorkFactory


class ActivateKillSwitch:
    """Activating what an active switch already covers returns that switch."""

    def __init__(self, uow: ReliabilityUnitOfWorkFactory, clock: Clock, tenants: TenancyUnitOfWorkFactory) -> None:
        self._uow = uow
        self._clock = clock
        self._tenants = tenants

    def __call__(self, command: KillSwitchActivation) -> KillSwitch:
        at = self._clock.now()
        # Two contexts, one transaction when they share a database: the tenant cannot vanish meanwhile.
        with self._uow.for_tenant(command.tenant_id) as uow, self._tenants.for_tenant(command.tenant_id) as tenancy:
            tenancy.tenants.get_by_id_or_raise(command.tenant_id)
            if command.workflow_id is not None:
                uow.workflows.get_by_id_or_raise(command.workflow_id)
            for active in uow.kill_switches.get_active_for(command.workflow_id):
                if active.workflow_id == command.workflow_id:
                    return active
            switch = KillSwitch.new(**command.model_dump(), activated_at=at, created_at=at, updated_at=at)
            return uow.kill_switches.create(switch)


class ReleaseKillSwitch:
    def __init__(self, uow: ReliabilityUnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    def __call__(self, command: KillSwitchRelease) -> KillSwitch:
        at = self._clock.now()
        with self._uow.for_tenant(command.tenant_id) as uow:
            switch = uow.kill_switches.get_by_id_or_raise(command.kill_switch_id)
            return uow.kill_switches.update(switch.release(command.released_by, at))
