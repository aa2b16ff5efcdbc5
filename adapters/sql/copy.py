"""Multi-row inserts through `COPY` on PostgreSQL, with row-level security checking every row.

`COPY ... FROM STDIN` into a table with row-level security is refused, so the rows are copied into a
temporary staging table of the target's shape and moved with one statement the policy checks row by
row:

    CREATE TEMP TABLE IF NOT EXISTS portside_staging_<t> (LIKE <t> INCLUDING DEFAULTS)
        ON COMMIT DELETE ROWS; TRUNCATE portside_staging_<t>
    COPY portside_staging_<t> (<columns>) FROM STDIN
    INSERT INTO <t> (<columns>) SELECT <columns> FROM portside_staging_<t>
        [ON CONFLICT DO NOTHING] [RETURNING <column>]

The staging table belongs to the session: it is made by the first bulk insert on a connection and
reused by the next ones (making it per transaction costs a catalog insert and drop each time, which
measured slower below a few thousand rows, see docs/sql.md), emptied before each use (an earlier
insert of the same transaction may have left rows) and at every commit, so that no tenant's rows
outlive their transaction on a pooled connection. Created inside a transaction or savepoint that is
rolled back, it is gone again, which `IF NOT EXISTS` notices on the next use. Being temporary it
needs the database's TEMPORARY privilege, which PostgreSQL grants to PUBLIC by default.

The rows go in COPY's text format, encoded per column type as PostgreSQL's input functions read
them and escaped as COPY requires (backslash, tab, newline, carriage return; NUL never reaches here:
the domain's validation refuses it); NULL is `\\N`, so an empty string stays an empty string. They
are encoded while the driver streams them, a chunk at a time. Same contract as `adapters/sql/bulk.py`:
the caller holds a savepoint, a plain insert raises a unique violation for a taken key, and a driver
error is raised as SQLAlchemy raises it, so that the adapter's one translation applies.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import sqlalchemy as sa

from adapters.sql.bulk import Row, _array_text, _layout, _postgres_dialect, _postgres_insert
from adapters.sql.driver import copy_from, driver_error, on_blocking_driver

COPY_THRESHOLD = 100
"""Rows from which a bulk insert goes through COPY rather than a multi-row VALUES. Below it the two
extra round trips (preparing the staging table, then moving its rows) cost more than COPY saves:
measured break-even at about 100 rows for the narrow `tenants`, about 50 for the wide
`processor_executions` (docs/sql.md)."""

ROWS_PER_CHUNK = 500
"""Rows encoded per piece handed to the driver: the whole batch is never held as text at once."""

_NULL = "\\N"

_Encoder = Callable[[Any], str]


def _escaped(text: str) -> str:
    """`text` as a COPY text-format field: the four characters COPY reads specially, escaped."""
    if "\\" in text or "\t" in text or "\n" in text or "\r" in text:
        return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    return text


def _text(value: Any) -> str:
    # str() of a StrEnum member is its value, as the column stores it.
    return _NULL if value is None else _escaped(str(value))


def _json(value: Any) -> str:
    if value is None:
        return _NULL
    # json.dumps writes control characters inside strings as escapes (\n, \t, \u000d), so the only
    # character COPY reads specially that its output can hold is the backslash.
    document = json.dumps(value)
    return document.replace("\\", "\\\\") if "\\" in document else document


def _array(value: Any) -> str:
    # The array literal (every element quoted and backslash-escaped), then escaped again for COPY.
    return _NULL if value is None else _escaped(_array_text(value))


def _uuid(value: Any) -> str:
    if value is None:
        return _NULL
    # The 32 hex digits, which PostgreSQL reads as the same UUID, cost a third of `str(uuid)`.
    return value.hex if value.__class__ is uuid.UUID else _escaped(str(value))


def _boolean(value: Any) -> str:
    return _NULL if value is None else ("t" if value else "f")


def _number(value: Any) -> str:
    # str of a float is its shortest exact decimal (inf and nan as PostgreSQL reads them), of an int
    # or a Decimal every digit.
    return _NULL if value is None else str(value)


def _timestamp(value: Any) -> str:
    # An aware datetime's ISO form carries its offset; TIMESTAMPTZ input reads it as that instant.
    return _NULL if value is None else value.isoformat()


def _encoder(column_type: sa.types.TypeEngine[Any]) -> _Encoder:
    """How a value of this PostgreSQL column type is written as a COPY field."""
    if isinstance(column_type, sa.TypeDecorator):
        # Portside's decorators (UtcDateTime, StrEnumText) store their impl's type; their values are
        # already what the impl takes, as on the `execute_values` path.
        return _encoder(column_type.impl_instance.dialect_impl(_postgres_dialect()))
    if isinstance(column_type, sa.ARRAY):
        return _array
    if isinstance(column_type, sa.Uuid):
        return _uuid
    if isinstance(column_type, sa.JSON):
        return _json
    if isinstance(column_type, sa.Boolean):
        return _boolean
    if isinstance(column_type, sa.Integer | sa.Float | sa.Numeric):
        return _number
    if isinstance(column_type, sa.DateTime):
        return _timestamp
    return _text


@dataclass(frozen=True, slots=True)
class _Plan:
    """The statements of one table's COPY path and how its rows become COPY text."""

    prepare: str
    copy: str
    insert: str
    values: Callable[[Row], tuple[Any, ...]]
    encoders: tuple[_Encoder, ...]

    def lines(self, rows: Sequence[Row]) -> str:
        values, encoders = self.values, self.encoders
        return "".join(
            "\t".join([encode(value) for encode, value in zip(encoders, values(row), strict=True)]) + "\n"
            for row in rows
        )


