"""The write buffer of a BigQuery transaction: its pending writes, and what each one is based on.

Nothing reaches BigQuery before the commit: a unit of work's writes wait here, by table and id, each
with the committed `row_version` it replaces, so that publishing can check that no one else wrote the
record meanwhile (see `adapters/bigquery/publish.py`). A savepoint is a copy of the buffer.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass

from domain.shared.entity import Entity
from ports.records import UniqueKey


def holds_same_key(key: UniqueKey, row: Entity, other: Entity) -> bool:
    """Whether `row` and `other` both hold the unique key `key` with the same values."""
    return key.binds(row) and key.binds(other) and key.value_of(row) == key.value_of(other)


def claimed_keys(keys: Mapping[str, UniqueKey], row: Entity, base: Entity | None) -> list[str]:
    """The unique keys `row` takes that its committed `base` did not hold: the ones to check. A key
    the base held stays this record's while the base is current (the compare-and-set), and no other
    committed record can hold it."""
    return [name for name, key in keys.items()
            if key.binds(row) and not (base is not None and holds_same_key(key, base, row))]


@dataclass(slots=True)
class Write:
    row: Entity
    """The record as written; for a delete, as it was (a tombstone keeps its columns)."""
    deleted: bool
    base: int
    """The committed `row_version` this write replaces; 0: no committed row had the id."""
    base_version: int | None
    """The aggregate's version at `base` (None for a new id): what a stale write reports."""
    base_row: Entity | None = None
    """The committed record at `base` (None for a new id): the unique keys it held need no check."""

    def claims(self, keys: Mapping[str, UniqueKey]) -> list[str]:
        """The unique keys this write must be checked for when it is published."""
        return [] if self.deleted else claimed_keys(keys, self.row, self.base_row)

    def copy(self) -> Write:
        return Write(self.row, self.deleted, self.base, self.base_version, self.base_row)


Overlay = dict[str, dict[uuid.UUID, Write]]
"""Pending writes by table and id; a savepoint is a copy of it."""


def copy_overlay(overlay: Overlay) -> Overlay:
    return {table: {key: write.copy() for key, write in writes.items()} for table, writes in overlay.items()}


@dataclass(frozen=True, slots=True)
class Committed:
    """The current committed version of a record, as a read found it."""

    row: Entity | None
    """None: the current version is a tombstone."""
    row_version: int
