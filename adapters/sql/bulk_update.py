"""Many version-checked updates in one statement on PostgreSQL:

    UPDATE t SET <every column> = v.<column>, version = v._version + 1
    FROM (VALUES (...), (...)) AS v(_id, _version, <every column>)
    WHERE t.id = v._id AND t.version = v._version AND t.<scope> = v._scope
    RETURNING t.id

Each VALUES item casts its values to the columns' own types, so the driver sends plain text and
numbers. The caller holds a savepoint: fewer ids back than rows means a stale or missing one, and
the savepoint undoes the others (all or nothing, as one `update` per row would be).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

import sqlalchemy as sa

from adapters.sql.bulk import BATCH_SIZE, Row, _Layout, _layout, _postgres_dialect
from adapters.sql.driver import execute_values, values_cursor


@cache
def _statement(table: sa.Table, scope_field: str | None,
               fields: frozenset[str] | None) -> tuple[str, str, _Layout]:
    """The statement (one `%s` for the VALUES list), the template of one VALUES item, and the
    layout of the columns it sets (every column but id and version, or those of `fields`): only
    those are converted and sent."""
    dialect = _postgres_dialect()
    chosen = tuple(name for name in _layout(table).names
                   if name not in ("id", "version") and (fields is None or name in fields))
    types = [table.c[name].type.dialect_impl(dialect).compile(dialect=dialect).split(" COLLATE ")[0]
             for name in chosen]
    template = "(%s::uuid, %s::integer, %s::uuid" + "".join(f", %s::{kind}" for kind in types) + ")"
    assignments = "".join(f'"{name}" = v."{name}", ' for name in chosen)
    columns = "".join(f', "{name}"' for name in chosen)
    scope = f' AND t."{scope_field}" = v._scope' if scope_field is not None else ""
    sql = (f'UPDATE "{table.name}" AS t SET {assignments}"version" = v._version + 1 '
           f"FROM (VALUES %s) AS v(_id, _version, _scope{columns}) "
           f'WHERE t."id" = v._id AND t."version" = v._version{scope} RETURNING t."id"::text')
    return sql, template, _layout(table, chosen)


def update_all(connection: sa.Connection, table: sa.Table, rows: Sequence[tuple[Row, int]],
               scope: tuple[str, Any] | None, fields: frozenset[str] | None = None) -> set[str]:
    """Update each `(row, expected version)`; the ids (as text) of the rows that were updated.
    `fields`: the only columns whose values differ from the stored rows' (the others are not sent)."""
    sql, template, layout = _statement(table, None if scope is None else scope[0], fields)
    scope_value = None if scope is None else str(scope[1])
    updated: set[str] = set()
    with values_cursor(connection) as cursor:
        for start in range(0, len(rows), BATCH_SIZE):
            batch = rows[start: start + BATCH_SIZE]
            converted = layout.tuples([row for row, _ in batch])
            values = [(str(row["id"]), version, scope_value, *columns)
                      for (row, version), columns in zip(batch, converted, strict=True)]
            returned = execute_values(connection, cursor, sql, values, template, fetch=True)
            updated.update(row[0] for row in returned)
    return updated
