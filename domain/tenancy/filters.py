"""Typed filters for listing tenants. Each field is checked, and coerced, when the filter is built
(`FilterSet.__post_init__`): `is_active="yes"` or `created_from="2020-01-01"` raise `ValidationError`
naming the field, and datetimes are normalised to UTC."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from domain.shared.filters import Condition, FilterSet, Operator


@dataclass(frozen=True, slots=True)
class TenantFilter(FilterSet):
    is_active: bool | None = None
    name_contains: str | None = None
    slugs: tuple[str, ...] | None = None
    created_from: datetime | None = None
    created_before: datetime | None = None

    def conditions(self) -> tuple[Condition, ...]:
        found: list[Condition] = []
        if self.is_active is not None:
            found.append(Condition("is_active", Operator.EQ, self.is_active))
        if self.name_contains:
            found.append(Condition("name", Operator.CONTAINS, self.name_contains))
        if self.slugs is not None:
            found.append(Condition("slug", Operator.IN, tuple(self.slugs)))
        if self.created_from is not None:
            found.append(Condition("created_at", Operator.GTE, self.created_from))
        if self.created_before is not None:
            found.append(Condition("created_at", Operator.LT, self.created_before))
        return tuple(found)
