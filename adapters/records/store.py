"""The record-store protocol: what a backend does for one table, and nothing more.

A store is bound to one transaction and one tenant scope. Every read and write it makes is confined
to the scope (another tenant's row behaves as a missing one); it trusts its arguments, which the
repositories above it check once for every backend (`adapters/records/crud.py`). Memory, SQL and
BigQuery each implement this protocol once; repositories are objects handed their stores.
"""

from __future__ import annotations

import uuid
from abc import ABC, abstractmethod
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from itertools import compress
from operator import ne
from typing import Any, Generic, TypeVar

from domain.shared.entity import Entity
from domain.shared.errors import ConcurrencyConflict, NotFound
from domain.shared.filters import Condition, Operator
from domain.shared.scope import TenantScope
from domain.shared.sorting import Sort
from ports.records import RecordSchema

E = TypeVar("E", bound=Entity)

OLDEST_FIRST = Sort.parse("created_at,id")
NEWEST_FIRST = Sort.parse("-created_at,-id")


def equal(field: str, value: Any) -> Condition:
    return Condition(field, Operator.EQ, value)


@dataclass(frozen=True, slots=True)
class Query:
    """A read of the visible rows: every condition holds, and one of `any_of` when it is given; in
    `sort` order (which ends on `id`, so it is total), strictly after the keyset position `after`,
    from `offset`, at most `limit`."""

    conditions: tuple[Condition, ...] = ()
    sort: Sort = OLDEST_FIRST
    limit: int | None = None
    offset: int = 0
    after: tuple[Any, ...] | None = None
    any_of: tuple[Condition, ...] = ()


class RecordStore(ABC, Generic[E]):
    """One table of one backend, inside one transaction, confined to one scope."""

    schema: RecordSchema[E]
    scope: TenantScope

    @abstractmethod
    def get(self, key: uuid.UUID) -> E | None:
        """The visible row with this id (the transaction's own writes included)."""

    @abstractmethod
    def find(self, query: Query) -> list[E]: ...

    @abstractmethod
    def count(self, conditions: Sequence[Condition] = ()) -> int: ...

    @abstractmethod
    def count_by(self, field: str) -> dict[Any, int]:
        """Visible rows counted by the value of `field` (values no row holds are absent)."""

    @abstractmethod
    def insert(self, rows: Sequence[E]) -> None:
        """Insert new rows, all or none: a taken id or unique key raises `Conflict` naming the key and
        leaves the transaction usable."""

    @abstractmethod
    def insert_new(self, rows: Sequence[E]) -> list[E]:
        """Insert the rows whose id and unique keys are free, leave out the others (ON CONFLICT DO
        NOTHING), and return those inserted. A key another transaction is inserting is waited for,
        so that the outcome is decided by what that transaction commits, as a unique index does."""

    @abstractmethod
    def update(self, entity: E, *, keys_unchanged: bool = False) -> E:
        """Store `entity` if the stored version still equals `entity.version`; return it at the next
        version. Stale: `ConcurrencyConflict`; missing: `NotFound`; a taken unique key: `Conflict`.
        `keys_unchanged`: the caller guarantees no unique key changes, so a backend may skip the
        guard it needs against a violation (SQL: a savepoint)."""

    def update_many(self, entities: Sequence[E], *, keys_unchanged: bool = False) -> list[E]:
        """`update` of each, all or nothing. A backend may send them as one statement."""
        with self.atomically():
            return [self.update(entity, keys_unchanged=keys_unchanged) for entity in entities]

    def update_current(self, entities: Sequence[E], *, keys_unchanged: bool = False,
                       fields: frozenset[str] | None = None) -> list[E]:
        """Store each entity whose stored version still equals its own, and return those, at their
        next versions, in the given order; a stale or missing one is left as it is (no error: the
        caller reads it again and decides). A backend may send them as one statement. `fields`:
        the caller knows that only these fields differ from the stored rows at those versions (see
        `changed_fields`), so a backend may write those alone."""
        stored: list[E] = []
        for entity in entities:
            try:
                stored.append(self.update(entity, keys_unchanged=keys_unchanged))
            except (ConcurrencyConflict, NotFound):
                continue
        return stored

    @abstractmethod
    def delete(self, key: uuid.UUID, expected_version: int | None) -> None:
        """`NotFound` if absent, `ConcurrencyConflict` if `expected_version` is stale."""

    def delete_current(self, entities: Sequence[E]) -> list[E]:
        """Delete each entity whose stored version still equals its own; those deleted, in the
        given order (a stale or missing one is left as it is). A backend may send one statement."""
        deleted: list[E] = []
        for entity in entities:
            try:
                self.delete(entity.id, entity.version)
            except (ConcurrencyConflict, NotFound):
                continue
            deleted.append(entity)
        return deleted

    def exists(self, key: uuid.UUID) -> bool:
        return self.get(key) is not None

    @abstractmethod
    def atomically(self) -> AbstractContextManager[None]:
        """A savepoint: an exception inside undoes the writes made inside, and the unit of work goes on."""


def changed_fields(pairs: Sequence[tuple[E, E]]) -> frozenset[str]:
    """The fields in which any `(before, after)` pair differs, version aside. Both of a pair are
    one model, so their fields come in one order: compared pairwise in C (`map(ne, ...)`)."""
    changed: set[str] = set()
    for before, after in pairs:
        old, new = before.__dict__, after.__dict__
        if old.keys() != new.keys():
            raise ValueError("changed_fields compares two values of one model")
        changed.update(compress(new.keys(), map(ne, old.values(), new.values())))
    changed.discard("version")
    return frozenset(changed)


def next_version(entity: E) -> E:
    """`entity` as stored by an update: at the next version. The entity was validated when it was
    made, so the copy skips validation (it changes the version alone)."""
    return entity.at_version(entity.version + 1)
