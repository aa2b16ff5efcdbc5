"""The tenancy context's repository and unit of work, on any backend."""

from __future__ import annotations

from typing import Any, ClassVar

from adapters.records.crud import Crud
from adapters.records.store import equal
from adapters.transactions import Backend, ContextFactory, ContextUnitOfWork, repository
from domain.shared.checks import text_argument
from domain.tenancy.filters import TenantFilter
from domain.tenancy.tenant import Tenant
from ports.clock import Clock
from ports.records import RecordSchema
from ports.tenancy import TENANT_SCHEMA, TenancyUnitOfWork, TenantRepository


class Tenants(Crud[Tenant, TenantFilter], TenantRepository):
    def get_by_slug(self, slug: str) -> Tenant | None:
        return self._first(equal("slug", text_argument(slug, "slug")))


class TenancyWork(ContextUnitOfWork, TenancyUnitOfWork):
    schemas: ClassVar[tuple[RecordSchema[Any], ...]] = (TENANT_SCHEMA,)

    tenants = repository(Tenants, TENANT_SCHEMA)


def tenancy_units(backend: Backend[Any, Any], *, clock: Clock | None = None) -> ContextFactory[TenancyUnitOfWork]:
    return ContextFactory(backend, "tenancy", TenancyWork.schemas, lambda scope: TenancyWork(backend, scope, clock))
