"""A transactional in-memory store: committed tables plus a private overlay per transaction.

Reads see the committed state through the transaction's own writes. Commit validates, under the
store's lock, that every row the transaction changed still has the version it started from and
that no unique key was taken meanwhile, then applies all writes at once. Savepoints are copies
of the overlay, which stays small.
"""

from __future__ import annotations

import copy
import threading
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from domain.shared.entity import Entity
from domain.shared.errors import ConcurrencyConflict, Conflict

_DELETED: Any = object()


@dataclass(frozen=True, slots=True)
class TableRules:
    entity: str
    unique_keys: Mapping[str, tuple[str, ...]]


class MemoryDatabase:
    """Committed state of every table; shared by all units of work of one container."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.tables: dict[str, dict[uuid.UUID, Entity]] = {}
        self.rules: dict[str, TableRules] = {}

    def register(self, table: str, rules: TableRules) -> None:
        with self.lock:
            self.tables.setdefault(table, {})
            self.rules[table] = rules

    def begin(self) -> MemoryTransaction:
        return MemoryTransaction(self)

    def clear(self) -> None:
        with self.lock:
            for rows in self.tables.values():
                rows.clear()


@dataclass(slots=True)
class _Write:
    row: Entity | None  # None: deleted
    base_version: int | None  # version when this transaction first touched it; None: new row


Overlay = dict[str, dict[uuid.UUID, _Write]]
"""A transaction's pending writes by table and key; a savepoint is a copy of it."""


@dataclass(slots=True)
class MemoryTransaction:
    database: MemoryDatabase
    writes: Overlay = field(default_factory=dict)
    closed: bool = False

    # -- reads --------------------------------------------------------------------------------
    def get(self, table: str, key: uuid.UUID) -> Entity | None:
        pending = self.writes.get(table, {}).get(key)
        if pending is not None:
            return pending.row
        with self.database.lock:
            return self.database.tables[table].get(key)

    def scan(self, table: str) -> Iterator[Entity]:
        """Every visible row of a table (committed rows overlaid by this transaction's writes)."""
        with self.database.lock:
            committed = dict(self.database.tables[table])
        pending = self.writes.get(table, {})
        for key, row in committed.items():
            if key not in pending:
                yield row
        for write in pending.values():
            if write.row is not None:
                yield write.row

    # -- writes -------------------------------------------------------------------------------
    def put(self, table: str, row: Entity) -> None:
        """Insert or replace `row` (already checked by the repository)."""
        self.put_many(table, [row])

    def put_many(self, table: str, rows: list[Entity]) -> None:
        """All rows or none: unique keys are checked against the visible rows and each other."""
        self._check_unique(table, rows, self.scan(table))
        for row in rows:
            self._record(table, row.id, copy.deepcopy(row))

    def delete(self, table: str, key: uuid.UUID) -> None:
        self._record(table, key, None)

    def _record(self, table: str, key: uuid.UUID, row: Entity | None) -> None:
        pending = self.writes.setdefault(table, {})
        if key in pending:
            pending[key].row = row
            return
        with self.database.lock:
            committed = self.database.tables[table].get(key)
        pending[key] = _Write(row, committed.version if committed is not None else None)

    def _check_unique(self, table: str, rows: list[Entity], visible: Iterator[Entity]) -> None:
        rules = self.database.rules[table]
        if not rules.unique_keys:
            return
        replaced = {row.id for row in rows}
        others = [other for other in visible if other.id not in replaced]
        for name, attrs in rules.unique_keys.items():
            taken = {_key(other, attrs) for other in others}
            for row in rows:
                value = _key(row, attrs)
                if value in taken:
                    shown = value[0] if len(value) == 1 else value
                    raise Conflict(rules.entity, f"{name} {shown!r} is already taken")
                taken.add(value)

    # -- savepoints ---------------------------------------------------------------------------
    def savepoint(self) -> Overlay:
        return {table: {k: _Write(w.row, w.base_version) for k, w in rows.items()}
                for table, rows in self.writes.items()}

    def rollback_to(self, snapshot: Overlay) -> None:
        self.writes = snapshot

    # -- commit -------------------------------------------------------------------------------
    def commit(self) -> None:
        database = self.database
        with database.lock:
            for table, pending in self.writes.items():
                committed = database.tables[table]
                rules = database.rules[table]
                for key, write in pending.items():
                    current = committed.get(key)
                    current_version = current.version if current is not None else None
                    if current_version != write.base_version:
                        if write.base_version is None:
                            raise Conflict(rules.entity, f"id {key} is already taken")
                        raise ConcurrencyConflict(rules.entity, key, write.base_version)
                written = [write.row for write in pending.values() if write.row is not None]
                others = (row for key, row in committed.items() if key not in pending)
                self._check_unique(table, written, others)
            for table, pending in self.writes.items():
                committed = database.tables[table]
                for key, write in pending.items():
                    if write.row is None:
                        committed.pop(key, None)
                    else:
                        committed[key] = write.row
        self.writes = {}

    def rollback(self) -> None:
        self.writes = {}


def _key(row: Entity, attrs: tuple[str, ...]) -> tuple[Any, ...]:
    return tuple(getattr(row, attr) for attr in attrs)
