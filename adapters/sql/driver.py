"""Statements sent on the connection's DBAPI cursor, beside `Connection.execute`, on the paths where
SQLAlchemy's per-call work (statement cache lookup, execution context, result object) costs as much
as the round trip to a local server: the multi-row inserts (`adapters/sql/bulk.py`) and the read by
id. They keep SQLAlchemy's behaviour: the statement SQLAlchemy compiles, the values its types'
processors produce, and its errors (`driver_error`), which the adapter's one translation turns into
Portside errors. They are taken only where no one could tell the difference (`direct`).

Two drivers run a `postgresql://` URL: psycopg2 (`postgresql+psycopg2://`) and psycopg 3
(`postgresql+psycopg://`). Both take `%s`/`%(name)s` placeholders and DBAPI cursors, so the fast paths
are one code; the two things psycopg 3 does differently, multi-row VALUES (it has no
`execute_values`) and COPY (`cursor.copy()` where psycopg2 has `copy_expert`), are the helpers below.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache
from itertools import chain
from typing import Any, Protocol, cast

import sqlalchemy as sa
from sqlalchemy import exc

BLOCKING_DRIVERS = frozenset({"psycopg2", "psycopg"})


def on_blocking_driver(connection: sa.Connection) -> bool:
    """Whether the connection runs on one of the blocking PostgreSQL drivers (psycopg2, psycopg 3's
    sync connection), whose cursors the hot paths here, the bulk writes (`bulk.py`, `bulk_update.py`,
    `copy.py`) and the deadline (`deadline.py`), are written for. An async driver under the async face
    (asyncpg, psycopg 3's async connection) hands out an adapted connection whose calls must go
    through SQLAlchemy's greenlet bridge: it takes SQLAlchemy's own path."""
    dialect = connection.dialect
    return dialect.name == "postgresql" and not dialect.is_async and dialect.driver in BLOCKING_DRIVERS


POSTGRES_DRIVERS = frozenset({*BLOCKING_DRIVERS, "asyncpg"})


def direct(connection: sa.Connection) -> bool:
    """Whether a statement may go to the DBAPI cursor (`dbapi_cursor`) with nothing observable
    changing: PostgreSQL on one of Portside's drivers, no event listener or echo that would see it, no
    schema translation, and a live transaction (in any other state `Connection.execute` raises, so it
    is left to raise). On an async driver the DBAPI cursor is SQLAlchemy's adapter of it, which awaits
    each round trip from the greenlet the async face runs the call in, as `Connection.execute` does."""
    nested = connection._nested_transaction
    return not (connection._has_events or connection.engine._has_events or connection._echo) and (
        connection.dialect.name == "postgresql" and connection.dialect.driver in POSTGRES_DRIVERS
        and connection._dbapi_connection is not None
        and connection.in_transaction() and (nested is None or nested.is_active)
        and "schema_translate_map" not in connection._execution_options
    )


def dbapi_cursor(connection: sa.Connection) -> Any:
    """A new cursor of the connection's DBAPI connection (SQLAlchemy's adapter on an async driver)."""
    return connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]


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


def is_psycopg2(connection: sa.Connection) -> bool:
    """Whether `connection` runs on psycopg2 (`postgresql+psycopg2://`) rather than psycopg 3."""
    return connection.dialect.driver == "psycopg2"


def values_cursor(connection: sa.Connection) -> Any:
    """A cursor of `connection`'s driver connection for `execute_values`. On psycopg 3 its raw
    cursor, which takes PostgreSQL's own `$1` placeholders as they are: a batch holds thousands of
    values, and turning as many `%s` into `$n` on every call cost a third of the insert's time."""
    driver = connection.connection.driver_connection
    assert driver is not None
    if is_psycopg2(connection):
        return driver.cursor()
    import psycopg

    # A deadline connection (adapters/sql/deadline.py) brings a raw cursor that marks its round trips.
    return getattr(driver, "raw_cursor_factory", psycopg.RawCursor)(driver)


