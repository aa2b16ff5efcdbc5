"""The unit of work: one transaction, one tenant, every repository of the backend.

`with uow:` commits on a clean exit and rolls back on an exception. A unit of work entered while
another of the same backend is active in the same context (thread or task) joins it as a
savepoint, as spec 003's transaction manager propagates its transaction through the context.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from types import TracebackType
from typing import Self

from domain.shared.scope import TenantScope
from ports.processing import ExecutionRepository, ProcessorRepository
from ports.reliability import (
    ActionRepository,
    DecisionRepository,
    EventRepository,
    IncidentRepository,
    KillSwitchRepository,
    VendorRepository,
    WorkflowRepository,
)
from ports.tenancy import TenantRepository

REPOSITORY_ATTRIBUTES = (
    "tenants", "workflows", "vendors", "events", "incidents", "decisions", "actions", "kill_switches",
    "processors", "executions",
)
"""Every repository a unit of work carries, in the order they are declared below."""


class UnitOfWork(ABC):
    tenants: TenantRepository
    """Tenants; from a tenant's unit of work, that tenant only."""
    workflows: WorkflowRepository
    vendors: VendorRepository
    """Global: the same vendors from every scope."""
    events: EventRepository
    incidents: IncidentRepository
    decisions: DecisionRepository
    actions: ActionRepository
    kill_switches: KillSwitchRepository
    processors: ProcessorRepository
    """Processor catalog, purchased and underwriting processors (spec 000)."""
    executions: ExecutionRepository

    def __init__(self, scope: TenantScope) -> None:
        self.scope = scope

    @abstractmethod
    def __enter__(self) -> Self: ...

    @abstractmethod
    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None: ...

    @abstractmethod
    def commit(self) -> None:
        """Make the work so far durable (a nested unit of work: release its savepoint) and go on."""

    @abstractmethod
    def rollback(self) -> None:
        """Discard the work since the last commit (nested: since its savepoint) and go on."""


class UnitOfWorkFactory(ABC):
    """Opens units of work on one backend."""

    @abstractmethod
    def __call__(self, scope: TenantScope) -> UnitOfWork: ...

    def for_tenant(self, tenant: object) -> UnitOfWork:
        return self(TenantScope.of(tenant))

    def system(self) -> UnitOfWork:
        return self(TenantScope.system())
