"""Multi-row inserts that are all or nothing and nearly as fast as the driver.

On PostgreSQL the rows go through `driver.execute_values` on the unit of work's own connection:
one `INSERT ... VALUES (...), (...) ON CONFLICT DO NOTHING` per batch of rows (rendered by psycopg2,
bound beside the statement by psycopg 3). SQLAlchemy's generic insertmanyvalues path spends about as
long in Python per row as the server spends storing it (see docs/benchmarks.md). On SQLite the
statement runs through SQLAlchemy, where it is an in-process call anyway. From about a hundred rows
COPY is faster still: the record store then takes `adapters/sql/copy.py`, which encodes the same rows.

A row is any mapping from column name to value (an aggregate's own `__dict__` will do: nothing is
copied per row). The caller wraps the call in a savepoint; a count below the number of rows, or for
`insert_all` a unique violation, means a key was taken. A driver error is raised as SQLAlchemy
raises it from `Connection.execute` (`adapters/sql/driver.py`), so the adapter's one translation
applies.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from operator import itemgetter
from typing import Any

import sqlalchemy as sa

from adapters.sql.driver import execute_values, on_blocking_driver, values_cursor

BATCH_SIZE = 1000

_Converter = Callable[[Any], Any]
Row = Mapping[str, Any]


def _uuid_text(value: Any) -> Any:
    # Sent as an untyped literal (psycopg 3 binds a str as `unknown` too), PostgreSQL takes it as the
    # column's type: no adapter to register.
    # The 32 hex digits (which PostgreSQL reads as the same UUID) cost a third of `str(uuid)`.
    if value is None:
        return None
    return value.hex if value.__class__ is uuid.UUID else str(value)


def _json_text(value: Any) -> Any:
    return None if value is None else json.dumps(value)


def _array_element(item: Any) -> str:
    if item is None:
        return "NULL"
    # Every element quoted, backslashes and quotes escaped: commas, braces, spaces and the word NULL
    # inside a text element stay text.
    return '"' + str(item).replace("\\", "\\\\").replace('"', '\\"') + '"'


def _array_text(value: Any) -> Any:
    # A one-dimensional array literal such as {"a","b"}, sent untyped like the UUIDs above: PostgreSQL
    # reads it as the column's array type (UUID[], TEXT[]), where the drivers' own list adaptation
    # would send a TEXT[] that a UUID[] column refuses.
    return None if value is None else "{" + ",".join(_array_element(item) for item in value) + "}"


@dataclass(frozen=True, slots=True)
class _Layout:
    """How a table's rows become driver tuples: the values of every column in column order, then the
    few that the driver cannot adapt as they are converted in place."""

    names: tuple[str, ...]
    values: Callable[[Row], tuple[Any, ...]]
    converted: tuple[tuple[int, _Converter], ...]

    def tuples(self, rows: Sequence[Row]) -> list[Any]:
        values, converted = self.values, self.converted
        if not converted:
            return [values(row) for row in rows]
        out: list[Any] = []
        for row in rows:
            items = list(values(row))
            for position, convert in converted:
                items[position] = convert(items[position])
            # A tuple of plain values is one the garbage collector stops tracking at its first pass,
            # where a list would be carried into the older generations while the batch is built.
            out.append(tuple(items))
        return out


def _converter(column_type: sa.types.TypeEngine[Any]) -> _Converter | None:
    if isinstance(column_type, sa.ARRAY):
        return _array_text
    if isinstance(column_type, sa.Uuid):
        return _uuid_text
    if isinstance(column_type, sa.JSON):
        return _json_text
    # Text, numbers, booleans and aware datetimes are adapted by the driver as they are.
    return None


@cache
def _layout(table: sa.Table, only: tuple[str, ...] | None = None) -> _Layout:
    """Every column of `table` in column order, or the columns `only` names, in that order."""
    columns = list(table.columns) if only is None else [table.c[name] for name in only]
    names = tuple(column.name for column in columns)
    converted: list[tuple[int, _Converter]] = []
    for position, column in enumerate(columns):
        # The type PostgreSQL sees (a variant such as JSONB for JSON resolves here).
        convert = _converter(column.type.dialect_impl(_postgres_dialect()))
        if convert is not None:
            converted.append((position, convert))
    # itemgetter of one name returns the value, not a 1-tuple (and of none is an error).
    values: Callable[[Row], tuple[Any, ...]] = (
        itemgetter(*names) if len(names) > 1 else (lambda row: (row[names[0]],)) if names else (lambda row: ())
    )
    return _Layout(names, values, tuple(converted))


@lru_cache(maxsize=1)
def _postgres_dialect() -> sa.Dialect:
    from sqlalchemy.dialects import postgresql

    return postgresql.dialect()  # type: ignore[no-untyped-call]


def insert_all(connection: sa.Connection, table: sa.Table, rows: Sequence[Row]) -> None:
    """PostgreSQL: insert every row with a plain `INSERT` (no `ON CONFLICT`, which costs the server a
    speculative insertion per row); a taken unique key raises `IntegrityError` (`unique_violation`),
    which aborts the transaction unless the caller holds a savepoint and rolls it back."""
    _postgres_insert(connection, table, rows, on_conflict=False)


def insert_ignoring_conflicts(connection: sa.Connection, table: sa.Table, rows: Sequence[Row]) -> int:
    """Insert `rows`, skipping any whose unique keys are taken; return how many were inserted."""
    if connection.dialect.name == "postgresql":
        return _postgres_insert(connection, table, rows)[0]
    from sqlalchemy.dialects import sqlite

    statement = sqlite.insert(table).on_conflict_do_nothing().returning(table.c.id)
    return len(connection.execute(statement, [_only_columns(table, row) for row in rows]).all())


def _only_columns(table: sa.Table, row: Row) -> dict[str, Any]:
    return {name: row[name] for name in _layout(table).names}


def _postgres_insert(
    connection: sa.Connection, table: sa.Table, rows: Sequence[Row], returning: str | None = None, *,
    on_conflict: bool = True, as_text: bool = False,
) -> tuple[int, list[Any]]:
    """`(rows inserted, values of the column `returning` of those rows)`: one statement per batch."""
    if not on_blocking_driver(connection):
        return _core_insert(connection, table, rows, returning, on_conflict=on_conflict, as_text=as_text)
    layout = _layout(table)
    names = ", ".join(f'"{name}"' for name in layout.names)
    sql = f'INSERT INTO "{table.name}" ({names}) VALUES %s' + (" ON CONFLICT DO NOTHING" if on_conflict else "")
    if returning is not None:
        sql += f' RETURNING "{table.c[returning].name}"' + ("::text" if as_text else "")
    inserted = 0
    found: list[Any] = []
    with values_cursor(connection) as cursor:
        for start in range(0, len(rows), BATCH_SIZE):
            values = layout.tuples(rows[start: start + BATCH_SIZE])
            returned = execute_values(connection, cursor, sql, values, fetch=returning is not None)
            inserted += cursor.rowcount
            if returning is not None:
                found.extend(row[0] for row in returned)
    return inserted, found


def _core_insert(
    connection: sa.Connection, table: sa.Table, rows: Sequence[Row], returning: str | None, *,
    on_conflict: bool, as_text: bool,
) -> tuple[int, list[Any]]:
    """`_postgres_insert` on a driver other than psycopg2: SQLAlchemy's multi-row insert (its
    "insertmanyvalues" batches keep it one statement per batch), RETURNING the id at least so that
    the rows inserted are counted whatever the driver reports as rowcount."""
    from sqlalchemy.dialects import postgresql

    statement = postgresql.insert(table)
    if on_conflict:
        statement = statement.on_conflict_do_nothing()
    column = table.c[returning if returning is not None else "id"]
    found = list(connection.execute(statement.returning(column), [_only_columns(table, row) for row in rows])
                 .scalars())
    if as_text:
        found = [str(value) for value in found]
    return len(found), found if returning is not None else []


def insert_returning(connection: sa.Connection, table: sa.Table, rows: Sequence[Row], returning: str, *,
                     as_text: bool = False) -> list[Any]:
    """Insert `rows`, skipping any whose id or unique keys are taken, and return column `returning`
    of the rows inserted (as the driver returns it, or with `as_text` as its text: a UUID as
    `str(uuid)`, which spares parsing one per row). One statement per batch; the caller knows which
    rows were skipped from what comes back."""
    if connection.dialect.name == "postgresql":
        return _postgres_insert(connection, table, rows, returning, as_text=as_text)[1]
    from sqlalchemy.dialects import sqlite

    statement = sqlite.insert(table).on_conflict_do_nothing().returning(table.c[returning])
    found = connection.execute(statement, [_only_columns(table, row) for row in rows]).scalars()
    return [str(value) for value in found] if as_text else list(found)
