"""A transactional in-memory store: committed tables plus a private overlay per transaction.

Reads see the committed state through the transaction's own writes. Commit validates, under the
store's lock, that every row the transaction changed still has the version it started from and
that no unique key was taken meanwhile, then applies all writes at once. Savepoints are copies
of the overlay, which stays small.

Inserts claim their id and unique keys until the transaction ends. An insert meeting another live
transaction's claim waits for that transaction to end and then checks again, which is what a
unique index makes PostgreSQL do: so two units of work inserting one key resolve the same way on
both (the second sees the first's committed row), and an idempotent insert returns the stored row
instead of failing at commit.
"""

from __future__ import annotations

import copy
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from adapters.memory.references import Link, cascade, check_parents, conflicting_parents
from domain.shared.entity import Entity
from domain.shared.errors import ConcurrencyConflict, Conflict, StorageTimeout, StorageUnavailable
from ports.records import RecordSchema, taken_detail

_DELETED: Any = object()

LOCK_TIMEOUT_SECONDS = 30.0
"""How long an insert waits for another transaction's claim on its key (SQLite's busy timeout)."""

KeyValue = tuple[str, tuple[Any, ...]]
"""A unique key's name and the values it holds; the name `id` is the primary key."""

_Claim = tuple[str, str, tuple[Any, ...]]
"""(table, key name, values) claimed by a live transaction's insert."""


