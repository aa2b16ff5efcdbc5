"""Filters, ordering and keyset positions evaluated on objects, with SQL's semantics.

NULL never equals anything (only IS NULL matches it); text compares by code point, which is the
byte order of SQLite's BINARY and PostgreSQL's "C" collation; substring matches fold ASCII case.
In ordering NULL is the lowest value: first ascending, last descending, as SQLite and BigQuery do by
default and as the SQL adapter asks PostgreSQL to (`adapters/sql/ordering.py`).
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

from domain.shared.entity import Entity
from domain.shared.filters import Condition, Operator, fold_ascii
from domain.shared.sorting import Sort

E = TypeVar("E", bound=Entity)

_COMPARE: dict[Operator, Callable[[Any, Any], bool]] = {
    Operator.EQ: operator.eq,
    Operator.NE: operator.ne,
    Operator.LT: operator.lt,
    Operator.LTE: operator.le,
    Operator.GT: operator.gt,
    Operator.GTE: operator.ge,
}


def matches(row: Entity, condition: Condition) -> bool:
    value = getattr(row, condition.field)
    if condition.operator is Operator.IS_NULL:
        return (value is None) == bool(condition.value)
    if value is None:
        return False
    if condition.operator is Operator.IN:
        return value in condition.value
    if condition.operator is Operator.CONTAINS:
        return fold_ascii(str(condition.value)) in fold_ascii(value)
    return _COMPARE[condition.operator](value, condition.value)


def select(rows: Iterable[E], conditions: Sequence[Condition]) -> list[E]:
    return [row for row in rows if all(matches(row, c) for c in conditions)]


def _null_lowest(field: str) -> Callable[[Entity], tuple[bool, Any]]:
    """A sort key placing None before every value: (False, None) < (True, value)."""

    def key(row: Entity) -> tuple[bool, Any]:
        value = getattr(row, field)
        return (value is not None, value)

    return key


def order(rows: list[E], sort: Sort) -> list[E]:
    """Stable passes from the least significant field to the most significant one; NULL lowest."""
    for item in reversed(sort.fields):
        rows.sort(key=_null_lowest(item.field), reverse=item.descending)
    return rows


def after(row: Entity, sort: Sort, position: Sequence[Any]) -> bool:
    """Whether `row` comes strictly after the keyset `position` in `sort` order (NULL lowest)."""
    for item, anchor in zip(sort.fields, position, strict=False):
        value = getattr(row, item.field)
        if value == anchor:
            continue
        # NULL is below every value.
        greater = anchor is None if value is None or anchor is None else bool(value > anchor)
        return greater != item.descending
    return False
