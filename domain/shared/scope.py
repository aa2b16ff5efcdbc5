"""Which tenant a unit of work acts for. Fail closed: no tenant means system scope, which reaches
global data only."""

from __future__ import annotations

from dataclasses import dataclass

from domain.shared.errors import TenantScopeRequired
from domain.shared.ids import TenantId, tenant_id


@dataclass(frozen=True, slots=True)
class TenantScope:
    tenant: TenantId | None

    @classmethod
    def system(cls) -> TenantScope:
        return cls(None)

    @classmethod
    def of(cls, tenant: object) -> TenantScope:
        return cls(tenant_id(tenant))

    @property
    def is_system(self) -> bool:
        return self.tenant is None

    def require_tenant(self, what: str) -> TenantId:
        if self.tenant is None:
            raise TenantScopeRequired(f"{what} is tenant-scoped: open the unit of work for a tenant")
        return self.tenant

    def __str__(self) -> str:
        return "system" if self.tenant is None else f"tenant {self.tenant}"
