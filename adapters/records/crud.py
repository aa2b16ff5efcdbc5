"""Spec 004's generic CRUD repository, written once over a record store for every backend.

A repository is an object handed its store: `Crud(store)` checks every argument before any I/O
(the same way on memory, SQLite, PostgreSQL and BigQuery) and asks the store for the rest. Each
context's repositories extend it with their port's methods (`adapters/rules/`).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any, Generic, NoReturn, TypeVar, cast

from pydantic import BaseModel

from adapters.clock import SystemClock
from adapters.records.references import ReferenceCheck
from adapters.records.store import Query, RecordStore
from domain.shared.checks import optional_version
from domain.shared.entity import Entity
from domain.shared.errors import NotFound, TenantScopeRequired, Unsupported, ValidationError
from domain.shared.filters import Condition, FilterSet
from domain.shared.ids import parse_id
from domain.shared.pagination import CursorPage, CursorPageRequest, OffsetPageRequest, Page
from domain.shared.sorting import Sort
from ports.clock import Clock
from ports.records import check_in_scope, next_cursor, plan_listing

E = TypeVar("E", bound=Entity)
F = TypeVar("F", bound=FilterSet)


class Crud(Generic[E, F]):
    """Implements `ports.repository.CrudRepository` over `store`; `references` checks the rows a
    record names before it is written (tables whose schema declares references)."""

    def __init__(self, store: RecordStore[E], clock: Clock | None = None,
                 references: ReferenceCheck | None = None) -> None:
        self._store = store
        self._schema = store.schema
        self._clock = clock if clock is not None else SystemClock()
        self._references = references

    @property
    def entity_name(self) -> str:
        return self._schema.entity

    @property
    def store(self) -> RecordStore[E]:
        return self._store

    # -- checks -------------------------------------------------------------------------------
    def _checked(self, entity: E) -> E:
        """The entity, if it is of this repository's type and in the unit of work's scope."""
        if not isinstance(entity, self._schema.model):
            raise ValidationError("entity", f"expected a {self._schema.entity}, got {type(entity).__name__}")
        check_in_scope(self._schema, self._store.scope, entity)
        return entity

    def _all_checked(self, entities: Sequence[E]) -> list[E]:
        """`_checked` for a batch, the scope worked out once: it runs per row of every bulk write."""
        if isinstance(entities, str | bytes) or not isinstance(entities, Sequence):
            raise ValidationError("entities", f"expected a list, got {type(entities).__name__}")
        model = self._schema.model
        restriction = self._schema.scope_filter(self._store.scope)
        for entity in entities:
            if not isinstance(entity, model):
                raise ValidationError("entity", f"expected a {self._schema.entity}, got {type(entity).__name__}")
            if restriction is not None and getattr(entity, restriction[0]) != restriction[1]:
                check_in_scope(self._schema, self._store.scope, entity)  # raises, with the message
        return list(entities)

    # -- reads the rules are written with -----------------------------------------------------
    def _find(self, query: Query) -> list[E]:
        return self._store.find(query)

    def _first(self, *conditions: Condition) -> E | None:
        found = self._store.find(Query(conditions, limit=1))
        return found[0] if found else None

    # -- CrudRepository -----------------------------------------------------------------------
    def _from_data(self, data: Mapping[str, Any]) -> E:
        """Spec 001's `create(data: dict)`: validated as the aggregate's fields would be."""
        fields = {str(name): value for name, value in data.items()}
        if "created_at" not in fields:
            fields["created_at"] = self._clock.now()
        fields.setdefault("updated_at", fields["created_at"])
        return self._schema.model.new(**fields)

    def _referenced(self, rows: Sequence[E]) -> None:
        if self._references is not None:
            self._references.check(rows)

    def create(self, entity: E | Mapping[str, Any]) -> E:
        checked = self._checked(self._from_data(entity) if isinstance(entity, Mapping) else entity)
        self._referenced([checked])
        self._store.insert([checked])
        return checked

    def bulk_create(self, entities: Sequence[E]) -> list[E]:
        rows = self._all_checked(entities)
        if rows:
            self._referenced(rows)
            self._store.insert(rows)
        return rows

    def get_by_id(self, entity_id: uuid.UUID, tenant_id: uuid.UUID | None = None) -> E | None:
        key = parse_id(entity_id)
        self._same_tenant(tenant_id)
        return self._store.get(key)

    def _same_tenant(self, tenant_id: object) -> None:
        """A tenant named by the caller (spec 001 passes one) must be the unit of work's."""
        if tenant_id is None:
            return
        named = parse_id(tenant_id, "tenant_id")
        if self._store.scope.tenant != named:
            raise TenantScopeRequired(f"{self.entity_name}: tenant {named} is not this unit of work's "
                                      f"({self._store.scope}); open a unit of work for that tenant")

    def get_by_id_or_raise(self, entity_id: uuid.UUID) -> E:
        found = self.get_by_id(entity_id)
        if found is None:
            raise NotFound(self.entity_name, entity_id)
        return found

    def update(self, entity: E | uuid.UUID, updates: Mapping[str, Any] | None = None) -> E:
        checked = self._checked(self._updated(entity, updates))
        self._referenced([checked])
        return self._store.update(checked)

    def _updated(self, entity: Any, updates: Any) -> E:
        """`entity` itself (`update(entity)`), or, for spec 004's `update(entity_id, updates)`, the
        stored record with the updates applied and validated (`evolve`) and `updated_at` now."""
        if updates is None:
            return cast(E, entity)
        if isinstance(updates, BaseModel):
            changes = updates.model_dump(exclude_unset=True)
        elif isinstance(updates, Mapping):
            changes = {str(name): value for name, value in updates.items()}
        else:
            raise ValidationError("updates", f"expected a mapping of field names to values, got "
                                             f"{type(updates).__name__}")
        identity = {"id", "created_at", "version", "updated_at", self._schema.scope_field}
        named = sorted(set(changes) & identity)
        if named:
            raise ValidationError(named[0], f"a {self.entity_name}'s {named[0]} cannot be updated")
        unknown = sorted(set(changes) - set(self._schema.model.model_fields))
        if unknown:
            raise ValidationError(unknown[0], f"is not a field of {self.entity_name}")
        current = self.get_by_id_or_raise(entity)
        return current.evolve(**changes, updated_at=max(self._clock.now(), current.updated_at))

    def delete(self, entity_id: uuid.UUID, expected_version: int | None = None) -> None:
        self._store.delete(parse_id(entity_id), optional_version(expected_version))

    def save(self, aggregate: E) -> E:
        checked = self._checked(aggregate)
        if self._store.exists(checked.id):
            return self.update(checked)
        return self.create(checked)

    def load(self, entity_id: uuid.UUID) -> E | None:
        return self.get_by_id(entity_id)

    def exists(self, entity_id: uuid.UUID) -> bool:
        return self._store.exists(parse_id(entity_id))

    def count(self, filters: F | None = None) -> int:
        plan = plan_listing(self._schema, filters, None, OffsetPageRequest())
        return self._store.count(plan.conditions)

    def list_and_count(
        self, filters: F | None = None, sort: Sort | None = None, page: OffsetPageRequest | None = None,
    ) -> Page[E]:
        plan = plan_listing(self._schema, filters, sort, OffsetPageRequest() if page is None else page)
        items = self._store.find(Query(plan.conditions, plan.sort, limit=plan.limit, offset=plan.offset))
        return Page(items, self._store.count(plan.conditions), plan.limit, plan.offset)

    def list_by_cursor(
        self, filters: F | None = None, sort: Sort | None = None, page: CursorPageRequest | None = None,
    ) -> CursorPage[E]:
        plan = plan_listing(self._schema, filters, sort, CursorPageRequest() if page is None else page)
        # One row more than the page says whether another page exists.
        rows = self._store.find(Query(plan.conditions, plan.sort, limit=plan.limit + 1, after=plan.after))
        return CursorPage(rows[: plan.limit], next_cursor(plan, rows))


class AppendOnlyCrud(Crud[E, F]):
    """Events, decisions, audit logs: never changed or removed (PostgreSQL's triggers refuse it to
    raw SQL as well)."""

    def update(self, entity: Any, updates: Mapping[str, Any] | None = None) -> NoReturn:
        raise Unsupported(f"{self.entity_name} records are append-only: they cannot be updated")

    def delete(self, entity_id: uuid.UUID, expected_version: int | None = None) -> NoReturn:
        raise Unsupported(f"{self.entity_name} records are append-only: they cannot be deleted")
