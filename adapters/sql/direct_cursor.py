"""The DBAPI cursor a record store sends its direct statements on (`driver.direct`): the read by
id, the claim, the worker's acknowledgement with its next claim.

A blocking driver's cursor is kept and serves the store's next statements on the same connection;
an async driver's adapter is made per statement, as SQLAlchemy makes it. A driver error is raised
as `Connection.execute` raises it, then translated into a Portside error, as everywhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy import exc

from adapters.sql.driver import dbapi_cursor, driver_error
from adapters.sql.errors import translate


class DirectCursor:
    def __init__(self, connection: sa.Connection, entity: str) -> None:
        self._connection = connection
        self._entity = entity
        self._cursor: Any = None

    def fetch(self, sql: str, parameters: Any, *, whole: bool = False) -> tuple[list[Sequence[Any]], Sequence[Any]]:
        """The rows `sql` returns and the cursor's description of their columns. `whole`: the
        statement is complete in itself, and may commit on its own where the unit of work lets it
        (`DeadlineCursor.execute_whole`)."""
        connection = self._connection
        cursor = None
        # What `translated` does, written out: the context manager would cost a tenth of a read by id.
        try:
            try:
                cursor = self._cursor
                if (cursor is None or getattr(cursor, "connection", None) is not connection.connection.dbapi_connection
                        or cursor.closed):
                    cursor = dbapi_cursor(connection)
                    if not connection.dialect.is_async:
                        self._cursor = cursor
                if whole and hasattr(cursor, "execute_whole"):
                    cursor.execute_whole(sql, parameters)
                else:
                    cursor.execute(sql, parameters)
                return cursor.fetchall(), cursor.description
            except connection.dialect.loaded_dbapi.Error as error:
                raise driver_error(connection, error, sql, cursor) from error
        except exc.SQLAlchemyError as error:
            raise translate(error, self._entity) from error
