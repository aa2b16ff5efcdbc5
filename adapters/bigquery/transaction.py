"""A BigQuery transaction: writes buffered in it, reads overlaid on the committed state.

Reads see the committed state (each read asks BigQuery) through the transaction's own pending
writes, as the in-memory store's overlay does; the rules of `adapters.memory.querying` decide which
pending rows a read matches and where they sort, so both sides agree. Savepoints are copies of the
buffer; a rollback drops it. Nothing reaches BigQuery before the commit, which publishes everything
at once or nothing (`adapters/bigquery/publish.py`).

Every statement is confined to the transaction's tenant: the processing tables are tenant-scoped,
and from system scope every read and write raises `TenantScopeRequired` before anything is sent.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

from adapters.bigquery.buffer import Committed, Overlay, Write, claimed_keys, copy_overlay, holds_same_key
from adapters.bigquery.database import BigQueryDatabase
from adapters.bigquery.keys import holds_any_sql
from adapters.bigquery.querying import Parameters, condition_sql, current_sql, keyset_sql, order_sql
from adapters.bigquery.schema import TableDefinition
from adapters.memory import querying
from adapters.records.store import Query, next_version
from domain.shared.entity import Entity
from domain.shared.errors import ConcurrencyConflict, NotFound, StorageError, UnitOfWorkInactive
from domain.shared.filters import Condition
from domain.shared.scope import TenantScope

E = TypeVar("E", bound=Entity)


@dataclass(slots=True)
class BigQueryTransaction:
    database: BigQueryDatabase
    scope: TenantScope
    writes: Overlay = field(default_factory=dict)
    closed: bool = False
    recent: dict[tuple[str, uuid.UUID], Committed | None] = field(default_factory=dict)
    """The last committed state this transaction read of each id (None: no row). A write right
    after a read (the rules read, check, then write) uses it instead of reading again: if the record
    changed in between, publishing finds the base stale. Emptied by commit and rollback."""

    # -- helpers ------------------------------------------------------------------------------
    def tenant(self, definition: TableDefinition[Any]) -> uuid.UUID:
        """The organization every statement is confined to (`TenantScopeRequired` from system scope)."""
        if self.closed:
            raise UnitOfWorkInactive("use repositories inside `with uow:`")
        tenant = definition.record.scope_value(self.scope)
        if tenant is None:  # pragma: no cover - every processing table is tenant-scoped
            raise StorageError(f"{definition.name} is not tenant-scoped")
        return uuid.UUID(str(tenant))

    def _run(self, sql: str, params: Parameters) -> list[dict[str, Any]]:
        return self.database.runner.run(sql, params).rows

    def pending(self, definition: TableDefinition[Any]) -> dict[uuid.UUID, Write]:
        return self.writes.get(definition.name, {})

    def _committed(self, definition: TableDefinition[E], tenant: uuid.UUID, where: str,
                   params: Parameters) -> dict[uuid.UUID, Committed]:
        """Current committed versions (tombstones included) of the records `where` selects."""
        current = current_sql(self.database.settings, definition, params, tenant)
        sql = f"SELECT r.* FROM ({current}) AS r WHERE {where}"
        found: dict[uuid.UUID, Committed] = {}
        for row in self._run(sql, params):
            entity = definition.from_row(row)
            found[entity.id] = Committed(None if row["deleted"] else entity, int(row["row_version"]))
        return found

    def _remember(self, definition: TableDefinition[E], row: Mapping[str, Any]) -> E:
        """The record of a current, live committed row; noted as the last read of its id (the note
        is only ever handed out copied)."""
        entity = definition.from_row(row)
        self.recent[(definition.name, entity.id)] = Committed(entity, int(row["row_version"]))
        return entity

    def _lookup(self, definition: TableDefinition[E], tenant: uuid.UUID,
                keys: Sequence[uuid.UUID]) -> dict[uuid.UUID, Committed]:
        params = Parameters()
        ids = params.array("STRING", [str(key) for key in keys])
        return self._committed(definition, tenant, f"r.id IN UNNEST({ids})", params)

    # -- reads --------------------------------------------------------------------------------
    def current(self, definition: TableDefinition[E], key: uuid.UUID, *,
                for_write: bool = False) -> tuple[E | None, int | None]:
        """The visible record with this id, and the committed `row_version` a write to it would
        replace (None when the buffer already holds a write to it). `for_write`: the last read of
        the id may answer instead of a new one."""
        tenant = self.tenant(definition)
        pending = self.pending(definition).get(key)
        if pending is not None:
            return (None if pending.deleted else cast(E, copy.deepcopy(pending.row))), None
        memo = (definition.name, key)
        if for_write and memo in self.recent:
            committed = self.recent[memo]
        else:
            committed = self.recent[memo] = self._lookup(definition, tenant, [key]).get(key)
        if committed is None:
            return None, 0
        return cast(E | None, copy.deepcopy(committed.row)), committed.row_version

    def _current_for_write(self, definition: TableDefinition[E], key: uuid.UUID,
                           version: int | None) -> tuple[E | None, int | None]:
        """`current` for a write expecting `version`: the last read answers, unless it disagrees
        with the caller, who may have read a newer version since; then BigQuery is asked again."""
        current, base = self.current(definition, key, for_write=True)
        if base is not None and (current is None or (version is not None and current.version != version)):
            self.recent.pop((definition.name, key), None)
            current, base = self.current(definition, key)
        return current, base

    def get(self, definition: TableDefinition[E], key: uuid.UUID) -> E | None:
        return self.current(definition, key)[0]

    def _local(self, definition: TableDefinition[E], conditions: Sequence[Condition],
               any_of: Sequence[Condition]) -> list[E]:
        rows = [cast(E, w.row) for w in self.pending(definition).values() if not w.deleted]
        rows = querying.select(rows, conditions)
        if any_of:
            rows = [row for row in rows if any(querying.matches(row, condition) for condition in any_of)]
        return rows

    def _where(self, definition: TableDefinition[Any], params: Parameters, conditions: Sequence[Condition],
               any_of: Sequence[Condition]) -> list[str]:
        where = ["NOT r.deleted", *(condition_sql(definition, params, c) for c in conditions)]
        if any_of:
            where.append("(" + " OR ".join(condition_sql(definition, params, c) for c in any_of) + ")")
        pending = self.pending(definition)
        if pending:  # the buffer's version of these records replaces the committed one
            where.append(f"r.id NOT IN UNNEST({params.array('STRING', [str(key) for key in pending])})")
        return where

    def select(self, definition: TableDefinition[E], query: Query) -> list[E]:
        """The visible records matching every condition (and one of `any_of`), in `sort` order,
        strictly after the keyset position `after`, from `offset`, at most `limit`."""
        tenant = self.tenant(definition)
        sort, limit, offset, after = query.sort, query.limit, query.offset, query.after
        local = self._local(definition, query.conditions, query.any_of)
        if after is not None:
            local = [row for row in local if querying.after(row, sort, after)]
        params = Parameters()
        current = current_sql(self.database.settings, definition, params, tenant)
        where = self._where(definition, params, query.conditions, query.any_of)
        if after is not None:
            where.append(keyset_sql(definition, params, sort, after))
        sql = (f"SELECT r.* FROM ({current}) AS r WHERE {' AND '.join(where)} "
               f"ORDER BY {order_sql(definition, sort)}")
        if limit is not None:
            if local:  # merged below: the first offset + limit committed rows may all be needed
                sql += f" LIMIT {params.scalar('INT64', offset + limit)}"
            else:
                sql += f" LIMIT {params.scalar('INT64', limit)} OFFSET {params.scalar('INT64', offset)}"
        rows = [self._remember(definition, row) for row in self._run(sql, params)]
        if not local:
            return rows if limit is not None or not offset else rows[offset:]
        merged = querying.order([*rows, *(copy.deepcopy(row) for row in local)], sort)
        return merged[offset: None if limit is None else offset + limit]

    def count(self, definition: TableDefinition[Any], conditions: Sequence[Condition]) -> int:
        tenant = self.tenant(definition)
        local = self._local(definition, conditions, ())
        params = Parameters()
        current = current_sql(self.database.settings, definition, params, tenant)
        where = self._where(definition, params, conditions, ())
        [row] = self._run(f"SELECT COUNT(*) AS n FROM ({current}) AS r WHERE {' AND '.join(where)}", params)
        return int(row["n"]) + len(local)

    def count_by(self, definition: TableDefinition[Any], field_name: str) -> dict[Any, int]:
        tenant = self.tenant(definition)
        column = definition.column(field_name)
        params = Parameters()
        current = current_sql(self.database.settings, definition, params, tenant)
        where = self._where(definition, params, (), ())
        sql = (f"SELECT r.{column.name} AS value, COUNT(*) AS n FROM ({current}) AS r "
               f"WHERE {' AND '.join(where)} GROUP BY value")
        counts: dict[Any, int] = {column.decode(row["value"]): int(row["n"]) for row in self._run(sql, params)}
        for row in self._local(definition, (), ()):
            value = getattr(row, field_name)
            counts[value] = counts.get(value, 0) + 1
        return counts

    # -- writes -------------------------------------------------------------------------------
    def insert(self, definition: TableDefinition[E], rows: Sequence[E], *, skip_taken: bool = False) -> list[E]:
        """Buffer new records, all or none: an id or unique key a visible record holds (or an
        earlier row of `rows`) raises `Conflict`; with `skip_taken` such rows are left out
        (ON CONFLICT DO NOTHING). Returns the rows buffered. One query reads what could clash.

        A unit of work racing with this one on the same key is not waited for: whichever publishes
        its commit first wins, and the other's commit fails with `Conflict` (`publish.py`)."""
        tenant = self.tenant(definition)
        if not rows:
            return []
        pending = self.pending(definition)
        params = Parameters()
        ids = params.array("STRING", [str(row.id) for row in rows])
        clauses = [f"r.id IN UNNEST({ids})"]
        for key in definition.unique_keys.values():
            holders = [row for row in rows if key.binds(row)]
            if holders:
                clauses.append(holds_any_sql(definition, params, key, holders))
        committed = self._committed(definition, tenant, " OR ".join(clauses), params)
        visible: dict[uuid.UUID, Entity] = {
            key: found.row for key, found in committed.items() if found.row is not None and key not in pending}
        visible.update((key, write.row) for key, write in pending.items() if not write.deleted)
        taken_ids = set(visible)
        taken_keys = {(name, key.value_of(row)) for row in visible.values()
                      for name, key in definition.unique_keys.items() if key.binds(row)}
        accepted: list[E] = []
        for row in rows:
            claims = [(name, key.value_of(row)) for name, key in definition.unique_keys.items() if key.binds(row)]
            clash = "id" if row.id in taken_ids else next(
                (name for name, value in claims if (name, value) in taken_keys), None)
            if clash is not None:
                if skip_taken:
                    continue
                raise definition.taken(clash, row)
            taken_ids.add(row.id)
            taken_keys.update(claims)
            accepted.append(row)
        table = self.writes.setdefault(definition.name, {})
        for row in accepted:
            earlier = table.get(row.id)
            if earlier is not None:  # deleted earlier in this unit of work: the same base goes on
                table[row.id] = Write(copy.deepcopy(row), False, earlier.base, earlier.base_version, earlier.base_row)
            else:
                found = committed.get(row.id)  # a tombstone, if anything: a visible id was refused
                table[row.id] = Write(copy.deepcopy(row), False, found.row_version if found else 0, None)
        return accepted

    def update(self, definition: TableDefinition[E], entity: E) -> E:
        """Buffer `entity` at the next version if the visible one still has its version."""
        current, base = self._current_for_write(definition, entity.id, entity.version)
        if current is None:
            raise NotFound(definition.entity, entity.id)
        if current.version != entity.version:
            raise ConcurrencyConflict(definition.entity, entity.id, entity.version)
        stored = next_version(entity)
        claimed = claimed_keys(definition.unique_keys, stored, current)
        if claimed:
            self._check_keys_free(definition, stored, claimed)
        self._stage(definition, stored, deleted=False, base=base, base_version=current.version, base_row=current)
        return stored

    def delete(self, definition: TableDefinition[E], key: uuid.UUID, expected_version: int | None) -> None:
        current, base = self._current_for_write(definition, key, expected_version)
        if current is None:
            raise NotFound(definition.entity, key)
        if expected_version is not None and current.version != expected_version:
            raise ConcurrencyConflict(definition.entity, key, expected_version)
        self._stage(definition, current, deleted=True, base=base, base_version=current.version, base_row=current)

    def _stage(self, definition: TableDefinition[Any], row: Entity, *, deleted: bool, base: int | None,
               base_version: int, base_row: Entity) -> None:
        table = self.writes.setdefault(definition.name, {})
        earlier = table.get(row.id)
        if earlier is not None:  # the buffer had it: its base stands
            earlier.row, earlier.deleted = copy.deepcopy(row), deleted
            return
        table[row.id] = Write(copy.deepcopy(row), deleted, base or 0, base_version, base_row)

    def _check_keys_free(self, definition: TableDefinition[Any], row: Entity, names: Sequence[str]) -> None:
        """`Conflict` if another visible record holds one of the keys `names` of `row`."""
        tenant = self.tenant(definition)
        pending = self.pending(definition)
        others = [w.row for key, w in pending.items() if not w.deleted and key != row.id]
        keys = [(name, definition.unique_keys[name]) for name in names]
        for name, key in keys:  # the buffer first: it needs no query
            if any(holds_same_key(key, other, row) for other in others):
                raise definition.taken(name, row)
        params = Parameters()
        clauses = [holds_any_sql(definition, params, key, [row]) for _, key in keys]
        skip = params.array("STRING", [str(key) for key in {*pending, row.id}])
        where = f"NOT r.deleted AND r.id NOT IN UNNEST({skip}) AND ({' OR '.join(clauses)})"
        for found in self._committed(definition, tenant, where, params).values():
            for name, key in keys:
                if found.row is not None and holds_same_key(key, found.row, row):
                    raise definition.taken(name, row)

    # -- savepoints and the end ---------------------------------------------------------------
    def savepoint(self) -> Overlay:
        return copy_overlay(self.writes)

    def rollback_to(self, snapshot: Overlay) -> None:
        self.writes = snapshot

    @contextmanager
    def atomically(self) -> Iterator[None]:
        """A savepoint around the block: an exception inside puts the buffer back as it was."""
        kept = self.savepoint()
        try:
            yield
        except BaseException:
            self.writes = kept
            raise

    def rollback(self) -> None:
        self.writes = {}
        self.recent = {}

    def close(self) -> None:
        """The unit of work's block ended: anything not committed is dropped, and nothing more is read."""
        self.rollback()
        self.closed = True

    def staged(self) -> dict[str, dict[uuid.UUID, Write]]:
        """The writes a commit publishes, by table: all but the records both created and deleted in
        this transaction. The reads so far are no base to write on after the commit: forgotten."""
        self.recent = {}
        staged = {name: {key: w for key, w in writes.items() if not (w.deleted and w.base == 0)}
                  for name, writes in self.writes.items()}
        return {name: writes for name, writes in staged.items() if writes}

    def published(self) -> None:
        """The commit is durable (or had nothing to publish): the buffer starts empty again."""
        self.writes = {}
