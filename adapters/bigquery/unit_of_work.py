"""The BigQuery unit of work: writes buffered in the unit of work, reads overlaid on the committed
state, and a commit that publishes everything at once or nothing.

Reads see the committed state (each read asks BigQuery) through the unit of work's own pending
writes, as the in-memory store's overlay does; the rules of `adapters.memory.querying` decide which
pending rows a read matches and where they sort, so both sides agree. Savepoints are copies of the
buffer; a rollback drops it. Nothing reaches BigQuery before the commit.

The commit, every statement a query job whose values are all named parameters:

1. `INSERT` a pending row (committed_at NULL) into `processing_commits`;
2. `INSERT ... SELECT FROM UNNEST(@rows)` the new row versions of each table (500 per statement),
   each with `row_version = base + 1` and the commit's id. They are invisible: readers only see
   rows whose commit is committed;
3. publish, one `UPDATE processing_commits SET committed_at = CURRENT_TIMESTAMP() WHERE <this
   commit> AND committed_at IS NULL AND NOT EXISTS (<violations>)`. The violations are the
   compare-and-sets (every written id's current committed `row_version` is still the one the unit
   of work based its write on: 0 for a new id) and the unique keys (no committed live record outside
   this commit holds a key a written record holds, the partial deduplication key of executions
   included). One DML statement is atomic: the commit is published whole, or not at all.

When the publishing statement changes no row, a query names the violation: a stale version is
`ConcurrencyConflict`, a taken id or key `Conflict`, and the rows of step 2 stay invisible for ever
(harmless; a janitor may delete rows of commits pending for a day).

Why not one multi-statement transaction (BEGIN TRANSACTION ... COMMIT TRANSACTION)? Real BigQuery
takes query parameters in scripts, but the emulator does not bind them (`Values were not provided
for the following prepared statement parameters`), and a script with its values inlined as literals
would break the every-value-is-a-parameter rule. The publish-by-one-statement protocol needs neither.

Serialization. In the emulator every job runs to completion on one event loop: the publishing
statements of racing units of work run one after the other, and the second sees the first's commit.
In BigQuery, the publishing statement is a mutating DML statement (UPDATE), and two mutating
statements on one partition conflict: the later fails with "Could not serialize access ... due to
concurrent update" (BigQuery retries it, then `Runner` does, with jittered backoff) and re-evaluates
its checks on the new snapshot. `processing_commits` is range-partitioned by a tenant bucket, so every
publication of a tenant lands in one partition and conflicts with every concurrent one: two
`create_execution` calls of one payload racing in two units of work make exactly one execution.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar, cast

from adapters.bigquery import processing
from adapters.bigquery.client import BigQuerySettings, create_bigquery_client
from adapters.bigquery.querying import (
    Parameters,
    Runner,
    committed_sql,
    condition_sql,
    current_sql,
    keyset_sql,
    order_sql,
)
from adapters.bigquery.schema import (
    COMMITS,
    TABLES,
    TableDefinition,
    dataset_ref,
    ensure_schema,
    table_ref,
    tenant_bucket,
)
from adapters.clock import SystemClock
from adapters.memory import querying
from adapters.transactions import TransactionalUnitOfWork
from domain.processing.catalog import ProcessorCatalog
from domain.processing.processors import default_catalog
from domain.shared.entity import Entity
from domain.shared.errors import (
    ConcurrencyConflict,
    Conflict,
    NotFound,
    StorageError,
    StorageUnavailable,
    UnitOfWorkInactive,
    Unsupported,
)
from domain.shared.filters import Condition
from domain.shared.scope import TenantScope
from domain.shared.sorting import Sort
from ports.clock import Clock
from ports.unit_of_work import REPOSITORY_ATTRIBUTES, UnitOfWork, UnitOfWorkFactory

if TYPE_CHECKING:
    from google.cloud import bigquery

E = TypeVar("E", bound=Entity)

INSERT_BATCH = 500
"""Row versions per INSERT statement (one STRUCT parameter each): far below the request size limit."""
PUBLISH_ATTEMPTS = 3
"""Publications that changed nothing although no check failed (the state moved meanwhile)."""


class BigQueryDatabase:
    """A client, its settings and the runner: shared by every unit of work of one factory."""

    def __init__(self, client: bigquery.Client, settings: BigQuerySettings, *, runner: Runner | None = None) -> None:
        self.client = client
        self.settings = settings
        self.runner = runner if runner is not None else Runner(client, settings)
        dataset_ref(settings)  # fail now on a bad project or dataset name

    @classmethod
    def connect(cls, settings: BigQuerySettings) -> BigQueryDatabase:
        return cls(create_bigquery_client(settings), settings)

    def ensure_schema(self) -> None:
        ensure_schema(self.client, self.settings)


@dataclass(slots=True)
class _Write:
    row: Entity
    """The record as written; for a delete, as it was (a tombstone keeps its columns)."""
    deleted: bool
    base: int
    """The committed `row_version` this write replaces; 0: no committed row had the id."""
    base_version: int | None
    """The aggregate's version at `base` (None for a new id): what a stale write reports."""
    base_row: Entity | None = None
    """The committed record at `base` (None for a new id): the unique keys it held need no check."""

    def claims(self, definition: TableDefinition[Any]) -> list[str]:
        """The unique keys this write takes that its committed base did not hold: the ones to check.
        A key the base held stays this record's while the base is current (the compare-and-set), and
        no other committed record can hold it."""
        if self.deleted:
            return []
        base = self.base_row
        return [name for name, key in definition.unique_keys.items() if key.binds(self.row) and not (
            base is not None and key.binds(base) and key.value_of(base) == key.value_of(self.row))]

    def copy(self) -> _Write:
        return _Write(self.row, self.deleted, self.base, self.base_version, self.base_row)


