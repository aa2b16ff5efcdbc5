"""Multi-row inserts that are all or nothing and nearly as fast as the driver.

On PostgreSQL the rows go through psycopg2's `execute_values` on the unit of work's own connection:
one `INSERT ... VALUES (...), (...) ON CONFLICT DO NOTHING` per batch of rows already rendered by the
driver. SQLAlchemy's generic insertmanyvalues path spends about as long in Python per row as the
server spends storing it (see docs/benchmarks.md). On SQLite the statement runs through SQLAlchemy,
where it is an in-process call anyway.

The caller wraps the call in a savepoint; a count below the number of rows means a key was taken.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from functools import cache, lru_cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy import exc

BATCH_SIZE = 1000

_Converter = Callable[[Any], Any]


def _identity(value: Any) -> Any:
    return value


def _uuid_text(value: Any) -> Any:
    # Sent as an untyped literal, PostgreSQL takes it as the column's type: no adapter to register.
    return None if value is None else str(value)


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
    # reads it as the column's array type (UUID[], TEXT[]), where psycopg2's own list adaptation
    # would send ARRAY['...'], a TEXT[] that a UUID[] column refuses.
    return None if value is None else "{" + ",".join(_array_element(item) for item in value) + "}"


@cache
def _converters(table: sa.Table) -> tuple[tuple[str, _Converter], ...]:
    found: list[tuple[str, _Converter]] = []
    for column in table.columns:
        # The type PostgreSQL sees (a variant such as JSONB for JSON resolves here).
        column_type = column.type.dialect_impl(_postgres_dialect())
        if isinstance(column_type, sa.ARRAY):
            found.append((column.name, _array_text))
        elif isinstance(column_type, sa.Uuid):
            found.append((column.name, _uuid_text))
        elif isinstance(column_type, sa.JSON):
            found.append((column.name, _json_text))
        else:
            # Text, numbers, booleans and aware datetimes are adapted by the driver as they are.
            found.append((column.name, _identity))
    return tuple(found)


@lru_cache(maxsize=1)
def _postgres_dialect() -> sa.Dialect:
    from sqlalchemy.dialects import postgresql

    return postgresql.dialect()  # type: ignore[no-untyped-call]


def insert_ignoring_conflicts(connection: sa.Connection, table: sa.Table, rows: Sequence[dict[str, Any]]) -> int:
    """Insert `rows`, skipping any whose unique keys are taken; return how many were inserted."""
    if connection.dialect.name == "postgresql":
        return _postgres_insert(connection, table, rows)[0]
    from sqlalchemy.dialects import sqlite

    statement = sqlite.insert(table).on_conflict_do_nothing().returning(table.c.id)
    return len(connection.execute(statement, list(rows)).all())


def _postgres_insert(
    connection: sa.Connection, table: sa.Table, rows: Sequence[dict[str, Any]], returning: str | None = None
) -> tuple[int, list[Any]]:
    """`(rows inserted, values of the column `returning` of those rows)`: one statement per batch."""
    import psycopg2
    from psycopg2.extras import execute_values

    converters = _converters(table)
    names = ", ".join(f'"{name}"' for name, _ in converters)
    sql = f'INSERT INTO "{table.name}" ({names}) VALUES %s ON CONFLICT DO NOTHING'
    if returning is not None:
        sql += f' RETURNING "{table.c[returning].name}"'
    inserted = 0
    found: list[Any] = []
    driver = connection.connection.driver_connection
    assert driver is not None
    with driver.cursor() as cursor:
        for start in range(0, len(rows), BATCH_SIZE):
            batch = rows[start: start + BATCH_SIZE]
            values = [tuple(convert(row[name]) for name, convert in converters) for row in batch]
            try:
                # page_size keeps the batch one statement; fetch gathers what RETURNING sends back.
                returned = execute_values(cursor, sql, values, page_size=len(values), fetch=returning is not None)
            except psycopg2.Error as error:
                # Wrapped as SQLAlchemy would, so the adapter's one translation applies.
                raise exc.DBAPIError.instance(sql, None, error, psycopg2.Error) from error
            inserted += cursor.rowcount
            if returning is not None:
                found.extend(row[0] for row in returned)
    return inserted, found


def insert_returning(
    connection: sa.Connection, table: sa.Table, rows: Sequence[dict[str, Any]], returning: str
) -> list[Any]:
    """Insert `rows`, skipping any whose id or unique keys are taken, and return column `returning`
    of the rows inserted (as the driver returns it: text for UUIDs on PostgreSQL). One statement per
    batch; the caller knows which rows were skipped from what comes back."""
    if connection.dialect.name == "postgresql":
        return _postgres_insert(connection, table, rows, returning)[1]
    from sqlalchemy.dialects import sqlite

    statement = sqlite.insert(table).on_conflict_do_nothing().returning(table.c[returning])
    return list(connection.execute(statement, list(rows)).scalars())