def execute_values(connection: sa.Connection, cursor: Any, sql: str, values: Sequence[Sequence[Any]],
                   template: str | None = None, *, fetch: bool = False, constants: Sequence[Any] = ()) -> list[Any]:
    """Run `sql`, whose one `%s` stands for a VALUES list, with `values` as that list's items: one
    statement, on a cursor from `values_cursor`. `template` is one item with a `%s` per value (and
    casts if need be). The rows RETURNING sends back with `fetch`; `cursor.rowcount` then counts the
    rows written. psycopg2 renders the values into the statement (`execute_values`); psycopg 3 has
    no such helper, so the statement gets a numbered placeholder per value and the values go bound
    beside it (at most 65,535 a statement: a batch of 1,000 rows of Portside's widest table binds
    26,000). `constants`: values the statement takes once, not once per item, written in `sql` as
    `{0}`, `{1}`, ... (with their casts): psycopg2 gets them rendered into the statement, psycopg 3
    bound before the items. A driver error is raised as `Connection.execute` raises it (`driver_error`)."""
    try:
        if is_psycopg2(connection):
            import psycopg2.extras

            if constants:  # a rendered `%` would read as a placeholder to execute_values: doubled
                sql = sql.format(*(cursor.mogrify("%s", (constant,)).decode().replace("%", "%%")
                                   for constant in constants))
            # page_size keeps the batch one statement; fetch gathers what RETURNING sends back.
            return cast(list[Any], psycopg2.extras.execute_values(
                cursor, sql, values, template=template, page_size=len(values), fetch=fetch))
        first = len(constants)
        items = _numbered_values(template or _plain_item(len(values[0])), len(values), first)
        statement = sql.format(*(f"${position + 1}" for position in range(first))) if constants else sql
        cursor.execute(statement.replace("%s", items, 1), [*constants, *chain.from_iterable(values)])
        return cast(list[Any], cursor.fetchall()) if fetch else []
    except connection.dialect.loaded_dbapi.Error as error:
        raise driver_error(connection, error, sql, cursor) from error


@lru_cache(maxsize=64)
def _plain_item(width: int) -> str:
    return "(" + ", ".join(["%s"] * width) + ")"


@lru_cache(maxsize=256)
def _numbered_values(item: str, count: int, first: int = 0) -> str:
    """`count` copies of `item`, its `%s` numbered on from one copy to the next, after the `first`
    numbers: `($1, $2), ($3, $4)`. A batch is one of a few sizes (the batch size, then the
    remainder): each list is built once."""
    pieces = item.split("%s")
    width = len(pieces) - 1
    return ", ".join(
        pieces[0] + "".join(f"${first + row * width + position + 1}{pieces[position + 1]}"
                            for position in range(width))
        for row in range(count)
    )


class CopySource(Protocol):
    def read(self, size: int = -1, /) -> str:
        """The next piece of COPY text; "" at the end."""
        ...


def copy_from(connection: sa.Connection, cursor: Any, statement: str, source: CopySource) -> None:
    """Run `COPY ... FROM STDIN` with the text `source` gives, a piece at a time: psycopg2 reads it
    itself (`copy_expert`); psycopg 3 is written to inside its `cursor.copy()` block. Driver errors
    are left to the caller, which knows whether `source` failed first."""
    if is_psycopg2(connection):
        cursor.copy_expert(statement, source)
        return
    with cursor.copy(statement) as copy:
        while piece := source.read():
            copy.write(piece)


class CompiledRead:
    """A `SELECT <every column of table>` (or a write `RETURNING` them) compiled once for one
    dialect: its parameters bound by their types' bind processors, its row values converted by the
    columns' result processors (UUIDs, JSON, timestamptz to UTC, enums...), as `Connection.execute`
    would bind and return them."""

    def __init__(self, statement: sa.Select[Any] | sa.Update, table: sa.Table, dialect: sa.Dialect) -> None:
        compiled = statement.compile(dialect=dialect)
        self.sql = compiled.string
        self._binds = tuple((name, bind.type.dialect_impl(dialect).bind_processor(dialect))
                            for name, bind in compiled.binds.items())
        self._positions = compiled.positiontup
        # Named parameters that no type processes (the drivers' own UUIDs) go as they are given.
        self._plain = self._positions is None and all(bind is None for _, bind in self._binds)
        self.columns = ResultColumns(table, dialect)

    def parameters(self, given: dict[str, Any]) -> Any:
        """`given` holds exactly the statement's parameters."""
        if self._plain:
            return given
        values = {name: given[name] if bind is None else bind(given[name]) for name, bind in self._binds}
        return values if self._positions is None else tuple(values[name] for name in self._positions)

    def values(self, row: Sequence[Any], description: Sequence[Any]) -> Sequence[Any]:
        """`row` as `Connection.execute` would return it; `description`: the cursor's."""
        return self.columns.values(row, description)


class ResultColumns:
    """Rows of every column of a table (or of `columns`), in that order, converted by the columns'
    result processors (UUIDs, JSON, timestamptz to UTC, enums...) for one dialect."""

    def __init__(self, table: sa.Table, dialect: sa.Dialect, columns: Sequence[sa.Column[Any]] | None = None) -> None:
        self._columns = tuple(table.columns) if columns is None else tuple(columns)
        self._dialect = dialect
        self._processors: tuple[tuple[int, Callable[[Any], Any]], ...] | None = None

    def values(self, row: Sequence[Any], description: Sequence[Any]) -> Sequence[Any]:
        processors = self._processors
        if processors is None:  # a few processors depend on the type the server reports (numerics)
            dialect = self._dialect
            found = ((position, column.type.dialect_impl(dialect).result_processor(dialect, described[1]))
                     for position, (column, described) in enumerate(
                         zip(self._columns, description, strict=True)))
            processors = self._processors = tuple((position, process) for position, process in found if process)
        if not processors:
            return row
        values = list(row)
        for position, process in processors:
            values[position] = process(values[position])
        return values
