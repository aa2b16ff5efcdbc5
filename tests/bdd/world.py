"""The `World` the steps of one tenancy scenario share, and small helpers for step text."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from adapters.clock import ManualClock
from application.container import Container
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
from domain.shared.errors import PortsideError
from domain.shared.pagination import CursorPage, OffsetPageRequest, Page
from domain.tenancy.tenant import Tenant
from ports.unit_of_work import UnitOfWorkFactory

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

    # -- the container's parts, typed ------------------------------------------------------
    @property
    def clock(self) -> ManualClock:
        clock = self.container.clock()
        assert isinstance(clock, ManualClock), "the in-memory container runs on a manual clock"
        return clock

    @property
    def uow(self) -> UnitOfWorkFactory:
        factory: UnitOfWorkFactory = self.container.tenancy_unit_of_work()
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


def quoted_names(text: str) -> list[str]:
    """'"Initech", "Acme Corp" and "Hooli"' -> ['Initech', 'Acme Corp', 'Hooli']."""
    return re.findall(r'"([^"]*)"', text)


def changes(world: World, known_as: str, version: int, /, **data: Any) -> TenantChanges:
    """The change request an operator sends after reading the organization at `version`."""
    return TenantChanges.parse(tenant_id=world.id_of(known_as), expected_version=version, **data)
