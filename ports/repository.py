"""The generic CRUD repository of spec 004, tenant-bound through its unit of work."""

from __future__ import annotations

import uuid
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any, Generic, TypeVar

from domain.shared.entity import Entity
from domain.shared.filters import FilterSet
from domain.shared.pagination import CursorPage, CursorPageRequest, OffsetPageRequest, Page
from domain.shared.sorting import Sort

E = TypeVar("E", bound=Entity)
F = TypeVar("F", bound=FilterSet)


class CrudRepository(ABC, Generic[E, F]):
    """Create, read, update with a version check, delete, count and list one aggregate.

    Every method sees only the unit of work's tenant: another tenant's id is `NotFound`.
    Repositories never commit; the unit of work does.
    """

    @abstractmethod
    def create(self, entity: E | Mapping[str, Any]) -> E:
        """Insert a new aggregate. A taken unique key raises `Conflict` and writes nothing. Spec 001's
        `create(data: dict)` is accepted too: the dict is validated as the aggregate's fields, with
        `created_at` / `updated_at` from the clock when absent."""

    @abstractmethod
    def bulk_create(self, entities: Sequence[E]) -> list[E]:
        """Insert many in one statement per batch; all or nothing."""

    @abstractmethod
    def get_by_id(self, entity_id: uuid.UUID, tenant_id: uuid.UUID | None = None) -> E | None:
        """`tenant_id` (spec 001's signature) must be the unit of work's tenant, or
        `TenantScopeRequired` and nothing read: the unit of work, not the argument, is the scope."""

    def get_by_id_or_raise(self, entity_id: uuid.UUID) -> E:
        from domain.shared.errors import NotFound

        found = self.get_by_id(entity_id)
        if found is None:
            raise NotFound(self.entity_name, entity_id)
        return found

    @abstractmethod
    def update(self, entity: E | uuid.UUID, updates: Mapping[str, Any] | None = None) -> E:
        """Store `entity` if the stored version still equals `entity.version`; return it at the next
        version. A stale version raises `ConcurrencyConflict`, a missing row `NotFound`.

        Spec 004's form, `update(entity_id, updates)`: the stored record with `updates` (field names
        to values, or a pydantic model's set fields) applied and validated, `updated_at` now, stored
        the same way. The identity (`id`, the tenant, `created_at`, `version`) is not updatable:
        naming it, or a field the record does not have, is a `ValidationError` and writes nothing."""

    @abstractmethod
    def delete(self, entity_id: uuid.UUID, expected_version: int | None = None) -> None:
        """Delete; `NotFound` if absent, `ConcurrencyConflict` if `expected_version` is stale."""

    @abstractmethod
    def exists(self, entity_id: uuid.UUID) -> bool: ...

    @abstractmethod
    def count(self, filters: F | None = None) -> int: ...

    @abstractmethod
    def list_and_count(
        self,
        filters: F | None = None,
        sort: Sort | None = None,
        page: OffsetPageRequest | None = None,
    ) -> Page[E]:
        """One page by offset, with the total number of matching rows."""

    @abstractmethod
    def list_by_cursor(
        self,
        filters: F | None = None,
        sort: Sort | None = None,
        page: CursorPageRequest | None = None,
    ) -> CursorPage[E]:
        """One page by keyset: stable under concurrent inserts, cost independent of depth."""

    # -- spec 002's base Repository ----------------------------------------------------------
    @abstractmethod
    def save(self, aggregate: E) -> E:
        """Insert when new, else update with the version check; the aggregate as stored."""

    @abstractmethod
    def load(self, entity_id: uuid.UUID) -> E | None: ...

    @property
    @abstractmethod
    def entity_name(self) -> str: ...
