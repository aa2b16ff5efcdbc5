"""The BigQuery commit: a transaction's buffered writes published at once, or not at all.

Every statement is a query job whose values are all named parameters:

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

Serialization. Within one process, the publishing statements of one tenant's partition take a lock
(`_publishing`): the emulator may evaluate two concurrent UPDATEs on one snapshot, so without it two
racing appends could both pass their checks. Across processes, in BigQuery, the publishing
statement is a mutating DML statement (UPDATE), and two mutating statements on one partition
conflict: the later fails with "Could not serialize access ... due to concurrent update" (BigQuery
retries it, then `Runner` does, with jittered backoff) and re-evaluates its checks on the new
snapshot. `processing_commits` is range-partitioned by a tenant bucket, so every publication of a
tenant lands in one partition and conflicts with every concurrent one: two `create_execution` calls
of one payload racing in two units of work make exactly one execution.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from adapters.bigquery.buffer import Write
from adapters.bigquery.database import BigQueryDatabase
from adapters.bigquery.keys import key_values, partial_sql
from adapters.bigquery.querying import Parameters, committed_sql, current_sql
from adapters.bigquery.schema import COMMITS, TABLES, TableDefinition, table_ref, tenant_bucket
from adapters.bigquery.transaction import BigQueryTransaction
from domain.shared.errors import ConcurrencyConflict, Conflict, StorageUnavailable

INSERT_BATCH = 500
"""Row versions per INSERT statement (one STRUCT parameter each): far below the request size limit."""
PUBLISH_ATTEMPTS = 3
"""Publications that changed nothing although no check failed (the state moved meanwhile)."""

Staged = Mapping[str, Mapping[uuid.UUID, Write]]
"""The writes of one commit, by table and id."""
Labels = dict[str, tuple[str, str, str | None]]
"""What each label of the violations query means: (table, "stale" or "key", key name)."""


def commit(transaction: BigQueryTransaction) -> None:
    """Publish the transaction's writes (steps 1 to 3), or raise and publish nothing."""
    staged = transaction.staged()
    if staged:
        database = transaction.database
        tenant = transaction.tenant(TABLES[next(iter(staged))])
        commit_id = uuid.uuid4().hex
        params = Parameters()
        database.runner.run(
            f"INSERT INTO {table_ref(database.settings, COMMITS)} (organization_id, tenant_bucket, commit_id, "
            f"created_at) VALUES ({params.scalar('STRING', str(tenant))}, "
            f"{params.scalar('INT64', tenant_bucket(tenant))}, {params.scalar('STRING', commit_id)}, "
            f"CURRENT_TIMESTAMP())", params)
        for name, writes in staged.items():
            items = list(writes.values())
            for start in range(0, len(items), INSERT_BATCH):
                _insert_versions(database, TABLES[name], items[start: start + INSERT_BATCH], commit_id)
        _publish(database, staged, tenant, commit_id)
    transaction.published()


def _insert_versions(database: BigQueryDatabase, definition: TableDefinition[Any], writes: Sequence[Write],
                     commit_id: str) -> None:
    params = Parameters()
    fields = [(column.name, column.parameter_type, column.repeated) for column in definition.columns]
    fields += [("row_version", "INT64", False), ("deleted", "BOOL", False)]
    rows = [[*definition.to_row(w.row).values(), w.base + 1, w.deleted] for w in writes]
    source = params.structs(fields, rows)
    commit_ref = params.scalar("STRING", commit_id)
    names = [column.name for column in definition.columns]
    values = [f"PARSE_JSON(s.{column.name})" if column.bigquery_type == "JSON" else f"s.{column.name}"
              for column in definition.columns]
    database.runner.run(
        f"INSERT INTO {table_ref(database.settings, definition.name)} "
        f"({', '.join(names)}, row_version, deleted, commit_id) "
        f"SELECT {', '.join(values)}, s.row_version, s.deleted, {commit_ref} FROM UNNEST({source}) AS s", params)


