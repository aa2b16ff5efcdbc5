"""ORDER BY and keyset positions on SQLAlchemy Core, with NULL the lowest value on every backend.

NULL sorts first ascending and last descending: SQLite's and BigQuery's default, the memory adapter's
rule (`adapters/memory/querying.py`), and what PostgreSQL does only when told (its default puts NULL
last ascending). `NULLS FIRST` / `NULLS LAST` is emitted for nullable columns only: on a NOT NULL
column it changes nothing, and PostgreSQL would no longer match the ORDER BY to a plain index.

The keyset "strictly after" a position is the usual OR of branches, `(a > x) OR (a = x AND b > y) ...`,
with each comparison made NULL-aware where NULL can occur (a nullable column, or a NULL anchor):

    after anchor x, ascending        x NULL: a IS NOT NULL      x set: a > x
    after anchor x, descending       x NULL: (no row)           x set: a < x OR a IS NULL
    equal to anchor x                x NULL: a IS NULL          x set: a = x
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from domain.shared.sorting import Sort, SortField


def order_by_clauses(table: sa.Table, sort: Sort) -> list[sa.ColumnElement[Any]]:
    """The ORDER BY of `sort` on `table`, NULL lowest."""
    clauses: list[sa.ColumnElement[Any]] = []
    for item in sort.fields:
        column = table.c[item.field]
        ordered = column.desc() if item.descending else column.asc()
        if column.nullable:
            ordered = ordered.nulls_last() if item.descending else ordered.nulls_first()
        clauses.append(ordered)
    return clauses


def keyset_after(table: sa.Table, sort: Sort, after_values: Sequence[Any]) -> sa.ColumnElement[bool]:
    """Rows strictly after the position `after_values` (one value per sort field, None for NULL) in
    `sort` order, NULL lowest."""
    fields = sort.fields
    if len(after_values) != len(fields):
        raise ValueError(f"a position has one value per sort field: {len(fields)}, got {len(after_values)}")
    branches: list[sa.ColumnElement[bool]] = []
    for index, item in enumerate(fields):
        step = _beyond(table, item, after_values[index])
        if step is None:
            continue  # nothing comes after NULL descending on this field: the branch matches no row
        prefix = [_equal(table, fields[i], after_values[i]) for i in range(index)]
        branches.append(sa.and_(*prefix, step))
    return sa.or_(*branches) if branches else sa.false()


def _anchor(column: sa.Column[Any], value: Any) -> sa.ColumnElement[Any]:
    # A typed literal: a bare True/False would turn `column > True` into an error.
    return sa.literal(value, column.type)


def _equal(table: sa.Table, item: SortField, value: Any) -> sa.ColumnElement[bool]:
    column = table.c[item.field]
    return column.is_(None) if value is None else column == _anchor(column, value)


def _beyond(table: sa.Table, item: SortField, value: Any) -> sa.ColumnElement[bool] | None:
    """Rows whose `item` value comes strictly after `value` in the item's direction; None for none."""
    column = table.c[item.field]
    if value is None:
        return None if item.descending else column.is_not(None)
    anchor = _anchor(column, value)
    if not item.descending:
        return column > anchor  # a NULL row is below `value`: `>` leaves it out, as it should
    if column.nullable:
        return sa.or_(column < anchor, column.is_(None))
    return column < anchor