Overlay = dict[str, dict[uuid.UUID, _Write]]
"""Pending writes by table and id; a savepoint is a copy of it."""


@dataclass(frozen=True, slots=True)
class _Committed:
    row: Entity | None
    """None: the current version is a tombstone."""
    row_version: int


@dataclass(slots=True)
class BigQueryTransaction:
    database: BigQueryDatabase
    scope: TenantScope
    writes: Overlay = field(default_factory=dict)
    closed: bool = False
    recent: dict[tuple[str, uuid.UUID], _Committed | None] = field(default_factory=dict)
    """The last committed state this transaction read of each id (None: no row). A write right
    after a read (the rules read, check, then write) uses it instead of reading again: if the record
    changed in between, publishing finds the base stale. Emptied by commit and rollback."""

    # -- helpers ------------------------------------------------------------------------------
    def live(self) -> BigQueryTransaction:
        if self.closed:
            raise UnitOfWorkInactive("use repositories inside `with uow:`")
        return self

    def tenant(self, definition: TableDefinition[Any]) -> uuid.UUID:
        """The organization every statement is confined to (`TenantScopeRequired` from system scope)."""
        tenant = definition.record.scope_value(self.scope)
        if tenant is None:  # pragma: no cover - every processing table is tenant-scoped
            raise StorageError(f"{definition.name} is not tenant-scoped")
        return uuid.UUID(str(tenant))

    def _run(self, sql: str, params: Parameters) -> list[dict[str, Any]]:
        return self.database.runner.run(sql, params).rows

    def _pending(self, definition: TableDefinition[Any]) -> dict[uuid.UUID, _Write]:
        return self.writes.get(definition.name, {})

    def _committed(self, definition: TableDefinition[E], tenant: uuid.UUID, where: str,
                   params: Parameters) -> dict[uuid.UUID, _Committed]:
        """Current committed versions (tombstones included) of the records `where` selects."""
        current = current_sql(self.database.settings, definition, params, tenant)
        sql = f"SELECT r.* FROM ({current}) AS r WHERE {where}"
        found: dict[uuid.UUID, _Committed] = {}
        for row in self._run(sql, params):
            entity = definition.from_row(row)
            found[entity.id] = _Committed(None if row["deleted"] else entity, int(row["row_version"]))
        return found

    def _remember(self, definition: TableDefinition[E], row: Mapping[str, Any]) -> E:
        """The record of a current, live committed row; noted as the last read of its id (the note
        is only ever handed out copied)."""
        entity = definition.from_row(row)
        self.recent[(definition.name, entity.id)] = _Committed(entity, int(row["row_version"]))
        return entity

    def _lookup(self, definition: TableDefinition[E], tenant: uuid.UUID,
                keys: Sequence[uuid.UUID]) -> dict[uuid.UUID, _Committed]:
        params = Parameters()
        ids = params.array("STRING", [str(key) for key in keys])
        return self._committed(definition, tenant, f"r.id IN UNNEST({ids})", params)

    def _key_match(self, definition: TableDefinition[Any], params: Parameters, name: str,
                   rows: Sequence[Entity]) -> str:
        """SQL: the record `r` holds the unique key `name` of one of `rows` (key columns only)."""
        key = definition.unique_keys[name]
        columns = [definition.column(attribute) for attribute in key.fields]
        values = params.structs([(f"f{i}", column.parameter_type, False) for i, column in enumerate(columns)],
                                [[column.encode(getattr(row, column.name)) for column in columns] for row in rows])
        equal = " AND ".join(f"k.f{i} = r.{column.name}" for i, column in enumerate(columns))
        return f"EXISTS (SELECT 1 FROM UNNEST({values}) AS k WHERE {equal})"

    # -- reads --------------------------------------------------------------------------------
    def current(self, definition: TableDefinition[E], key: uuid.UUID, *,
                for_write: bool = False) -> tuple[E | None, int | None]:
        """The visible record with this id, and the committed `row_version` a write to it would
        replace (None when the buffer already holds a write to it). `for_write`: the last read of
        the id may answer instead of a new one."""
        tenant = self.tenant(definition)
        pending = self._pending(definition).get(key)
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
        rows = [cast(E, w.row) for w in self._pending(definition).values() if not w.deleted]
        rows = querying.select(rows, conditions)
        if any_of:
            rows = [row for row in rows if any(querying.matches(row, condition) for condition in any_of)]
        return rows

    def _where(self, definition: TableDefinition[Any], params: Parameters, conditions: Sequence[Condition],
               any_of: Sequence[Condition]) -> list[str]:
        where = ["NOT r.deleted", *(condition_sql(definition, params, c) for c in conditions)]
        if any_of:
            where.append("(" + " OR ".join(condition_sql(definition, params, c) for c in any_of) + ")")
        pending = self._pending(definition)
        if pending:  # the buffer's version of these records replaces the committed one
            where.append(f"r.id NOT IN UNNEST({params.array('STRING', [str(key) for key in pending])})")
        return where

    def select(self, definition: TableDefinition[E], conditions: Sequence[Condition], sort: Sort, *,
               limit: int | None = None, offset: int = 0, after: Sequence[Any] | None = None,
               any_of: Sequence[Condition] = ()) -> list[E]:
        """The visible records matching every condition (and one of `any_of`), in `sort` order,
        strictly after the keyset position `after`, from `offset`, at most `limit`."""
        tenant = self.tenant(definition)
        local = self._local(definition, conditions, any_of)
        if after is not None:
            local = [row for row in local if querying.after(row, sort, after)]
        params = Parameters()
        current = current_sql(self.database.settings, definition, params, tenant)
        where = self._where(definition, params, conditions, any_of)
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
        (ON CONFLICT DO NOTHING). Returns the rows buffered. One query reads what could clash."""
        tenant = self.tenant(definition)
        if not rows:
            return []
        pending = self._pending(definition)
        params = Parameters()
        ids = params.array("STRING", [str(row.id) for row in rows])
        clauses = [f"r.id IN UNNEST({ids})"]
        for name, key in definition.unique_keys.items():
            holders = [row for row in rows if key.binds(row)]
            if holders:
                clauses.append(self._key_match(definition, params, name, holders))
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
            clash = next((claim for claim in claims if claim in taken_keys), None)
            if row.id in taken_ids or clash is not None:
                if skip_taken:
                    continue
                if row.id in taken_ids:
                    raise Conflict(definition.entity, f"id {row.id} is already taken")
                assert clash is not None
                raise _key_taken(definition.entity, clash)
            taken_ids.add(row.id)
            taken_keys.update(claims)
            accepted.append(row)
        table = self.writes.setdefault(definition.name, {})
        for row in accepted:
            earlier = table.get(row.id)
            if earlier is not None:  # deleted earlier in this unit of work: the same base goes on
                table[row.id] = _Write(copy.deepcopy(row), False, earlier.base, earlier.base_version, earlier.base_row)
            else:
                found = committed.get(row.id)  # a tombstone, if anything: a visible id was refused
                table[row.id] = _Write(copy.deepcopy(row), False, found.row_version if found else 0, None)
        return accepted

    def update(self, definition: TableDefinition[E], entity: E) -> E:
        """Buffer `entity` at the next version if the visible one still has its version."""
        current, base = self._current_for_write(definition, entity.id, entity.version)
        if current is None:
            raise NotFound(definition.entity, entity.id)
        if current.version != entity.version:
            raise ConcurrencyConflict(definition.entity, entity.id, entity.version)
        stored = entity.model_copy(update={"version": entity.version + 1})
        claimed = [name for name, key in definition.unique_keys.items()
                   if key.binds(stored) and not (key.binds(current) and key.value_of(current) == key.value_of(stored))]
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
        table[row.id] = _Write(copy.deepcopy(row), deleted, base or 0, base_version, base_row)

    def _check_keys_free(self, definition: TableDefinition[Any], row: Entity, names: Sequence[str]) -> None:
        tenant = self.tenant(definition)
        pending = self._pending(definition)
        others = [w.row for key, w in pending.items() if not w.deleted and key != row.id]
        for name in names:
            key = definition.unique_keys[name]
            if any(key.binds(other) and key.value_of(other) == key.value_of(row) for other in others):
                raise _key_taken(definition.entity, (name, key.value_of(row)))
        params = Parameters()
        clauses = [self._key_match(definition, params, name, [row]) for name in names]
        skip = params.array("STRING", [str(key) for key in {*pending, row.id}])
        where = f"NOT r.deleted AND r.id NOT IN UNNEST({skip}) AND ({' OR '.join(clauses)})"
        for found in self._committed(definition, tenant, where, params).values():
            for name in names:
                key = definition.unique_keys[name]
                if found.row is not None and key.binds(found.row) and key.value_of(found.row) == key.value_of(row):
                    raise _key_taken(definition.entity, (name, key.value_of(row)))

    # -- savepoints ---------------------------------------------------------------------------
    def savepoint(self) -> Overlay:
        return {table: {key: w.copy() for key, w in writes.items()}
                for table, writes in self.writes.items()}

    def rollback_to(self, snapshot: Overlay) -> None:
        self.writes = snapshot

    def rollback(self) -> None:
        self.writes = {}
        self.recent = {}

    # -- commit -------------------------------------------------------------------------------
    def commit(self) -> None:
        staged = {name: {key: w for key, w in writes.items() if not (w.deleted and w.base == 0)}
                  for name, writes in self.writes.items()}
        staged = {name: writes for name, writes in staged.items() if writes}
        self.recent = {}  # after this commit, the reads before it are no base to write on
        if not staged:
            self.writes = {}
            return
        tenant = self.tenant(TABLES[next(iter(staged))])
        commit_id = uuid.uuid4().hex
        settings = self.database.settings
        params = Parameters()
        self.database.runner.run(
            f"INSERT INTO {table_ref(settings, COMMITS)} (organization_id, tenant_bucket, commit_id, created_at) "
            f"VALUES ({params.scalar('STRING', str(tenant))}, {params.scalar('INT64', tenant_bucket(tenant))}, "
            f"{params.scalar('STRING', commit_id)}, CURRENT_TIMESTAMP())", params)
        for name, writes in staged.items():
            items = list(writes.values())
            for start in range(0, len(items), INSERT_BATCH):
                self._insert_versions(TABLES[name], items[start: start + INSERT_BATCH], commit_id)
        self._publish(staged, tenant, commit_id)
        self.writes = {}

    def _insert_versions(self, definition: TableDefinition[Any], writes: Sequence[_Write], commit_id: str) -> None:
        params = Parameters()
        fields = [(column.name, column.parameter_type, column.repeated) for column in definition.columns]
        fields += [("row_version", "INT64", False), ("deleted", "BOOL", False)]
        rows = [[*definition.to_row(w.row).values(), w.base + 1, w.deleted] for w in writes]
        source = params.structs(fields, rows)
        commit = params.scalar("STRING", commit_id)
        names = [column.name for column in definition.columns]
        values = [f"PARSE_JSON(s.{column.name})" if column.bigquery_type == "JSON" else f"s.{column.name}"
                  for column in definition.columns]
        self.database.runner.run(
            f"INSERT INTO {table_ref(self.database.settings, definition.name)} "
            f"({', '.join(names)}, row_version, deleted, commit_id) "
            f"SELECT {', '.join(values)}, s.row_version, s.deleted, {commit} FROM UNNEST({source}) AS s", params)

    def _violations(self, staged: Mapping[str, Mapping[uuid.UUID, _Write]], tenant: uuid.UUID,
                    params: Parameters) -> tuple[str, dict[str, tuple[str, str, str | None]]]:
        """SQL selecting (what, id) for every failed check, and what each label means."""
        settings = self.database.settings
        checks: list[str] = []
        labels: dict[str, tuple[str, str, str | None]] = {}

        def label(table: str, kind: str, key: str | None = None) -> str:
            text = f"{table}:{kind}:{key or ''}"
            labels[text] = (table, kind, key)
            return params.scalar("STRING", text)

        for name, writes in staged.items():
            definition = TABLES[name]
            # Stale: a committed version of the id newer than the base. Row versions only grow and
            # each is published once, so this is "the current version is not the base".
            expected = params.structs([("id", "STRING", False), ("base", "INT64", False)],
                                      [[str(key), w.base] for key, w in writes.items()])
            org = params.scalar("STRING", str(tenant))
            checks.append(
                f"SELECT {label(name, 'stale')} AS what, e.id AS id FROM UNNEST({expected}) AS e "
                f"JOIN {table_ref(settings, definition.name)} AS t ON t.id = e.id AND t.row_version > e.base "
                f"WHERE t.organization_id = {org} AND t.commit_id IN ({committed_sql(settings, params, tenant)})")
            written: str | None = None
            for key_name, key in definition.unique_keys.items():
                holders = [w.row for w in writes.values() if key_name in w.claims(definition)]
                if not holders:
                    continue
                if written is None:
                    written = params.array("STRING", [str(key) for key in writes])
                columns = [definition.column(attribute) for attribute in key.fields]
                values = params.structs(
                    [("id", "STRING", False), *((f"f{i}", c.parameter_type, False) for i, c in enumerate(columns))],
                    [[str(row.id), *(c.encode(getattr(row, c.name)) for c in columns)] for row in holders])
                equal = " AND ".join(f"r.{c.name} = k.f{i}" for i, c in enumerate(columns))
                partial = ""
                if key.only is not None:
                    column = definition.column(key.only[0])
                    partial = f" AND r.{column.name} IN UNNEST({params.array(column.parameter_type, key.only[1])})"
                current = current_sql(settings, definition, params, tenant)
                checks.append(
                    f"SELECT {label(name, 'key', key_name)} AS what, k.id AS id FROM UNNEST({values}) AS k "
                    f"JOIN ({current}) AS r ON {equal} "
                    f"WHERE NOT r.deleted AND r.id NOT IN UNNEST({written}){partial}")
        return " UNION ALL ".join(checks), labels

    def _publish(self, staged: Mapping[str, Mapping[uuid.UUID, _Write]], tenant: uuid.UUID, commit_id: str) -> None:
        commits = table_ref(self.database.settings, COMMITS)
        for _ in range(PUBLISH_ATTEMPTS):
            params = Parameters()
            violations, _labels = self._violations(staged, tenant, params)
            this = (f"pc.tenant_bucket = {params.scalar('INT64', tenant_bucket(tenant))} AND "
                    f"pc.organization_id = {params.scalar('STRING', str(tenant))} AND "
                    f"pc.commit_id = {params.scalar('STRING', commit_id)}")
            result = self.database.runner.run(
                f"UPDATE {commits} AS pc SET committed_at = CURRENT_TIMESTAMP() WHERE {this} "
                f"AND pc.committed_at IS NULL AND NOT EXISTS (SELECT 1 FROM ({violations}) AS v)", params)
            if result.affected:
                return
            # Nothing changed: a check failed, or a retried statement had published already.
            params = Parameters()
            violations, labels = self._violations(staged, tenant, params)
            published = params.scalar("STRING", "published")
            this = (f"pc.tenant_bucket = {params.scalar('INT64', tenant_bucket(tenant))} AND "
                    f"pc.organization_id = {params.scalar('STRING', str(tenant))} AND "
                    f"pc.commit_id = {params.scalar('STRING', commit_id)}")
            rows = self.database.runner.run(
                f"SELECT {published} AS what, pc.commit_id AS id FROM {commits} AS pc "
                f"WHERE {this} AND pc.committed_at IS NOT NULL UNION ALL {violations} "
                f"LIMIT {params.scalar('INT64', 10)}", params).rows
            if any(row["what"] == "published" for row in rows):
                return
            if rows:
                table, kind, key_name = labels[rows[0]["what"]]
                raise _refusal(TABLES[table], staged[table], kind, key_name, uuid.UUID(rows[0]["id"]))
        raise StorageUnavailable(f"commit {commit_id} could not be published: the data kept changing; retry")


def _key_taken(entity: str, claim: tuple[str, tuple[Any, ...]]) -> Conflict:
    name, value = claim
    shown = value[0] if len(value) == 1 else value
    return Conflict(entity, f"{name} {shown!r} is already taken")


def _refusal(definition: TableDefinition[Any], writes: Mapping[uuid.UUID, _Write], kind: str, key_name: str | None,
             key: uuid.UUID) -> Conflict:
    write = writes[key]
    if kind == "key" and key_name is not None:
        unique = definition.unique_keys[key_name]
        return _key_taken(definition.entity, (key_name, unique.value_of(write.row)))
    if write.base_version is None:
        return Conflict(definition.entity, f"id {key} is already taken")
    return ConcurrencyConflict(definition.entity, key, write.base_version)


class UnsupportedRepository:
    """Stands in, inside the `with` block, for the repositories BigQuery does not store: it keeps
    the processing context only. Any use raises `Unsupported` naming the repository."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attribute: str) -> Any:
        if attribute.startswith("__"):
            raise AttributeError(attribute)
        raise Unsupported(f"the BigQuery unit of work has no {self._name} repository: it stores the processing "
                          f"context only (uow.processors, uow.executions)")


