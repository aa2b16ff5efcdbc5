"""The generic CRUD repository on SQLAlchemy Core, shared by every SQL repository.

Rows map to aggregates by column name; aggregates are rebuilt with `model_construct` because rows
are trusted (they were validated on the way in), which keeps reads cheap.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from functools import cache
from typing import Any, Generic, TypeVar, cast

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from adapters.sql.bulk import insert_ignoring_conflicts
from adapters.sql.errors import translated
from domain.shared.entity import Entity
from domain.shared.errors import ConcurrencyConflict, Conflict, NotFound, ValidationError
from domain.shared.filters import Condition, FilterSet, Operator
from domain.shared.ids import parse_id
from domain.shared.pagination import CursorPage, CursorPageRequest, OffsetPageRequest, Page
from domain.shared.scope import TenantScope
from domain.shared.sorting import Sort
from ports.records import ListingPlan, RecordSchema, check_in_scope, next_cursor, plan_listing

E = TypeVar("E", bound=Entity)
F = TypeVar("F", bound=FilterSet)


def dialect_insert(connection: sa.Connection, table: sa.Table) -> Any:
    """INSERT with the dialect's ON CONFLICT support."""
    if connection.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def compile_condition(column: sa.ColumnElement[Any], condition: Condition) -> sa.ColumnElement[bool]:
    value = condition.value
    clause: sa.ColumnElement[bool]
    match condition.operator:
        case Operator.EQ:
            clause = column == value
        case Operator.NE:
            clause = column != value
        case Operator.IN:
            clause = column.in_(list(value))
        case Operator.LT:
            clause = column < value
        case Operator.LTE:
            clause = column <= value
        case Operator.GT:
            clause = column > value
        case Operator.GTE:
            clause = column >= value
        case Operator.CONTAINS:
            clause = column.ilike(f"%{_escape_like(str(value))}%", escape="\\")
        case Operator.IS_NULL:
            clause = column.is_(None) if value else column.is_not(None)
        case _:
            raise ValidationError(condition.field, f"unsupported operator {condition.operator}")
    return clause


def keyset_after(table: sa.Table, plan: ListingPlan) -> sa.ColumnElement[bool]:
    """Rows strictly after the cursor: (a > x) OR (a = x AND b > y) OR ..., per direction."""
    assert plan.after is not None
    # Anchors are typed literals: a bare True/False would turn `column > True` into an error.
    anchors = [
        sa.literal(value, table.c[item.field].type) for item, value in zip(plan.sort.fields, plan.after, strict=True)
    ]
    branches: list[sa.ColumnElement[bool]] = []
    for index, item in enumerate(plan.sort.fields):
        column = table.c[item.field]
        step = column < anchors[index] if item.descending else column > anchors[index]
        equal_prefix = [table.c[f.field] == anchors[i] for i, f in enumerate(plan.sort.fields[:index])]
        branches.append(sa.and_(*equal_prefix, step))
    return sa.or_(*branches)


@cache
def _by_id_statement(table: sa.Table, scope_field: str | None) -> sa.Select[Any]:
    """Built once per table: building and hashing a new statement per call cost more than the
    round trip on a local server."""
    statement = sa.select(table).where(table.c.id == sa.bindparam("id"))
    if scope_field is not None:
        statement = statement.where(table.c[scope_field] == sa.bindparam("scope"))
    return statement


@cache
def _has_unique_key(table: sa.Table) -> bool:
    """A unique constraint or index besides the primary key."""
    return any(index.unique for index in table.indexes) or any(
        isinstance(constraint, sa.UniqueConstraint) for constraint in table.constraints
    )


@cache
def _update_statement(table: sa.Table, scope_field: str | None) -> sa.Update:
    """`UPDATE ... SET <every column> WHERE id = :_id AND version = :_version [AND scope]`, built once."""
    statement = (
        sa.update(table)
        .where(table.c.id == sa.bindparam("_id"), table.c.version == sa.bindparam("_version"))
        .values({column.name: sa.bindparam(column.name) for column in table.columns if column.name != "id"})
        .returning(table.c.id)
    )
    if scope_field is not None:
        statement = statement.where(table.c[scope_field] == sa.bindparam("_scope"))
    return statement