class MemoryDatabase:
    """Committed state of every table; shared by all units of work of one container."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.tables: dict[str, dict[uuid.UUID, Entity]] = {}
        self.rules: dict[str, RecordSchema[Any]] = {}
        self.ended = threading.Condition(self.lock)
        """Notified whenever a transaction gives up its claims."""
        self.claims: dict[_Claim, MemoryTransaction] = {}
        self.waiting: dict[int, MemoryTransaction] = {}
        """Who waits for whom (by the waiter's id), to refuse a wait that would deadlock."""
        self.parents: dict[str, list[Link]] = {}
        """The references of each table's rows (see `adapters/memory/references.py`)."""
        self.children: dict[str, list[Link]] = {}
        """The references to each table's rows: whom a delete cascades to."""

    def register(self, schema: RecordSchema[Any]) -> str:
        """Create the schema's table on first use (a memory database holds any context's tables),
        and the tables it references: a reference to a table nobody wrote to finds no row."""
        if schema.table not in self.rules:
            with self.lock:
                for reference in schema.references:
                    self.register(reference.target)
                if schema.table not in self.rules:
                    self.tables.setdefault(schema.table, {})
                    self.rules[schema.table] = schema
                    links = [Link.of(schema, reference) for reference in schema.references]
                    self.parents[schema.table] = links
                    for link in links:
                        self.children.setdefault(link.parent, []).append(link)
        return schema.table

    def children_of(self, table: str) -> list[Link]:
        return self.children.get(table, [])

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
    claimed: list[_Claim] = field(default_factory=list)

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
    def put(self, table: str, row: Entity, *, read_version: int) -> None:
        """Replace `row` (already checked by the repository), which the caller read at
        `read_version`: commit refuses the write if the committed row moved past that version since,
        however late after the read the write comes."""
        self._check_unique(table, [row], self.scan(table))
        check_parents(self.database.parents[table], [row], self.get)
        self._record(table, row.id, copy.deepcopy(row), read_version)

    def insert(self, table: str, rows: list[Entity], *, skip_taken: bool = False) -> list[Entity]:
        """Insert new rows, all or none: a taken id or unique key raises `Conflict`; with `skip_taken`
        such rows are left out instead (ON CONFLICT DO NOTHING). Returns the rows written.

        A key another live transaction has claimed is waited for first (see the module docstring).
        """
        rules = self.database.rules[table]
        with self.database.lock:
            self._wait_for_claims(table, rows, rules)
            visible = list(self.scan(table))
            taken = {claim for row in visible for claim in _claims_of(rules, row)}
            accepted: list[Entity] = []
            for row in rows:
                claims = list(_claims_of(rules, row))
                clash = next((claim for claim in claims if claim in taken), None)
                if clash is not None:
                    if skip_taken:
                        continue
                    raise _taken(rules, clash)
                taken.update(claims)
                accepted.append(row)
            check_parents(self.database.parents[table], accepted, self._get_including(table, accepted))
            for row in accepted:
                self._claim(table, _claims_of(rules, row))
                self._record(table, row.id, copy.deepcopy(row))
        return accepted

    def _get_including(self, table: str, rows: list[Entity]) -> Callable[[str, uuid.UUID], Entity | None]:
        """`get`, with `rows` of `table` (being inserted) visible: a batch may hold parents of its own rows."""
        batch = {row.id: row for row in rows}

        def lookup(parent: str, key: uuid.UUID) -> Entity | None:
            return batch[key] if parent == table and key in batch else self.get(parent, key)

        return lookup

    def delete(self, table: str, key: uuid.UUID, *, read_version: int) -> None:
        """Delete the row and, as ON DELETE CASCADE does, every row referencing it, transitively."""
        row = self.get(table, key)
        if row is not None:
            for child_table, child in list(cascade(self.database.children_of, table, row, self.scan)):
                self._record(child_table, child.id, None, child.version)
        self._record(table, key, None, read_version)

    def _record(self, table: str, key: uuid.UUID, row: Entity | None, read_version: int | None = None) -> None:
        pending = self.writes.setdefault(table, {})
        if key in pending:
            pending[key].row = row
            return
        if read_version is not None:
            # The base is what the caller read, not what is committed now: a commit landing between
            # the read and this write must make this one stale, or its change would be overwritten.
            pending[key] = _Write(row, read_version)
            return
        with self.database.lock:
            committed = self.database.tables[table].get(key)
        pending[key] = _Write(row, committed.version if committed is not None else None)

    def _check_unique(self, table: str, rows: list[Entity], visible: Iterator[Entity]) -> None:
        rules = self.database.rules[table]
        if not rules.unique_keys:
            return
        replaced = {row.id for row in rows}
        taken = {key for other in visible if other.id not in replaced for key in _keys_of(rules, other)}
        for row in rows:
            for key in _keys_of(rules, row):
                if key in taken:
                    raise _taken(rules, key)
                taken.add(key)

    # -- claims -------------------------------------------------------------------------------
    def _wait_for_claims(self, table: str, rows: list[Entity], rules: RecordSchema[Any]) -> None:
        """Called with the database lock held; returns with it held and no foreign claim on `rows`."""
        database = self.database
        deadline = time.monotonic() + LOCK_TIMEOUT_SECONDS
        while True:
            owners = (database.claims.get((table, *claim)) for row in rows for claim in _claims_of(rules, row))
            blocker = next((owner for owner in owners if owner is not None and owner is not self), None)
            if blocker is None:
                return
            if self._waits_for_me(blocker):
                raise StorageUnavailable(f"{rules.entity}: deadlock between two inserting transactions")
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise StorageTimeout(f"{rules.entity}: timed out waiting for another transaction's insert")
            database.waiting[id(self)] = blocker
            try:
                database.ended.wait(remaining)
            finally:
                database.waiting.pop(id(self), None)

    def _waits_for_me(self, blocker: MemoryTransaction) -> bool:
        """Whether `blocker` waits, directly or through others, for this transaction."""
        current: MemoryTransaction | None = blocker
        for _ in range(len(self.database.waiting) + 1):
            if current is None:
                return False
            if current is self:
                return True
            current = self.database.waiting.get(id(current))
        return False

    def _claim(self, table: str, claims: Iterable[KeyValue]) -> None:
        for name, value in claims:
            claim = (table, name, value)
            self.database.claims[claim] = self
            self.claimed.append(claim)

    def _release_claims(self, keep: Overlay | None = None) -> None:
        """Give up every claim, except those of rows still inserted in `keep`."""
        database = self.database
        with database.lock:
            for claim in self.claimed:
                if database.claims.get(claim) is self:
                    del database.claims[claim]
            self.claimed = []
            for table, pending in (keep or {}).items():
                rules = database.rules[table]
                for write in pending.values():
                    if write.row is not None and write.base_version is None:
                        self._claim(table, _claims_of(rules, write.row))
            database.ended.notify_all()

    # -- savepoints ---------------------------------------------------------------------------
    def savepoint(self) -> Overlay:
        return {table: {k: _Write(w.row, w.base_version) for k, w in rows.items()}
                for table, rows in self.writes.items()}

    def rollback_to(self, snapshot: Overlay) -> None:
        self.writes = snapshot
        self._release_claims(keep=snapshot)

    # -- commit -------------------------------------------------------------------------------
    def commit(self) -> None:
        database = self.database
        with database.lock:
            self._cascade_to_committed()
            for table, pending in self.writes.items():
                committed = database.tables[table]
                rules = database.rules[table]
                for key, write in pending.items():
                    current = committed.get(key)
                    current_version = current.version if current is not None else None
                    if current_version != write.base_version:
                        if write.base_version is None:
                            raise _taken(rules, ("id", (key,)))
                        raise ConcurrencyConflict(rules.entity, key, write.base_version)
                written = [write.row for write in pending.values() if write.row is not None]
                others = (row for key, row in committed.items() if key not in pending)
                self._check_unique(table, written, others)
                clash = conflicting_parents(database.parents.get(table, []), written, self._final)
                if clash is not None:
                    raise clash
            for table, pending in self.writes.items():
                committed = database.tables[table]
                for key, write in pending.items():
                    if write.row is None:
                        committed.pop(key, None)
                    else:
                        committed[key] = write.row
            self.writes = {}
            self._release_claims()

    def _final(self, table: str, key: uuid.UUID) -> Entity | None:
        """A row as this commit would leave it (called with the lock held)."""
        pending = self.writes.get(table, {}).get(key)
        return pending.row if pending is not None else self.database.tables[table].get(key)

    def _cascade_to_committed(self) -> None:
        """Rows others committed since this transaction deleted their parent go with the parent, as
        PostgreSQL's cascade, run after their inserter's commit, would take them."""
        deleted = [(table, key) for table, pending in self.writes.items()
                   for key, write in pending.items() if write.row is None]
        if not deleted:
            return

        def committed_rows(table: str) -> Iterable[Entity]:
            pending = self.writes.get(table, {})
            return [row for key, row in self.database.tables[table].items() if key not in pending]

        for table, key in deleted:
            gone = self.database.tables[table].get(key)
            if gone is not None:
                for child_table, child in list(cascade(self.database.children_of, table, gone, committed_rows)):
                    self.writes.setdefault(child_table, {})[child.id] = _Write(None, child.version)

    def rollback(self) -> None:
        self.writes = {}
        if self.claimed:
            self._release_claims()


def _keys_of(rules: RecordSchema[Any], row: Entity) -> Iterator[KeyValue]:
    """The unique keys `row` holds (a partial key only when it binds the row). A key with a NULL in
    it holds nothing, as in SQL: NULLs are distinct from each other in a unique index."""
    for name, key in rules.unique_keys.items():
        if key.binds(row):
            value = key.value_of(row)
            if None not in value:
                yield name, value


def _taken(rules: RecordSchema[Any], key: KeyValue) -> Conflict:
    return Conflict(rules.entity, taken_detail(*key))


def _claims_of(rules: RecordSchema[Any], row: Entity) -> Iterator[KeyValue]:
    yield "id", (row.id,)
    yield from _keys_of(rules, row)