@cache
def _plan(table: sa.Table) -> _Plan:
    layout = _layout(table)
    dialect = _postgres_dialect()
    staging = f'"portside_staging_{table.name}"'
    columns = ", ".join(f'"{name}"' for name in layout.names)
    encoders = tuple(_encoder(table.c[name].type.dialect_impl(dialect)) for name in layout.names)
    return _Plan(
        prepare=(f'CREATE TEMP TABLE IF NOT EXISTS {staging} (LIKE "{table.name}" INCLUDING DEFAULTS) '
                 f"ON COMMIT DELETE ROWS; TRUNCATE {staging}"),
        copy=f"COPY {staging} ({columns}) FROM STDIN",
        insert=f'INSERT INTO "{table.name}" ({columns}) SELECT {columns} FROM {staging}',
        values=layout.values,
        encoders=encoders,
    )


class _CopyText:
    """The rows as COPY text, for the driver to read a chunk at a time (`driver.copy_from`). An error while encoding
    is kept: the driver would only report the COPY as cancelled (a transient failure), so the
    caller raises the real one instead."""

    def __init__(self, plan: _Plan, rows: Sequence[Row]) -> None:
        self._chunks: Iterator[str] = (plan.lines(rows[start: start + ROWS_PER_CHUNK])
                                       for start in range(0, len(rows), ROWS_PER_CHUNK))
        self.failure: Exception | None = None

    def read(self, _size: int = -1) -> str:
        try:
            return next(self._chunks, "")
        except Exception as error:
            self.failure = error
            raise


def copy_insert(connection: sa.Connection, table: sa.Table, rows: Sequence[Row], returning: str | None = None, *,
                on_conflict: bool = True, as_text: bool = False) -> tuple[int, list[Any]]:
    """`(rows inserted, values of the column `returning` of those rows)`, as `bulk._postgres_insert`
    returns them: every row staged with one COPY, then moved with one `INSERT ... SELECT`. An async
    driver (the async face's) inserts in batches through SQLAlchemy instead (`_postgres_insert`)."""
    if not on_blocking_driver(connection):
        return _postgres_insert(connection, table, rows, returning, on_conflict=on_conflict, as_text=as_text)
    plan = _plan(table)
    sql = plan.insert + (" ON CONFLICT DO NOTHING" if on_conflict else "")
    if returning is not None:
        sql += f' RETURNING "{table.c[returning].name}"' + ("::text" if as_text else "")
    driver = connection.connection.driver_connection
    assert driver is not None
    source = _CopyText(plan, rows)
    with driver.cursor() as cursor:
        statement = plan.prepare
        try:
            cursor.execute(statement)
            statement = plan.copy
            copy_from(connection, cursor, statement, source)
            statement = sql
            cursor.execute(statement)
        except connection.dialect.loaded_dbapi.Error as error:
            if source.failure is not None:
                raise source.failure from error
            raise driver_error(connection, error, statement, cursor) from error
        found = [row[0] for row in cursor.fetchall()] if returning is not None else []
        return cursor.rowcount, found
