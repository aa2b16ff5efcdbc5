"""How an aggregate is stored and queried, described once and shared by every adapter.

The schema carries the allow-lists (which fields may be filtered and sorted), the unique keys and
the tenant scoping rule; `plan_listing` turns a caller's filter, sort and page into a checked
`ListingPlan` that each adapter executes in its own way.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from domain.shared.entity import Entity
from domain.shared.fields import FieldKind
from domain.shared.filters import Condition, FilterSet
from domain.shared.pagination import (
    CursorPageRequest,
    OffsetPageRequest,
    decode_cursor,
    encode_cursor,
)
from domain.shared.scope import TenantScope
from domain.shared.sorting import Sort, SortField

E = TypeVar("E", bound=Entity)


@dataclass(frozen=True, slots=True)
class RecordSchema(Generic[E]):
    entity: str
    """The aggregate's name as errors show it."""
    model: type[E]
    fields: Mapping[str, FieldKind]
    """The allow-list of fields that may be filtered and sorted on."""
    scope_field: str | None = "tenant_id"
    """The attribute compared to the unit of work's tenant; None for global data (vendors), which
    every scope reads and writes alike."""
    visible_to_system: bool = False
    """Global data (tenants themselves) is listed in full from system scope; tenant data never is."""
    unique_keys: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Named unique keys over attributes; the name is what a `Conflict` reports."""
    default_sort: tuple[SortField, ...] = (SortField("created_at"),)

    def scope_value(self, scope: TenantScope) -> Any | None:
        """The value every query of this scope is filtered by, or None for unrestricted access."""
        if self.scope_field is None or (scope.is_system and self.visible_to_system):
            return None
        return scope.require_tenant(self.entity)

    def scope_filter(self, scope: TenantScope) -> tuple[str, Any] | None:
        """`(attribute, tenant)` every query of this scope is filtered by, or None."""
        value = self.scope_value(scope)
        if value is None or self.scope_field is None:
            return None
        return self.scope_field, value


@dataclass(frozen=True, slots=True)
class ListingPlan:
    conditions: tuple[Condition, ...]
    sort: Sort
    kinds: tuple[FieldKind, ...]
    limit: int
    offset: int = 0
    after: tuple[Any, ...] | None = None
    """Sort-key values of the last row already seen (keyset pagination)."""

    def cursor_after(self, entity: Entity) -> str:
        values = [getattr(entity, item.field) for item in self.sort.fields]
        return encode_cursor(self.sort, self.kinds, values)


def plan_listing(
    schema: RecordSchema[Any],
    filters: FilterSet | None,
    sort: Sort | None,
    page: OffsetPageRequest | CursorPageRequest,
) -> ListingPlan:
    """Validate a listing request against the schema: unknown fields, bad pages and malformed
    cursors raise `ValidationError` before any query runs."""
    if not isinstance(page, OffsetPageRequest | CursorPageRequest):
        from domain.shared.errors import ValidationError

        raise ValidationError("page", "expected an OffsetPageRequest or a CursorPageRequest")
    conditions = tuple(c.checked(schema.fields) for c in (filters.conditions() if filters else ()))
    checked_sort = (sort or Sort()).checked(schema.fields, schema.default_sort)
    kinds = tuple(schema.fields[item.field] for item in checked_sort.fields)
    if isinstance(page, OffsetPageRequest):
        return ListingPlan(conditions, checked_sort, kinds, page.limit, offset=page.offset)
    after = None
    if page.after is not None:
        after = tuple(decode_cursor(page.after, checked_sort, kinds))
    return ListingPlan(conditions, checked_sort, kinds, page.limit, after=after)


def next_cursor(plan: ListingPlan, rows: Sequence[Entity]) -> str | None:
    """Adapters fetch `limit + 1` rows: the extra one only says whether another page exists."""
    if len(rows) <= plan.limit:
        return None
    return plan.cursor_after(rows[plan.limit - 1])


def check_in_scope(schema: RecordSchema[Any], scope: TenantScope, entity: Entity) -> None:
    """Refuse to write a record of another tenant: fail closed, before anything is written."""
    from domain.shared.errors import TenantScopeRequired

    restriction = schema.scope_filter(scope)
    if restriction is not None and getattr(entity, restriction[0]) != restriction[1]:
        raise TenantScopeRequired(f"{schema.entity} {entity.id} is outside {scope}")
