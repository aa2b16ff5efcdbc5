"""How an aggregate is stored and queried, described once and shared by every adapter.

The schema carries the allow-lists (which fields may be filtered and sorted), the unique keys and
the tenant scoping rule; `plan_listing` turns a caller's filter, sort and page into a checked
`ListingPlan` that each adapter executes in its own way.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Generic, TypeVar

from domain.shared.entity import Entity, nullable_fields
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
class UniqueKey:
    """Attributes no two records of a table may share. `only` makes the key partial: it binds only
    the records whose attribute `only[0]` holds one of the values `only[1]` (a partial unique index
    in SQL), so each key, partial or not, is declared once here and every backend derives its own."""

    fields: tuple[str, ...]
    only: tuple[str, tuple[str, ...]] | None = None

    def binds(self, row: Entity) -> bool:
        if self.only is None:
            return True
        value = getattr(row, self.only[0])
        return (value.value if isinstance(value, Enum) else value) in self.only[1]

    def value_of(self, row: Entity) -> tuple[Any, ...]:
        return tuple(getattr(row, name) for name in self.fields)

    def predicate_sql(self) -> str:
        """The partial key's predicate as SQL text (`status IN ('a', 'b')`), for the partial unique
        index's DDL. The values come from code, never from a caller."""
        if self.only is None:
            raise TypeError(f"the key on {self.fields} is not partial")
        column, values = self.only
        return "{} IN ({})".format(column, ", ".join(f"'{value}'" for value in values))


@dataclass(frozen=True, slots=True)
class Reference:
    """A foreign key: the record's `field` names a row of `target` in the same tenant, and the
    record goes when that row goes (ON DELETE CASCADE). Declared once here; SQL derives the
    constraint `(scope, field) -> target(scope, id)` (`field -> target(id)` when the target is the
    tenant itself) and the memory adapter enforces the same reference and cascade."""

    field: str
    target: RecordSchema[Any]

    def local_fields(self, schema: RecordSchema[Any]) -> tuple[str, ...]:
        """The record's columns of the key, in the order of `target_fields`."""
        if self.target.scope_field in (None, "id") or schema.scope_field is None:
            return (self.field,)
        return (schema.scope_field, self.field)

    def target_fields(self) -> tuple[str, ...]:
        if self.target.scope_field in (None, "id"):
            return ("id",)
        return (self.target.scope_field, "id")


@dataclass(frozen=True, slots=True)
class RecordSchema(Generic[E]):
    entity: str
    """The aggregate's name as errors show it."""
    model: type[E]
    table: str
    """The storage name every backend uses: SQL table, memory table, BigQuery table."""
    fields: Mapping[str, FieldKind]
    """The allow-list of fields that may be filtered and sorted on."""
    scope_field: str | None = "tenant_id"
    """The attribute compared to the unit of work's tenant; None for global data (vendors), which
    every scope reads and writes alike."""
    visible_to_system: bool = False
    """Global data (tenants themselves) is listed in full from system scope; tenant data never is."""
    unique_keys: Mapping[str, UniqueKey] = field(default_factory=dict)
    """Named unique keys (partial ones included); the name is what a `Conflict` reports."""
    default_sort: tuple[SortField, ...] = (SortField("created_at"),)
    references: tuple[Reference, ...] = ()
    """The rows this table's records belong to (foreign keys with cascading deletes)."""

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

    def taken(self, key_name: str, row: Entity) -> str:
        """The detail of a `Conflict` on the unique key `key_name` (`id`: the primary key) of `row`."""
        values = (row.id,) if key_name == "id" else self.unique_keys[key_name].value_of(row)
        return taken_detail(key_name, values)


def taken_detail(key_name: str, values: tuple[Any, ...]) -> str:
    """What every backend says of a taken key: `slug 'acme' is already taken`, `id ... is already taken`."""
    if key_name == "id":
        return f"id {values[0]} is already taken"
    shown = values[0] if len(values) == 1 else values
    return f"{key_name} {shown!r} is already taken"


@dataclass(frozen=True, slots=True)
class ListingPlan:
    conditions: tuple[Condition, ...]
    sort: Sort
    kinds: tuple[FieldKind, ...]
    limit: int
    offset: int = 0
    after: tuple[Any, ...] | None = None
    """Sort-key values of the last row already seen (keyset pagination); None for a NULL key, which
    sorts lowest (first ascending, last descending) on every backend."""

    def cursor_after(self, entity: Entity) -> str:
        values = [getattr(entity, item.field) for item in self.sort.fields]
        return encode_cursor(self.sort, self.kinds, values)


def plan_listing(
    schema: RecordSchema[Any],
    filters: FilterSet | None,
    sort: Sort | None,
    page: OffsetPageRequest | CursorPageRequest,
) -> ListingPlan:
    """Validate a listing request against the schema before any query runs: a filter, sort or page of
    the wrong type, unknown fields, condition values of the wrong kind and malformed cursors raise
    `ValidationError` naming `filters`, `sort`, `page`, the field or `cursor`. A cursor may carry NULL
    only for a field the model declares nullable, so that a forged one cannot ask a NOT NULL column's
    keyset about NULLs."""
    from domain.shared.errors import ValidationError

    if not isinstance(page, OffsetPageRequest | CursorPageRequest):
        raise ValidationError("page", "expected an OffsetPageRequest or a CursorPageRequest")
    if filters is not None and not isinstance(filters, FilterSet):
        raise ValidationError("filters", f"expected a filter such as TenantFilter, got {type(filters).__name__}")
    if sort is not None and not isinstance(sort, Sort):
        raise ValidationError("sort", f"expected a Sort (Sort.parse('-created_at')), got {type(sort).__name__}")
    conditions = tuple(c.checked(schema.fields) for c in (filters.conditions() if filters else ()))
    checked_sort = (sort or Sort()).checked(schema.fields, schema.default_sort)
    kinds = tuple(schema.fields[item.field] for item in checked_sort.fields)
    if isinstance(page, OffsetPageRequest):
        return ListingPlan(conditions, checked_sort, kinds, page.limit, offset=page.offset)
    after = None
    if page.after is not None:
        nullable = nullable_fields(schema.model)
        after = tuple(decode_cursor(page.after, checked_sort, kinds,
                                    [item.field in nullable for item in checked_sort.fields]))
    return ListingPlan(conditions, checked_sort, kinds, page.limit, after=after)


def next_cursor(plan: ListingPlan, rows: Sequence[Entity]) -> str | None:
    """Adapters fetch `limit + 1` rows: the extra one only says whether another page exists. The
    cursor is always accepted back by `plan_listing`, NULL sort keys included."""
    if len(rows) <= plan.limit:
        return None
    return plan.cursor_after(rows[plan.limit - 1])


def check_in_scope(schema: RecordSchema[Any], scope: TenantScope, entity: Entity) -> None:
    """Refuse to write a record of another tenant: fail closed, before anything is written."""
    from domain.shared.errors import TenantScopeRequired

    restriction = schema.scope_filter(scope)
    if restriction is not None and getattr(entity, restriction[0]) != restriction[1]:
        raise TenantScopeRequired(f"{schema.entity} {entity.id} is outside {scope}")