def _violations(database: BigQueryDatabase, staged: Staged, tenant: uuid.UUID,
                params: Parameters) -> tuple[str, Labels]:
    """SQL selecting (what, id) for every failed check, and what each label means."""
    settings = database.settings
    checks: list[str] = []
    labels: Labels = {}

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
            holders = [w.row for w in writes.values() if key_name in w.claims(definition.unique_keys)]
            if not holders:
                continue
            if written is None:
                written = params.array("STRING", [str(key) for key in writes])
            values, equal = key_values(definition, params, key, holders, with_id=True)
            partial = partial_sql(definition, params, key)
            current = current_sql(settings, definition, params, tenant)
            checks.append(
                f"SELECT {label(name, 'key', key_name)} AS what, k.id AS id FROM UNNEST({values}) AS k "
                f"JOIN ({current}) AS r ON {equal} "
                f"WHERE NOT r.deleted AND r.id NOT IN UNNEST({written}){partial}")
    return " UNION ALL ".join(checks), labels


def _this_commit(params: Parameters, tenant: uuid.UUID, commit_id: str) -> str:
    """SQL: `pc` is this commit's row of `processing_commits` (its partition named first)."""
    return (f"pc.tenant_bucket = {params.scalar('INT64', tenant_bucket(tenant))} AND "
            f"pc.organization_id = {params.scalar('STRING', str(tenant))} AND "
            f"pc.commit_id = {params.scalar('STRING', commit_id)}")


_PUBLISHING: dict[tuple[str, int], threading.Lock] = {}
_PUBLISHING_GUARD = threading.Lock()


def _publishing(commits: str, tenant: uuid.UUID) -> threading.Lock:
    """The lock of one partition of the commit log in this process. BigQuery serializes concurrent
    publications of one partition by its UPDATE conflict rule; the emulator evaluates two concurrent
    UPDATEs on one snapshot (both pass their checks: a lost update), and a process's own racing
    units of work need no round trip to learn that they conflict. Across processes, BigQuery's rule
    is what holds."""
    key = (commits, tenant_bucket(tenant))
    with _PUBLISHING_GUARD:
        found = _PUBLISHING.get(key)
        if found is None:
            found = _PUBLISHING[key] = threading.Lock()
        return found


def _publish(database: BigQueryDatabase, staged: Staged, tenant: uuid.UUID, commit_id: str) -> None:
    commits = table_ref(database.settings, COMMITS)
    for _ in range(PUBLISH_ATTEMPTS):
        params = Parameters()
        violations, _labels = _violations(database, staged, tenant, params)
        this = _this_commit(params, tenant, commit_id)
        with _publishing(commits, tenant):
            result = database.runner.run(
                f"UPDATE {commits} AS pc SET committed_at = CURRENT_TIMESTAMP() WHERE {this} "
                f"AND pc.committed_at IS NULL AND NOT EXISTS (SELECT 1 FROM ({violations}) AS v)", params)
        if result.affected:
            return
        # Nothing changed: a check failed, or a retried statement had published already.
        params = Parameters()
        violations, labels = _violations(database, staged, tenant, params)
        published = params.scalar("STRING", "published")
        this = _this_commit(params, tenant, commit_id)
        rows = database.runner.run(
            f"SELECT {published} AS what, pc.commit_id AS id FROM {commits} AS pc "
            f"WHERE {this} AND pc.committed_at IS NOT NULL UNION ALL {violations} "
            f"LIMIT {params.scalar('INT64', 10)}", params).rows
        if any(row["what"] == "published" for row in rows):
            return
        if rows:
            table, kind, key_name = labels[rows[0]["what"]]
            raise _refusal(TABLES[table], staged[table], kind, key_name, uuid.UUID(rows[0]["id"]))
    raise StorageUnavailable(f"commit {commit_id} could not be published: the data kept changing; retry")


def _refusal(definition: TableDefinition[Any], writes: Mapping[uuid.UUID, Write], kind: str, key_name: str | None,
             key: uuid.UUID) -> Conflict:
    """The error of a refused commit: a taken key, an id another commit created, or a stale version."""
    write = writes[key]
    if kind == "key" and key_name is not None:
        return definition.taken(key_name, write.row)
    if write.base_version is None:
        return definition.taken("id", write.row)
    return ConcurrencyConflict(definition.entity, key, write.base_version)
