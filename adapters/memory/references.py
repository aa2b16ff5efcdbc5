"""Foreign keys in memory: what a SQL `REFERENCES ... ON DELETE CASCADE` does, from the record
schemas' `references` (the same declarations the SQL constraints are derived from).

- A row written must name rows that exist in the writing transaction (its own writes included)
  with the same key values: else `NotFound` naming the missing row, and nothing is written.
- Deleting a row deletes the rows referencing it, transitively, inside the same transaction, so the
  transaction reads what SQL would.
- At commit, under the database's lock, both are checked again against what others committed
  meanwhile: rows referencing a row this transaction deletes are deleted too (as the cascade would
  reach them once their inserter committed), and a written row whose referenced row is gone fails
  the commit with `Conflict` (PostgreSQL's foreign-key check would refuse it).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from domain.shared.entity import Entity
from domain.shared.errors import Conflict, NotFound
from ports.records import RecordSchema, Reference


@dataclass(frozen=True, slots=True)
class Link:
    """One reference as the memory database keeps it: child table's fields -> parent table's fields."""

    child: str
    parent: str
    reference: Reference
    local: tuple[str, ...]
    target: tuple[str, ...]

    @classmethod
    def of(cls, schema: RecordSchema[Any], reference: Reference) -> Link:
        return cls(schema.table, reference.target.table, reference, reference.local_fields(schema),
                   reference.target_fields())

    def key_of(self, child: Entity) -> tuple[Any, ...] | None:
        """The parent key a child row names, or None when it names none (a NULL reference)."""
        values = tuple(getattr(child, name) for name in self.local)
        return None if any(value is None for value in values) else values

    def parent_id(self, key: tuple[Any, ...]) -> uuid.UUID:
        value = key[self.target.index("id")]
        assert isinstance(value, uuid.UUID)
        return value

    def matches(self, parent: Entity, key: tuple[Any, ...]) -> bool:
        return tuple(getattr(parent, name) for name in self.target) == key

    def names(self, child: Entity, parent: Entity) -> bool:
        key = self.key_of(child)
        return key is not None and self.matches(parent, key)

    def missing(self, key: tuple[Any, ...]) -> NotFound:
        return NotFound(self.reference.target.entity, key[self.target.index("id")])


Lookup = Callable[[str, uuid.UUID], Entity | None]
"""A row of a table by id, as some state sees it (a transaction's, or the committed one)."""
Scan = Callable[[str], Iterable[Entity]]


def check_parents(links: Iterable[Link], rows: Iterable[Entity], lookup: Lookup) -> None:
    """`NotFound` for the first row naming a parent that `lookup` does not find."""
    for link in links:
        for row in rows:
            key = link.key_of(row)
            if key is None:
                continue
            parent = lookup(link.parent, link.parent_id(key))
            if parent is None or not link.matches(parent, key):
                raise link.missing(key)


def conflicting_parents(links: Iterable[Link], rows: Iterable[Entity], lookup: Lookup) -> Conflict | None:
    """At commit: the `Conflict` for a row whose parent is gone from `lookup`'s state, if any."""
    try:
        check_parents(links, rows, lookup)
    except NotFound as missing:
        return Conflict(missing.entity, f"{missing.key} was deleted by a concurrent transaction")
    return None


def cascade(children: Callable[[str], list[Link]], table: str, row: Entity, scan: Scan) -> Iterator[tuple[str, Entity]]:
    """Every row that deleting `row` of `table` deletes with it, children before their own children
    are looked at; each (table, row) once."""
    pending = [(table, row)]
    seen: set[tuple[str, uuid.UUID]] = {(table, row.id)}
    while pending:
        parent_table, parent = pending.pop()
        for link in children(parent_table):
            for child in scan(link.child):
                if (link.child, child.id) not in seen and link.names(child, parent):
                    seen.add((link.child, child.id))
                    pending.append((link.child, child))
                    yield link.child, child