class SqlCrud(Generic[E, F]):
    """Implements `CrudRepository` on one connection; concrete repositories mix it in."""

    def __init__(
        self, schema: RecordSchema[E], table: sa.Table, connection: sa.Connection,
        scope: TenantScope,
    ) -> None:
        self._schema = schema
        self._table = table
        self._connection = connection
        self._scope = scope
        self._columns = [column.name for column in table.columns]
        # Partial unique indexes count too: a violation would abort the PostgreSQL transaction.
        self._update_may_clash = bool(schema.unique_keys) or _has_unique_key(table)

    @property
    def entity_name(self) -> str:
        return self._schema.entity

    # -- mapping ------------------------------------------------------------------------------
    def _to_row(self, entity: E) -> dict[str, Any]:
        values = entity.__dict__
        return {name: values[name] for name in self._columns}

    def _from_row(self, row: sa.Row[Any]) -> E:
        return cast(E, self._schema.model.model_construct(**dict(zip(self._columns, row, strict=True))))

    def _scoped(self, statement: Any) -> Any:
        """Every statement carries the tenant filter: it drives the indexes and it is the only
        wall on SQLite (PostgreSQL's row-level security is the second one)."""
        restriction = self._schema.scope_filter(self._scope)
        if restriction is None:
            return statement
        return statement.where(self._table.c[restriction[0]] == restriction[1])

    def _select(self) -> sa.Select[Any]:
        return self._scoped(sa.select(self._table))  # type: ignore[no-any-return]

    def _checked(self, entity: E) -> E:
        if not isinstance(entity, self._schema.model):
            raise ValidationError("entity", f"expected a {self._schema.entity}")
        check_in_scope(self._schema, self._scope, entity)
        return entity

    def _conflict_detail(self, entity: E) -> str:
        """Name the unique key a refused insert collided with (read only on the error path)."""
        for name, attrs in self._schema.unique_keys.items():
            clauses = [self._table.c[attr] == getattr(entity, attr) for attr in attrs]
            taken = self._connection.execute(sa.select(sa.literal(1)).where(*clauses)).first()
            if taken is not None:
                shown = getattr(entity, attrs[0]) if len(attrs) == 1 else attrs
                return f"{name} {shown!r} is already taken"
        return f"id {entity.id} or a unique key is already taken"

    # -- CrudRepository -----------------------------------------------------------------------
    def create(self, entity: E) -> E:
        self._checked(entity)
        with translated(self._schema.entity):
            # ON CONFLICT DO NOTHING: a taken key returns no row instead of aborting the
            # transaction, so the unit of work stays usable after a Conflict.
            statement = (
                dialect_insert(self._connection, self._table)
                .values(self._to_row(entity))
                .on_conflict_do_nothing()
                .returning(self._table.c.id)
            )
            if self._connection.execute(statement).first() is None:
                raise Conflict(self._schema.entity, self._conflict_detail(entity))
        return entity

    def bulk_create(self, entities: Sequence[E]) -> list[E]:
        rows = [self._to_row(self._checked(entity)) for entity in entities]
        if not rows:
            return []
        with translated(self._schema.entity), self._connection.begin_nested() as savepoint:
            inserted = insert_ignoring_conflicts(self._connection, self._table, rows)
            if inserted != len(rows):
                savepoint.rollback()
                raise Conflict(self._schema.entity, "a row's id or unique key is already taken; nothing was written")
        return list(entities)

    def get_by_id(self, entity_id: uuid.UUID) -> E | None:
        key = parse_id(entity_id)
        restriction = self._schema.scope_filter(self._scope)
        field, scope = restriction if restriction is not None else (None, None)
        statement = _by_id_statement(self._table, field)
        with translated(self._schema.entity):
            row = self._connection.execute(statement, {"id": key, "scope": scope}).first()
        return None if row is None else self._from_row(row)

    def update(self, entity: E) -> E:
        return self._update(entity, guarded=self._update_may_clash)

    def _update(self, entity: E, *, guarded: bool) -> E:
        """`guarded`: in a savepoint, for updates that may violate a unique key or index."""
        self._checked(entity)
        values = self._to_row(entity)
        values["version"] = entity.version + 1
        restriction = self._schema.scope_filter(self._scope)
        statement = _update_statement(self._table, None if restriction is None else restriction[0])
        parameters = {**values, "_id": entity.id, "_version": entity.version,
                      "_scope": None if restriction is None else restriction[1]}
        with translated(self._schema.entity):
            if guarded:
                # A savepoint keeps a unique-key violation from aborting the whole transaction; a
                # table without unique keys besides its id cannot raise one, so it saves two round trips.
                with self._connection.begin_nested():
                    changed = self._connection.execute(statement, parameters).first()
            else:
                changed = self._connection.execute(statement, parameters).first()
        if changed is None:
            self._raise_missing_or_stale(entity.id, entity.version)
        return entity.model_copy(update={"version": entity.version + 1})

    def delete(self, entity_id: uuid.UUID, expected_version: int | None = None) -> None:
        key = parse_id(entity_id)
        statement = sa.delete(self._table).where(self._table.c.id == key)
        if expected_version is not None:
            statement = statement.where(self._table.c.version == expected_version)
        with translated(self._schema.entity):
            deleted = self._connection.execute(self._scoped(statement).returning(self._table.c.id)).first()
        if deleted is None:
            self._raise_missing_or_stale(key, expected_version)

    def _raise_missing_or_stale(self, key: uuid.UUID, version: int | None) -> None:
        if version is not None and self.exists(key):
            raise ConcurrencyConflict(self._schema.entity, key, version)
        raise NotFound(self._schema.entity, key)

    def exists(self, entity_id: uuid.UUID) -> bool:
        key = parse_id(entity_id)
        statement = self._scoped(sa.select(sa.literal(1)).select_from(self._table).where(self._table.c.id == key))
        with translated(self._schema.entity):
            return self._connection.execute(statement).first() is not None

    def _where(self, plan: ListingPlan) -> list[sa.ColumnElement[bool]]:
        return [compile_condition(self._table.c[c.field], c) for c in plan.conditions]

    def count(self, filters: F | None = None) -> int:
        plan = plan_listing(self._schema, filters, None, OffsetPageRequest())
        statement = self._scoped(sa.select(sa.func.count()).select_from(self._table)).where(*self._where(plan))
        with translated(self._schema.entity):
            return int(self._connection.execute(statement).scalar_one())

    def _ordered(self, plan: ListingPlan) -> sa.Select[Any]:
        order = [
            self._table.c[item.field].desc() if item.descending else self._table.c[item.field].asc()
            for item in plan.sort.fields
        ]
        return self._select().where(*self._where(plan)).order_by(*order)

    def list_and_count(
        self, filters: F | None = None, sort: Sort | None = None,
        page: OffsetPageRequest | None = None,
    ) -> Page[E]:
        plan = plan_listing(self._schema, filters, sort, page or OffsetPageRequest())
        statement = self._ordered(plan).limit(plan.limit).offset(plan.offset)
        total_statement = self._scoped(sa.select(sa.func.count()).select_from(self._table)).where(*self._where(plan))
        with translated(self._schema.entity):
            items = [self._from_row(row) for row in self._connection.execute(statement)]
            total = int(self._connection.execute(total_statement).scalar_one())
        return Page(items, total, plan.limit, plan.offset)

    def list_by_cursor(
        self, filters: F | None = None, sort: Sort | None = None,
        page: CursorPageRequest | None = None,
    ) -> CursorPage[E]:
        plan = plan_listing(self._schema, filters, sort, page or CursorPageRequest())
        statement = self._ordered(plan)
        if plan.after is not None:
            statement = statement.where(keyset_after(self._table, plan))
        with translated(self._schema.entity):
            rows = [self._from_row(row) for row in self._connection.execute(statement.limit(plan.limit + 1))]
        return CursorPage(rows[: plan.limit], next_cursor(plan, rows))
