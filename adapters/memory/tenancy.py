"""Tenants in memory."""

from __future__ import annotations

from adapters.memory.crud import MemoryCrud
from adapters.memory.store import MemoryTransaction
from domain.shared.scope import TenantScope
from domain.tenancy.filters import TenantFilter
from domain.tenancy.tenant import Tenant
from ports.tenancy import TENANT_SCHEMA, TenantRepository

TABLE = "tenants"


class MemoryTenantRepository(MemoryCrud[Tenant, TenantFilter], TenantRepository):
    def __init__(self, transaction: MemoryTransaction, scope: TenantScope) -> None:
        super().__init__(TENANT_SCHEMA, TABLE, transaction, scope)

    def get_by_slug(self, slug: str) -> Tenant | None:
        found = [row for row in self._rows() if row.slug == slug]
        return self._visible(found[0]) if found else None
