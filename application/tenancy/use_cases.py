"""Tenancy use cases: what services call to manage tenants (organizations).

Tenant administration runs in system scope; a tenant's own unit of work reaches only itself.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from pydantic import Field, JsonValue

from application.commands import Command
from domain.shared.errors import Conflict, ValidationError
from domain.shared.ids import parse_id
from domain.shared.pagination import CursorPage, CursorPageRequest, OffsetPageRequest, Page
from domain.shared.sorting import Sort
from domain.tenancy.filters import TenantFilter
from domain.tenancy.tenant import Tenant
from ports.clock import Clock
from ports.tenancy import TenancyUnitOfWorkFactory


class NewTenant(Command):
    id: uuid.UUID | None = None
    """Chosen by the caller to make creation safe to retry: a retry that finds this id already
    stored with the same name and slug returns it instead of `Conflict`."""
    name: str
    slug: str | None = None
    settings: dict[str, JsonValue] = Field(default_factory=dict)
    is_active: bool = True


class TenantChanges(Command):
    """Fields to change; `expected_version` is the version the caller read (optimistic locking)."""

    tenant_id: uuid.UUID
    expected_version: int = Field(ge=1)
    name: str | None = None
    is_active: bool | None = None
    settings: dict[str, JsonValue] | None = None


def _register(command: NewTenant, at: datetime) -> Tenant:
    extra = {} if command.id is None else {"id": command.id}
    return Tenant.register(
        name=command.name, slug=command.slug, at=at, settings=command.settings,
        is_active=command.is_active, **extra,
    )


class CreateTenant:
    def __init__(self, uow: TenancyUnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    def __call__(self, command: NewTenant) -> Tenant:
        tenant = _register(command, self._clock.now())
        with self._uow.system() as uow:
            try:
                return uow.tenants.create(tenant)
            except Conflict:
                # A retry of a creation whose commit outcome was unknown finds its own write.
                stored = uow.tenants.get_by_id(tenant.id) if command.id is not None else None
                if stored is None or (stored.name, stored.slug) != (tenant.name, tenant.slug):
                    raise
                return stored


class CreateTenants:
    """Many tenants in one transaction: all are created, or none."""

    def __init__(self, uow: TenancyUnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    def __call__(self, commands: Sequence[NewTenant]) -> list[Tenant]:
        at = self._clock.now()
        tenants = [_register(command, at) for command in commands]
        with self._uow.system() as uow:
            return uow.tenants.bulk_create(tenants)


class GetTenant:
    def __init__(self, uow: TenancyUnitOfWorkFactory) -> None:
        self._uow = uow

    def __call__(self, tenant_id: object) -> Tenant:
        key = parse_id(tenant_id, "tenant_id")
        with self._uow.system() as uow:
            return uow.tenants.get_by_id_or_raise(key)

    def by_slug(self, slug: str) -> Tenant | None:
        with self._uow.system() as uow:
            return uow.tenants.get_by_slug(slug)


class UpdateTenant:
    def __init__(self, uow: TenancyUnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    def __call__(self, changes: TenantChanges) -> Tenant:
        if changes.name is None and changes.is_active is None and changes.settings is None:
            raise ValidationError("changes", "nothing to change: give a name, is_active or settings")
        at = self._clock.now()
        with self._uow.system() as uow:
            tenant = uow.tenants.get_by_id_or_raise(changes.tenant_id)
            tenant = tenant.model_copy(update={"version": changes.expected_version})
            if changes.name is not None:
                tenant = tenant.rename(changes.name, at)
            if changes.is_active is not None:
                tenant = tenant.activate(at) if changes.is_active else tenant.deactivate(at)
            if changes.settings is not None:
                tenant = tenant.with_settings(changes.settings, at)
            return uow.tenants.update(tenant)


class DeleteTenant:
    def __init__(self, uow: TenancyUnitOfWorkFactory) -> None:
        self._uow = uow

    def __call__(self, tenant_id: object, expected_version: int | None = None) -> None:
        key = parse_id(tenant_id, "tenant_id")
        if expected_version is not None and (isinstance(expected_version, bool) or expected_version < 1):
            raise ValidationError("expected_version", "must be a version number, 1 or more")
        with self._uow.system() as uow:
            uow.tenants.delete(key, expected_version)


class ListTenants:
    def __init__(self, uow: TenancyUnitOfWorkFactory) -> None:
        self._uow = uow

    def __call__(
        self, filters: TenantFilter | None = None, sort: Sort | str | None = None,
        page: OffsetPageRequest | None = None,
    ) -> Page[Tenant]:
        with self._uow.system() as uow:
            return uow.tenants.list_and_count(filters, _sort(sort), page)

    def by_cursor(
        self, filters: TenantFilter | None = None, sort: Sort | str | None = None,
        page: CursorPageRequest | None = None,
    ) -> CursorPage[Tenant]:
        with self._uow.system() as uow:
            return uow.tenants.list_by_cursor(filters, _sort(sort), page)


def _sort(sort: Sort | str | None) -> Sort | None:
    return Sort.parse(sort) if isinstance(sort, str) else sort
