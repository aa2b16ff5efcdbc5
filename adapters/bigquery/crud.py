"""The generic versioned CRUD repository on a BigQuery unit of work (`ports.repository.CrudRepository`).

Records are tenant-scoped by `organization_id`: every statement is confined to the unit of work's
tenant, and another tenant's id behaves as a missing one. `update` checks the version the caller
read; `delete` buffers a tombstone version. Listings follow `ports.records.plan_listing`: the same
filters, sort allow-list, offset pages with a total, and keyset cursors as every other backend.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from domain.shared.entity import Entity
from domain.shared.errors import ValidationError
from domain.shared.filters import FilterSet
from domain.shared.ids import parse_id
from domain.shared.pagination import CursorPage, CursorPageRequest, OffsetPageRequest, Page
from domain.shared.sorting import Sort
from ports.records import check_in_scope, next_cursor, plan_listing

if TYPE_CHECKING:
    from adapters.bigquery.schema import TableDefinition
    from adapters.bigquery.unit_of_work import BigQueryTransaction
    from adapters.reliability import Query

E = TypeVar("E", bound=Entity)
F = TypeVar("F", bound=FilterSet)


class BigQueryCrud(Generic[E, F]):
    """Implements `CrudRepository` on a BigQuery transaction; concrete repositories mix it in."""

    def __init__(self, definition: TableDefinition[E], transaction: BigQueryTransaction) -> None:
        self._definition = definition
        self._schema = definition.record
        self._tx = transaction

    @property
    def entity_name(self) -> str:
        return self._schema.entity

    # -- helpers ------------------------------------------------------------------------------
    def _live(self) -> BigQueryTransaction:
        return self._tx.live()

    def _checked(self, entity: E) -> E:
        if not isinstance(entity, self._schema.model):
            raise ValidationError("entity", f"expected a {self._schema.entity}")
        check_in_scope(self._schema, self._tx.scope, entity)
        return entity

    # -- CrudRepository -----------------------------------------------------------------------
    def create(self, entity: E) -> E:
        self.bulk_create([entity])
        return entity

    def bulk_create(self, entities: Sequence[E]) -> list[E]:
        rows = [self._checked(entity) for entity in entities]
        self._live().insert(self._definition, rows)
        return list(rows)

    def get_by_id(self, entity_id: uuid.UUID) -> E | None:
        key = parse_id(entity_id)
        return self._live().get(self._definition, key)

    def update(self, entity: E) -> E:
        self._checked(entity)
        return self._live().update(self._definition, entity)

    def delete(self, entity_id: uuid.UUID, expected_version: int | None = None) -> None:
        self._live().delete(self._definition, parse_id(entity_id), expected_version)

    def exists(self, entity_id: uuid.UUID) -> bool:
        return self.get_by_id(entity_id) is not None

    def count(self, filters: F | None = None) -> int:
        plan = plan_listing(self._schema, filters, None, OffsetPageRequest())
        return self._live().count(self._definition, plan.conditions)

    def list_and_count(
        self, filters: F | None = None, sort: Sort | None = None, page: OffsetPageRequest | None = None,
    ) -> Page[E]:
        plan = plan_listing(self._schema, filters, sort, page or OffsetPageRequest())
        transaction = self._live()
        items = transaction.select(self._definition, plan.conditions, plan.sort, limit=plan.limit, offset=plan.offset)
        total = transaction.count(self._definition, plan.conditions)
        return Page(items, total, plan.limit, plan.offset)

    def list_by_cursor(
        self, filters: F | None = None, sort: Sort | None = None, page: CursorPageRequest | None = None,
    ) -> CursorPage[E]:
        plan = plan_listing(self._schema, filters, sort, page or CursorPageRequest())
        rows = self._live().select(self._definition, plan.conditions, plan.sort, limit=plan.limit + 1,
                                   after=plan.after)
        return CursorPage(rows[: plan.limit], next_cursor(plan, rows))


class BigQueryRecords(BigQueryCrud[E, F]):
    """`BigQueryCrud` with the primitives the shared rules (`adapters.reliability.Records`) are
    written over."""

    def _find(self, query: Query) -> list[E]:
        return self._live().select(self._definition, query.conditions, query.sort, limit=query.limit)

    def _count_by(self, field: str) -> dict[Any, int]:
        return self._live().count_by(self._definition, field)

    @contextmanager
    def _atomically(self) -> Iterator[None]:
        transaction = self._live()
        savepoint = transaction.savepoint()
        try:
            yield
        except BaseException:
            transaction.rollback_to(savepoint)
            raise
