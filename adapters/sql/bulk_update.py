"""Many version-checked updates in one statement on PostgreSQL:

    UPDATE t SET <column> = v.<column>, ..., <same column> = {0}, ..., version = v._version + 1
    FROM (VALUES (...), (...)) AS v(_id, _version, <column>, ...)
    WHERE t.id = v._id AND t.version = v._version AND t.<scope> = {k}
    RETURNING t.id

Each VALUES item casts its values to the columns' own types, so the driver sends plain text and
numbers. A column that takes the same value in every row (a batch of jobs completed at one time)
and the scope are sent once, as constants of the statement, not once per item: on a batch of
acknowledgements that leaves two values an item. The caller holds a savepoint: fewer ids back than
rows means a stale or missing one, and the savepoint undoes the others (all or nothing, as one
`update` per row would be).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache, lru_cache
from typing import Any

import sqlalchemy as sa

from adapters.sql.bulk import BATCH_SIZE, Row, _Layout, _layout, _postgres_dialect
from adapters.sql.driver import execute_values, values_cursor


@cache
def _layout_of(table: sa.Table, fields: frozenset[str] | None) -> _Layout:
    """The columns an update sets (every column but id and version, or those of `fields`): only
    those are converted and sent."""
    return _layout(table, tuple(name for name in _layout(table).names
                                if name not in ("id", "version") and (fields is None or name in fields)))


@lru_cache(maxsize=512)  # one per table and pattern of same-valued columns met
def _statement(table: sa.Table, scope_field: str | None, chosen: tuple[str, ...],
               uniform: tuple[bool, ...]) -> tuple[str, str]:
    """The statement (one `%s` for the VALUES list, `{n}` for its constants: the `uniform` columns'
    values in order, then the scope's) and the template of one VALUES item."""
    dialect = _postgres_dialect()
    types = [table.c[name].type.dialect_impl(dialect).compile(dialect=dialect).split(" COLLATE ")[0]
             for name in chosen]
    varying = [(name, kind) for name, kind, same in zip(chosen, types, uniform, strict=True) if not same]
    constant = [(name, kind) for name, kind, same in zip(chosen, types, uniform, strict=True) if same]
    template = "(%s::uuid, %s::integer" + "".join(f", %s::{kind}" for _, kind in varying) + ")"
    assignments = "".join(f'"{name}" = v."{name}", ' for name, _ in varying) + "".join(
        f'"{name}" = {{{position}}}::{kind}, ' for position, (name, kind) in enumerate(constant))
    columns = "".join(f', "{name}"' for name, _ in varying)
    scope = f' AND t."{scope_field}" = {{{len(constant)}}}::uuid' if scope_field is not None else ""
    sql = (f'UPDATE "{table.name}" AS t SET {assignments}"version" = v._version + 1 '
           f"FROM (VALUES %s) AS v(_id, _version{columns}) "
           f'WHERE t."id" = v._id AND t."version" = v._version{scope} RETURNING t."id"::text')
    return sql, template


def _same(values: Sequence[Any]) -> bool:
    """Whether every value is the first one (of its type too: 1 and True are not the same value)."""
    first = values[0]
    kind = type(first)
    return all(value is first or (type(value) is kind and value == first) for value in values)


def update_all(connection: sa.Connection, table: sa.Table, rows: Sequence[tuple[Row, int]],
               scope: tuple[str, Any] | None, fields: frozenset[str] | None = None) -> set[str]:
    """Update each `(row, expected version)`; the ids (as text) of the rows that were updated.
    `fields`: the only columns whose values differ from the stored rows' (the others are not sent)."""
    layout = _layout_of(table, fields)
    scope_field, scope_value = (None, None) if scope is None else (scope[0], str(scope[1]))
    updated: set[str] = set()
    with values_cursor(connection) as cursor:
        for start in range(0, len(rows), BATCH_SIZE):
            batch = rows[start: start + BATCH_SIZE]
            converted = layout.tuples([row for row, _ in batch])
            columns = list(zip(*converted, strict=True)) if converted[0] else [() for _ in layout.names]
            uniform = tuple(_same(column) for column in columns)
            sql, template = _statement(table, scope_field, layout.names, uniform)
            varying = [position for position, same in enumerate(uniform) if not same]
            values = [(str(row["id"]), version, *(items[position] for position in varying))
                      for (row, version), items in zip(batch, converted, strict=True)]
            constants = [columns[position][0] for position, same in enumerate(uniform) if same]
            if scope_field is not None:
                constants.append(scope_value)
            returned = execute_values(connection, cursor, sql, values, template, fetch=True, constants=constants)
            updated.update(row[0] for row in returned)
    return updated
