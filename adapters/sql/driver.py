"""Statements sent on the connection's DBAPI cursor, beside `Connection.execute`, on the paths where
SQLAlchemy's per-call work (statement cache lookup, execution context, result object) costs as much
as the round trip to a local server: the multi-row inserts (`adapters/sql/bulk.py`) and the read by
id. They keep SQLAlchemy's behaviour: the statement SQLAlchemy compiles, the values its types'
processors produce, and its errors (`driver_error`), which the adapter's one translation turns into
Portside errors. They are taken only where no one could tell the difference (`direct`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy import exc


def on_psycopg2(connection: sa.Connection) -> bool:
    """Whether the connection's DBAPI is psycopg2, whose cursor the hot paths here, the bulk writes
    (`bulk.py`, `bulk_update.py`, `copy.py`) and the deadline (`deadline.py`) are written for. Any other
    PostgreSQL driver (asyncpg or psycopg 3 under the async face) takes SQLAlchemy's own path."""
    return connection.dialect.name == "postgresql" and connection.dialect.driver == "psycopg2"


def direct(connection: sa.Connection) -> bool:
    """Whether a statement may go to the DBAPI cursor with nothing observable changing: PostgreSQL on
    psycopg2, no event listener or echo that would see it, no schema translation, and a live
    transaction (in any other state `Connection.execute` raises, so it is left to raise)."""
    nested = connection._nested_transaction
    return not (connection._has_events or connection.engine._has_events or connection._echo) and (
        on_psycopg2(connection) and connection._dbapi_connection is not None
        and connection.in_transaction() and (nested is None or nested.is_active)
        and "schema_translate_map" not in connection._execution_options
    )


def driver_error(connection: sa.Connection, error: Exception, statement: str, cursor: Any = None) -> exc.DBAPIError:
    """A driver error met on `connection`'s DBAPI connection, as `Connection.execute` raises it: wrapped
    in SQLAlchemy's class for it, and a lost connection invalidated (the pool then discards it and the
    error says so). The parameters stay out of the message: a batch of rows can be large."""
    dialect = connection.dialect
    lost = dialect.is_disconnect(error, connection.connection.driver_connection, cursor)  # type: ignore[arg-type]
    wrapped = exc.DBAPIError.instance(statement, None, error, dialect.loaded_dbapi.Error,
                                      connection_invalidated=lost, dialect=dialect)
    if lost:
        connection.invalidate(error)
    return cast(exc.DBAPIError, wrapped)  # a driver error is always wrapped in a DBAPIError


class CompiledRead:
    """A `SELECT <every column of table>` (or a write `RETURNING` them) compiled once for one
    dialect: its parameters bound by their types' bind processors, its row values converted by the
    columns' result processors (UUIDs, JSON, timestamptz to UTC, enums...), as `Connection.execute`
    would bind and return them."""

    def __init__(self, statement: sa.Select[Any] | sa.Update, table: sa.Table, dialect: sa.Dialect) -> None:
        compiled = statement.compile(dialect=dialect)
        self.sql = compiled.string
        self.error: type[Exception] = dialect.loaded_dbapi.Error
        self._binds = tuple((name, bind.type.dialect_impl(dialect).bind_processor(dialect))
                            for name, bind in compiled.binds.items())
        self._positions = compiled.positiontup
        # Named parameters that no type processes (psycopg2's UUIDs) go as they are given.
        self._plain = self._positions is None and all(bind is None for _, bind in self._binds)
        self._table, self._dialect = table, dialect
        self._processors: tuple[tuple[int, Callable[[Any], Any]], ...] | None = None

    def parameters(self, given: dict[str, Any]) -> Any:
        """`given` holds exactly the statement's parameters."""
        if self._plain:
            return given
        values = {name: given[name] if bind is None else bind(given[name]) for name, bind in self._binds}
        return values if self._positions is None else tuple(values[name] for name in self._positions)

    def values(self, row: Sequence[Any], cursor: Any) -> Sequence[Any]:
        processors = self._processors
        if processors is None:  # a few processors depend on the type the server reports (numerics)
            dialect = self._dialect
            found = ((position, column.type.dialect_impl(dialect).result_processor(dialect, described[1]))
                     for position, (column, described) in enumerate(
                         zip(self._table.columns, cursor.description, strict=True)))
            processors = self._processors = tuple((position, process) for position, process in found if process)
        if not processors:
            return row
        values = list(row)
        for position, process in processors:
            values[position] = process(values[position])
        return values