class BigQueryUnitOfWork(TransactionalUnitOfWork[BigQueryTransaction, Overlay]):
    """`processors` and `executions` on BigQuery. The other repositories of the port raise
    `Unsupported` inside the block (and `UnitOfWorkInactive` outside it, as on every backend)."""

    def __init__(self, database: BigQueryDatabase, scope: TenantScope, *, catalog: ProcessorCatalog | None = None,
                 clock: Clock | None = None) -> None:
        self._database = database
        self._catalog = catalog if catalog is not None else default_catalog()
        self._clock = clock if clock is not None else SystemClock()
        super().__init__(scope, backend_key=database)

    def _begin(self) -> BigQueryTransaction:
        return BigQueryTransaction(self._database, self.scope)

    def _commit(self, transaction: BigQueryTransaction) -> None:
        transaction.commit()

    def _rollback(self, transaction: BigQueryTransaction) -> None:
        transaction.rollback()

    def _restart(self, transaction: BigQueryTransaction) -> None:
        """Commit and rollback emptied the buffer: the same transaction goes on."""

    def _close(self, transaction: BigQueryTransaction) -> None:
        transaction.rollback()
        transaction.closed = True

    def _savepoint(self, transaction: BigQueryTransaction) -> Overlay:
        return transaction.savepoint()

    def _release(self, transaction: BigQueryTransaction, savepoint: Overlay) -> None:
        """Releasing keeps the writes: nothing to do."""

    def _rollback_to(self, transaction: BigQueryTransaction, savepoint: Overlay) -> None:
        transaction.rollback_to(savepoint)

    def _bind(self, transaction: BigQueryTransaction) -> None:
        for name in REPOSITORY_ATTRIBUTES:
            setattr(self, name, UnsupportedRepository(name))
        executions = processing.BigQueryExecutionRepository(transaction, self._catalog, self._clock)
        self.executions = executions
        self.processors = processing.BigQueryProcessorRepository(transaction, executions, self._catalog, self._clock)


class BigQueryUnitOfWorkFactory(UnitOfWorkFactory):
    """`catalog`: the processors `uow.processors` and `uow.executions` know (the shipped ones unless
    given); `clock`: where they take the time the processing ports do not pass."""

    def __init__(self, database: BigQueryDatabase, *, catalog: ProcessorCatalog | None = None,
                 clock: Clock | None = None) -> None:
        self.database = database
        self.catalog = catalog if catalog is not None else default_catalog()
        self.clock = clock if clock is not None else SystemClock()

    def __call__(self, scope: TenantScope) -> UnitOfWork:
        return BigQueryUnitOfWork(self.database, scope, catalog=self.catalog, clock=self.clock)

