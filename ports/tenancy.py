"""The tenancy port."""

from __future__ import annotations

from abc import abstractmethod

from domain.shared.fields import FieldKind
from domain.shared.sorting import SortField
from domain.tenancy.filters import TenantFilter
from domain.tenancy.tenant import Tenant
from ports.records import RecordSchema, UniqueKey
from ports.repository import CrudRepository
from ports.unit_of_work import UnitOfWork, UnitOfWorkFactory

TENANT_SCHEMA: RecordSchema[Tenant] = RecordSchema(
    entity="Tenant",
    table="tenants",
    model=Tenant,
    fields={
        "id": FieldKind.UUID,
        "name": FieldKind.STRING,
        "slug": FieldKind.STRING,
        "is_active": FieldKind.BOOLEAN,
        "created_at": FieldKind.DATETIME,
        "updated_at": FieldKind.DATETIME,
    },
    # A tenant is its own scope: a unit of work for tenant T sees the tenant T and nothing else.
    scope_field="id",
    visible_to_system=True,
    unique_keys={"slug": UniqueKey(("slug",))},
    default_sort=(SortField("created_at"),),
)


class TenantRepository(CrudRepository[Tenant, TenantFilter]):
    """Tenants (spec 001) / organizations (spec 003)."""

    @abstractmethod
    def get_by_slug(self, slug: str) -> Tenant | None: ...

    @property
    def entity_name(self) -> str:
        return TENANT_SCHEMA.entity


class TenancyUnitOfWork(UnitOfWork):
    """The tenancy context's unit of work."""

    @property
    @abstractmethod
    def tenants(self) -> TenantRepository:
        """Tenants; from a tenant's unit of work, that tenant only."""


TenancyUnitOfWorkFactory = UnitOfWorkFactory[TenancyUnitOfWork]
