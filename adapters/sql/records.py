"""The record store on SQLAlchemy Core, one implementation for SQLite and PostgreSQL.

Rows map to aggregates by column name; aggregates are rebuilt without validation because rows
are trusted (they were validated on the way in), which keeps reads cheap. Statements that every
call repeats are built once per table and cached: building and hashing a new statement per call
cost more than the round trip on a local server. The read by id, the hottest path, is compiled once
and run on the connection's DBAPI cursor where no one could tell the difference (`_direct`).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import cache, lru_cache
from operator import itemgetter
from typing import Any, TypeVar, cast

import sqlalchemy as sa
from sqlalchemy import exc
from sqlalchemy.dialects import postgresql, sqlite

from adapters.records.store import Query, RecordStore, next_version
from adapters.sql.bulk import insert_all, insert_ignoring_conflicts, insert_returning
from adapters.sql.bulk_update import update_all
from adapters.sql.copy import COPY_THRESHOLD, copy_insert
from adapters.sql.direct_cursor import DirectCursor
from adapters.sql.driver import CompiledRead, direct, on_blocking_driver
from adapters.sql.errors import sqlstate, translated
from adapters.sql.ordering import keyset_after, order_by_clauses
from adapters.transactions import Guard
from domain.shared.entity import Entity
from domain.shared.errors import ConcurrencyConflict, Conflict, NotFound, ValidationError
from domain.shared.filters import Condition, Operator
from domain.shared.scope import TenantScope
from ports.records import RecordSchema

E = TypeVar("E", bound=Entity)


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


@cache
def _by_id_statement(table: sa.Table, scope_field: str | None) -> sa.Select[Any]:
    statement = sa.select(table).where(table.c.id == sa.bindparam("id"))
    if scope_field is not None:
        statement = statement.where(table.c[scope_field] == sa.bindparam("scope"))
    return statement


@lru_cache(maxsize=512)
def _by_id_read(table: sa.Table, scope_field: str | None, dialect: sa.Dialect) -> CompiledRead:
    """`_by_id_statement` with its columns unqualified (one table: the same query), which PostgreSQL
    parses measurably faster on a path this hot."""
    column = {c.name: sa.column(c.name, c.type) for c in table.columns}
    statement = sa.select(*column.values()).select_from(sa.table(table.name, schema=table.schema))
    statement = statement.where(column["id"] == sa.bindparam("id"))
    if scope_field is not None:
        statement = statement.where(column[scope_field] == sa.bindparam("scope"))
    return CompiledRead(statement, table, dialect)


@cache
def _builder(model: type[Entity], table: sa.Table) -> Callable[[Sequence[Any]], Entity]:
    """Rows (values in column order) into `model`s exactly as `model.model_construct(**dict(zip(
    columns, row)))` builds them (the same `__dict__` in field order, every field set, no extra or
    private state), without its per-field walk over aliases and defaults. Models for which that walk
    does more than copy (aliases, post-init hooks, extra fields) take it."""
    columns = tuple(column.name for column in table.columns)
    fields = model.__pydantic_fields__
    if (set(fields) != set(columns) or len(columns) < 2 or model.__pydantic_post_init__ or model.__private_attributes__
            or model.__pydantic_root_model__ or model.model_config.get("extra") == "allow"
            or any(info.alias is not None or info.validation_alias is not None for info in fields.values())):
        return lambda row: model.model_construct(**dict(zip(columns, row, strict=True)))
    names = tuple(fields)
    values = itemgetter(*(columns.index(name) for name in names))
    every = set(names)
    assign = object.__setattr__

    def build(row: Sequence[Any]) -> Entity:
        entity = model.__new__(model)
        assign(entity, "__dict__", dict(zip(names, values(row), strict=True)))
        assign(entity, "__pydantic_fields_set__", every.copy())
        assign(entity, "__pydantic_extra__", None)
        assign(entity, "__pydantic_private__", None)
        return entity

    return build


_KEY_TAKEN = {"23505", "23P01"}
"""unique_violation and exclusion_violation: what `ON CONFLICT DO NOTHING` would have skipped."""


@cache
def _insert_one_statement(table: sa.Table, dialect: str) -> Any:
    """`INSERT ... ON CONFLICT DO NOTHING RETURNING id`: a taken key returns no row instead of
    aborting the transaction, so the unit of work stays usable after a Conflict. With no conflict
    target it covers every unique index, partial ones included."""
    insert = postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)
    return insert.on_conflict_do_nothing().returning(table.c.id)


@cache
@cache
def _column_names(table: sa.Table) -> tuple[str, ...]:
    return tuple(column.name for column in table.columns)


@cache
def _has_unique_key(table: sa.Table) -> bool:
    """A unique constraint or index besides the primary key."""
    return any(index.unique for index in table.indexes) or any(
        isinstance(constraint, sa.UniqueConstraint) for constraint in table.constraints
    )


@cache
def _update_statement(table: sa.Table, scope_field: str | None) -> sa.Update:
    """`UPDATE ... SET <every column> WHERE id = :_id AND version = :_version [AND scope]`."""
    statement = (
        sa.update(table)
        .where(table.c.id == sa.bindparam("_id"), table.c.version == sa.bindparam("_version"))
        .values({column.name: sa.bindparam(column.name) for column in table.columns if column.name != "id"})
        .returning(table.c.id)
    )
    if scope_field is not None:
        statement = statement.where(table.c[scope_field] == sa.bindparam("_scope"))
    return statement


class SqlRecordStore(RecordStore[E]):
    # The read by id on the DBAPI cursor, set up by its first call: the compiled statement with its
    # parameters (the scope is the store's), and the cursor of the direct statements.
    _by_id: tuple[CompiledRead, dict[str, Any]] | None = None
    _direct: DirectCursor | None = None

    def __init__(self, schema: RecordSchema[E], table: sa.Table, connection: sa.Connection, scope: TenantScope,
                 guard: Guard, *, copy_threshold: int = COPY_THRESHOLD) -> None:
        self.schema = schema
        self.scope = scope
        self.table = table
        self._connection = connection
        self._guard = guard
        self._columns = _column_names(table)  # a store is made per unit of work: worked out once
        self._copy_threshold = copy_threshold
        # Partial unique indexes count too: a violation would abort the PostgreSQL transaction.
        self._update_may_clash = bool(schema.unique_keys) or _has_unique_key(table)

    @property
    def connection(self) -> sa.Connection:
        """The transaction's connection, for a backend's own one-statement queries; checked live."""
        self._guard.check()
        return self._connection

    # -- mapping ------------------------------------------------------------------------------
    def to_row(self, entity: E) -> dict[str, Any]:
        values = entity.__dict__
        return {name: values[name] for name in self._columns}

    def from_row(self, row: Sequence[Any]) -> E:
        return cast(E, _builder(self.schema.model, self.table)(row))

    def scoped(self, statement: Any) -> Any:
        """Every statement carries the tenant filter: it drives the indexes and it is the only wall
        on SQLite (PostgreSQL's row-level security is the second one)."""
        restriction = self.schema.scope_filter(self.scope)
        if restriction is None:
            return statement
        return statement.where(self.table.c[restriction[0]] == restriction[1])

    def _rows(self, statement: Any) -> list[E]:
        with translated(self.schema.entity):
            return [self.from_row(row) for row in self.connection.execute(statement)]

    def _where(self, conditions: Sequence[Condition]) -> list[sa.ColumnElement[bool]]:
        return [compile_condition(self.table.c[c.field], c) for c in conditions]

    # -- reads --------------------------------------------------------------------------------
    def get(self, key: uuid.UUID) -> E | None:
        self._guard.check()
        connection = self._connection
        if direct(connection):
            return self._get_direct(connection, key)
        restriction = self.schema.scope_filter(self.scope)
        field, scope = restriction if restriction is not None else (None, None)
        with translated(self.schema.entity):
            row = connection.execute(_by_id_statement(self.table, field), {"id": key, "scope": scope}).first()
        return None if row is None else self.from_row(row)

    def _get_direct(self, connection: sa.Connection, key: uuid.UUID) -> E | None:
        if self._by_id is None:
            restriction = self.schema.scope_filter(self.scope)
            field = None if restriction is None else restriction[0]
            self._by_id = _by_id_read(self.table, field, connection.dialect), (
                {} if restriction is None else {"scope": restriction[1]})
        read, scope = self._by_id
        found = self.rows_direct(read, {"id": key, **scope})
        return found[0] if found else None

    def rows_direct(self, read: CompiledRead, parameters: dict[str, Any]) -> list[E]:
        """`read` (every column of this store's table, compiled for its dialect) run on the
        transaction's DBAPI cursor, for a caller that checked `direct(store.connection)`."""
        rows, description = self.direct_cursor.fetch(read.sql, read.parameters(parameters))
        return [self.from_row(read.values(row, description)) for row in rows]

    @property
    def direct_cursor(self) -> DirectCursor:
        """The cursor of the store's direct statements (`driver.direct`), made on first use."""
        if self._direct is None:
            self._direct = DirectCursor(self._connection, self.schema.entity)
        return self._direct

    def find(self, query: Query) -> list[E]:
        statement = self.scoped(sa.select(self.table)).where(*self._where(query.conditions))
        if query.any_of:
            statement = statement.where(sa.or_(*self._where(query.any_of)))
        if query.after is not None:
            statement = statement.where(keyset_after(self.table, query.sort, query.after))
        statement = statement.order_by(*order_by_clauses(self.table, query.sort))
        if query.limit is not None:
            statement = statement.limit(query.limit)
        if query.offset:
            statement = statement.offset(query.offset)
        return self._rows(statement)

    def count(self, conditions: Sequence[Condition] = ()) -> int:
        statement = self.scoped(sa.select(sa.func.count()).select_from(self.table)).where(*self._where(conditions))
        with translated(self.schema.entity):
            return int(self.connection.execute(statement).scalar_one())

    def count_by(self, field: str) -> dict[Any, int]:
        column = self.table.c[field]
        statement = self.scoped(sa.select(column, sa.func.count()).select_from(self.table).group_by(column))
        with translated(self.schema.entity):
            return {value: int(count) for value, count in self.connection.execute(statement)}

    def exists(self, key: uuid.UUID) -> bool:
        statement = self.scoped(sa.select(sa.literal(1)).select_from(self.table).where(self.table.c.id == key))
        with translated(self.schema.entity):
            return self.connection.execute(statement).first() is not None

    # -- writes -------------------------------------------------------------------------------
    def insert(self, rows: Sequence[E]) -> None:
        connection = self.connection
        if len(rows) == 1:
            with translated(self.schema.entity):
                statement = _insert_one_statement(self.table, connection.dialect.name)
                inserted = connection.execute(statement, self.to_row(rows[0])).first() is not None
            if not inserted:
                raise Conflict(self.schema.entity, self._conflict_detail(rows))
            return
        values = [row.__dict__ for row in rows]  # the insert reads the columns; no copy per row
        with translated(self.schema.entity):
            try:
                # All or nothing: the savepoint undoes the batches written before a taken key.
                with connection.begin_nested() as savepoint:
                    if connection.dialect.name == "postgresql":
                        # A taken key raises, on either path.
                        if self._copies(values):
                            copy_insert(connection, self.table, values, on_conflict=False)
                        else:
                            insert_all(connection, self.table, values)
                        complete = True
                    else:
                        complete = insert_ignoring_conflicts(connection, self.table, values) == len(values)
                        if not complete:
                            savepoint.rollback()
            except exc.IntegrityError as error:
                if sqlstate(error.orig) not in _KEY_TAKEN:
                    raise
                complete = False
            if not complete:
                raise Conflict(self.schema.entity, self._conflict_detail(rows) + "; nothing was written")

    def insert_new(self, rows: Sequence[E]) -> list[E]:
        connection = self.connection
        with translated(self.schema.entity):
            if len(rows) == 1:
                statement = _insert_one_statement(self.table, connection.dialect.name)
                return list(rows) if connection.execute(statement, self.to_row(rows[0])).first() else []
            values = [row.__dict__ for row in rows]
            if self._copies(values):
                inserted = set(copy_insert(connection, self.table, values, "id", as_text=True)[1])
            else:
                inserted = set(insert_returning(connection, self.table, values, "id", as_text=True))
        return [row for row in rows if str(row.id) in inserted]

    def _copies(self, rows: Sequence[Any]) -> bool:
        """Whether a multi-row insert goes through COPY: PostgreSQL, from the threshold's row count."""
        return len(rows) >= self._copy_threshold and self._connection.dialect.name == "postgresql"

    def _conflict_detail(self, rows: Sequence[E]) -> str:
        """Name the key a refused insert collided with (read only on the error path): inside the
        batch first, then against the stored rows."""
        seen: set[tuple[str, tuple[Any, ...]]] = set()
        for row in rows:
            for name, values in (("id", (row.id,)), *self._keys_of(row)):
                if (name, values) in seen:
                    return self.schema.taken(name, row)
                seen.add((name, values))
        for row in rows:
            if self._taken("id", (self.table.c.id,), (row.id,), None):
                return self.schema.taken("id", row)
            for name, key in self.schema.unique_keys.items():
                if key.binds(row):
                    columns = tuple(self.table.c[field] for field in key.fields)
                    if self._taken(name, columns, key.value_of(row), key.only):
                        return self.schema.taken(name, row)
        # Row-level security hides other tenants' rows even from this lookup: a key without the scope
        # column (or the id) may be held by one of them. Name those candidates rather than none.
        scope = self.schema.scope_field
        hidden = ["id", *(name for name, key in self.schema.unique_keys.items() if scope not in key.fields)]
        return f"{' or '.join(hidden)} is already taken (by a row of another tenant)"

    def _keys_of(self, row: E) -> list[tuple[str, tuple[Any, ...]]]:
        return [(name, key.value_of(row)) for name, key in self.schema.unique_keys.items() if key.binds(row)]

    def _taken(self, name: str, columns: tuple[sa.ColumnElement[Any], ...], values: tuple[Any, ...],
               only: tuple[str, tuple[str, ...]] | None) -> bool:
        clauses = [column == value for column, value in zip(columns, values, strict=True)]
        if only is not None:
            clauses.append(self.table.c[only[0]].in_(list(only[1])))
        # Unscoped on purpose: a unique key may be held by a row this scope cannot see (an id).
        statement = sa.select(sa.literal(1)).select_from(self.table).where(*clauses)
        return self._connection.execute(statement).first() is not None

    def update(self, entity: E, *, keys_unchanged: bool = False) -> E:
        connection = self.connection
        values = self.to_row(entity)
        values["version"] = entity.version + 1
        restriction = self.schema.scope_filter(self.scope)
        statement = _update_statement(self.table, None if restriction is None else restriction[0])
        parameters = {**values, "_id": entity.id, "_version": entity.version,
                      "_scope": None if restriction is None else restriction[1]}
        with translated(self.schema.entity):
            if self._update_may_clash and not keys_unchanged:
                # A savepoint keeps a unique-key violation from aborting the whole transaction; a
                # table without unique keys besides its id cannot raise one, so it saves two round trips.
                with connection.begin_nested():
                    changed = connection.execute(statement, parameters).first()
            else:
                changed = connection.execute(statement, parameters).first()
        if changed is None:
            self._raise_missing_or_stale(entity.id, entity.version)
        return next_version(entity)

    def update_many(self, entities: Sequence[E], *, keys_unchanged: bool = False) -> list[E]:
        connection = self.connection
        if len(entities) < 2 or not keys_unchanged or not on_blocking_driver(connection):  # update_all
            return super().update_many(entities, keys_unchanged=keys_unchanged)
        stored = [next_version(entity) for entity in entities]  # refused past the version's range first
        restriction = self.schema.scope_filter(self.scope)
        rows = [(self.to_row(entity), entity.version) for entity in entities]
        with translated(self.schema.entity), connection.begin_nested() as savepoint:
            updated = update_all(connection, self.table, rows, restriction)
            stale = next((entity for entity in entities if str(entity.id) not in updated), None)
            if stale is not None:
                savepoint.rollback()
        if stale is not None:
            self._raise_missing_or_stale(stale.id, stale.version)
        return stored

    def update_current(self, entities: Sequence[E], *, keys_unchanged: bool = False,
                       fields: frozenset[str] | None = None) -> list[E]:
        connection = self.connection
        if not entities or not keys_unchanged or not on_blocking_driver(connection):
            return super().update_current(entities, keys_unchanged=keys_unchanged, fields=fields)
        # One statement, no savepoint: a stale row is left out, not an error, so nothing is undone.
        stored = [next_version(entity) for entity in entities]
        # An entity's fields are its table's columns: its own mapping is the row (no copy per row).
        rows = [(entity.__dict__, entity.version) for entity in entities]
        with translated(self.schema.entity):
            updated = update_all(connection, self.table, rows, self.schema.scope_filter(self.scope), fields)
        return [entity for entity in stored if str(entity.id) in updated]

    def delete(self, key: uuid.UUID, expected_version: int | None) -> None:
        statement = sa.delete(self.table).where(self.table.c.id == key)
        if expected_version is not None:
            statement = statement.where(self.table.c.version == expected_version)
        with translated(self.schema.entity):
            deleted = self.connection.execute(self.scoped(statement).returning(self.table.c.id)).first()
        if deleted is None:
            self._raise_missing_or_stale(key, expected_version)

    def delete_current(self, entities: Sequence[E]) -> list[E]:
        if not entities:
            return []
        table = self.table
        pairs = sa.tuple_(table.c.id, table.c.version).in_([(entity.id, entity.version) for entity in entities])
        statement = self.scoped(sa.delete(table).where(pairs)).returning(table.c.id)
        with translated(self.schema.entity):
            deleted = set(self.connection.execute(statement).scalars())
        return [entity for entity in entities if entity.id in deleted]

    def _raise_missing_or_stale(self, key: uuid.UUID, version: int | None) -> None:
        if version is not None and self.exists(key):
            raise ConcurrencyConflict(self.schema.entity, key, version)
        raise NotFound(self.schema.entity, key)

    @contextmanager
    def atomically(self) -> Iterator[None]:
        with translated(self.schema.entity), self.connection.begin_nested():
            yield
