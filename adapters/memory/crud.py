"""The generic CRUD repository on the in-memory store."""

from __future__ import annotations

import copy
import uuid
from collections.abc import Sequence
from typing import Generic, TypeVar

from adapters.memory import querying
from adapters.memory.store import MemoryTransaction, TableRules
from domain.shared.entity import Entity
from domain.shared.errors import ConcurrencyConflict, NotFound, UnitOfWorkInactive
from domain.shared.filters import FilterSet
from domain.shared.ids import parse_id
from domain.shared.pagination import CursorPage, CursorPageRequest, OffsetPageRequest, Page
from domain.shared.scope import TenantScope
from domain.shared.sorting import Sort
from ports.records import RecordSchema, check_in_scope, next_cursor, plan_listing

E = TypeVar("E", bound=Entity)
F = TypeVar("F", bound=FilterSet)


def table_rules(schema: RecordSchema[E]) -> TableRules:
    return TableRules(schema.entity, schema.unique_keys)


class MemoryCrud(Generic[E, F]):
    """Implements `CrudRepository` on a memory transaction; concrete repositories mix it in."""

    def __init__(
        self, schema: RecordSchema[E], table: str, transaction: MemoryTransaction,
        scope: TenantScope,
    ) -> None:
        self._schema = schema
        self._table = table
        self._tx = transaction
        self._scope = scope

    @property
    def entity_name(self) -> str:
        return self._schema.entity

    # -- helpers ------------------------------------------------------------------------------
    def _live(self) -> MemoryTransaction:
        if self._tx.closed:
            raise UnitOfWorkInactive("use repositories inside `with uow:`")
        return self._tx

    def _visible(self, row: Entity | None) -> E | None:
        # The scope is checked before the row: a tenant-scoped repository used from system scope
        # raises even for a missing id, as the SQL adapter does.
        restriction = self._schema.scope_filter(self._scope)
        if row is None:
            return None
        if restriction is not None and getattr(row, restriction[0]) != restriction[1]:
            return None
        return copy.deepcopy(row)  # type: ignore[return-value]

    def _rows(self) -> list[E]:
        restriction = self._schema.scope_filter(self._scope)
        rows: list[E] = list(self._live().scan(self._table))  # type: ignore[arg-type]
        if restriction is None:
            return rows
        field, tenant = restriction
        return [row for row in rows if getattr(row, field) == tenant]

    def _checked(self, entity: E) -> E:
        if not isinstance(entity, self._schema.model):
            from domain.shared.errors import ValidationError

            raise ValidationError("entity", f"expected a {self._schema.entity}")
        check_in_scope(self._schema, self._scope, entity)
        return entity

    # -- CrudRepository -----------------------------------------------------------------------
    def create(self, entity: E) -> E:
        self.bulk_create([entity])
        return entity

    def bulk_create(self, entities: Sequence[E]) -> list[E]:
        rows = [self._checked(entity) for entity in entities]
        self._live().insert(self._table, list(rows))
        return list(rows)

    def get_by_id(self, entity_id: uuid.UUID) -> E | None:
        key = parse_id(entity_id)
        return self._visible(self._live().get(self._table, key))

    def update(self, entity: E) -> E:
        self._checked(entity)
        current = self.get_by_id(entity.id)
        if current is None:
            raise NotFound(self._schema.entity, entity.id)
        if current.version != entity.version:
            raise ConcurrencyConflict(self._schema.entity, entity.id, entity.version)
        stored = entity.model_copy(update={"version": entity.version + 1})
        self._live().put(self._table, stored)
        return stored

    def delete(self, entity_id: uuid.UUID, expected_version: int | None = None) -> None:
        current = self.get_by_id(entity_id)
        if current is None:
            raise NotFound(self._schema.entity, entity_id)
        if expected_version is not None and current.version != expected_version:
            raise ConcurrencyConflict(self._schema.entity, entity_id, expected_version)
        self._live().delete(self._table, current.id)

    def exists(self, entity_id: uuid.UUID) -> bool:
        return self.get_by_id(entity_id) is not None

    def count(self, filters: F | None = None) -> int:
        plan = plan_listing(self._schema, filters, None, OffsetPageRequest())
        return len(querying.select(self._rows(), plan.conditions))

    def list_and_count(
        self, filters: F | None = None, sort: Sort | None = None,
        page: OffsetPageRequest | None = None,
    ) -> Page[E]:
        plan = plan_listing(self._schema, filters, sort, page or OffsetPageRequest())
        rows = querying.order(querying.select(self._rows(), plan.conditions), plan.sort)
        items = [copy.deepcopy(r) for r in rows[plan.offset: plan.offset + plan.limit]]
        return Page(items, len(rows), plan.limit, plan.offset)

    def list_by_cursor(
        self, filters: F | None = None, sort: Sort | None = None,
        page: CursorPageRequest | None = None,
    ) -> CursorPage[E]:
        plan = plan_listing(self._schema, filters, sort, page or CursorPageRequest())
        rows = querying.order(querying.select(self._rows(), plan.conditions), plan.sort)
        if plan.after is not None:
            rows = [row for row in rows if querying.after(row, plan.sort, plan.after)]
        window = rows[: plan.limit + 1]
        items = [copy.deepcopy(r) for r in window[: plan.limit]]
        return CursorPage(items, next_cursor(plan, window))
