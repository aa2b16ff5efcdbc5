"""The control plane's append-only records in BigQuery (spec 003): audit logs and inference requests,
for deployments whose volume outgrows one PostgreSQL.

Each table is partitioned by day of its time (`occurred_at`, `requested_at`) and clustered by
`tenant_id` first, then its lookups. Records are never changed, so there are no row versions and no
commit log (compare the processing tables, `schema.py`): a unit of work buffers its inserts and its
commit appends them with `INSERT ... SELECT ... FROM UNNEST(@rows)`, 500 rows per statement, as
query jobs (streamed rows could not be deleted for 90 minutes). Reads see what is committed plus the
unit of work's own buffered rows. Every value is a named parameter; table names come from
`ANALYTICS_TABLES` only.

What BigQuery does not give: foreign keys (the control-plane repositories check the organization and
the application in the relational database before buffering; deleting an organization there leaves
its BigQuery history, which `purge_organization` removes), and unique ids beyond the check made at
insert (two units of work inserting one id concurrently both land; ids are UUIDv7 made here).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar, cast

from adapters.bigquery.client import BigQuerySettings
from adapters.bigquery.database import BigQueryDatabase
from adapters.bigquery.querying import Parameters, condition_sql, keyset_sql, order_sql
from adapters.bigquery.schema import Codec, Column, TableDefinition, dataset_ref
from adapters.memory import querying
from adapters.records.store import Query, RecordStore, equal
from adapters.rules.inference_metrics import InferenceMetricsQuery
from adapters.transactions import Backend, Guard
from domain.control_plane.inference import InferenceMetrics, InferenceRequest, InferenceStatus
from domain.shared.entity import Entity
from domain.shared.errors import Conflict, StorageError, Unsupported
from domain.shared.filters import Condition
from domain.shared.scope import TenantScope
from ports.control_plane import AUDIT_LOG_SCHEMA, INFERENCE_REQUEST_SCHEMA
from ports.records import RecordSchema, taken_detail

if TYPE_CHECKING:
    import uuid

    from google.cloud import bigquery

E = TypeVar("E", bound=Entity)

ROWS_PER_STATEMENT = 500

_STAMPS = (Column("created_at", Codec.TIMESTAMP), Column("updated_at", Codec.TIMESTAMP), Column("version", Codec.INT))


@dataclass(frozen=True, slots=True)
class AnalyticsTable:
    definition: TableDefinition[Any]
    partitioned_by: str
    """The TIMESTAMP column whose day is the partition."""

    @property
    def name(self) -> str:
        return self.definition.name


AUDIT_LOGS_TABLE = AnalyticsTable(TableDefinition(
    record=AUDIT_LOG_SCHEMA,
    columns=(Column("id", Codec.UUID), Column("tenant_id", Codec.UUID), Column("action", Codec.TEXT),
             Column("resource_type", Codec.TEXT), Column("resource_id", Codec.UUID, nullable=True),
             Column("application_id", Codec.UUID, nullable=True), Column("user_id", Codec.UUID, nullable=True),
             Column("actor", Codec.TEXT, nullable=True), Column("details", Codec.JSON),
             Column("request_id", Codec.TEXT, nullable=True), Column("occurred_at", Codec.TIMESTAMP), *_STAMPS),
    clustering=("tenant_id", "action", "application_id", "user_id"),
    description="The control plane's audit log (spec 003): append-only.",
), "occurred_at")

INFERENCE_REQUESTS_TABLE = AnalyticsTable(TableDefinition(
    record=INFERENCE_REQUEST_SCHEMA,
    columns=(Column("id", Codec.UUID), Column("tenant_id", Codec.UUID), Column("application_id", Codec.UUID),
             Column("user_id", Codec.UUID, nullable=True), Column("provider", Codec.TEXT), Column("model", Codec.TEXT),
             Column("status", Codec.TEXT, enum=InferenceStatus), Column("tokens_in", Codec.INT),
             Column("tokens_out", Codec.INT), Column("cost_cents", Codec.INT), Column("latency_ms", Codec.INT),
             Column("request_id", Codec.TEXT, nullable=True), Column("error", Codec.TEXT, nullable=True),
             Column("requested_at", Codec.TIMESTAMP), *_STAMPS),
    clustering=("tenant_id", "application_id", "status"),
    description="Finished inference requests of the control plane (spec 003): append-only.",
), "requested_at")

ANALYTICS_TABLES = {table.name: table for table in (AUDIT_LOGS_TABLE, INFERENCE_REQUESTS_TABLE)}
"""The allow-list: no other table name is ever put into a statement."""


def _table(name: str) -> str:
    if name not in ANALYTICS_TABLES:
        raise StorageError(f"{name!r} is not a table of the BigQuery control-plane schema")
    return f"`{name}`"


def analytics_table_object(settings: BigQuerySettings, table: AnalyticsTable) -> bigquery.Table:
    from google.cloud import bigquery

    fields = [bigquery.SchemaField(column.name, column.bigquery_type,
                                   mode="NULLABLE" if column.nullable else "REQUIRED")
              for column in table.definition.columns]
    created = bigquery.Table(f"{settings.project}.{settings.dataset}.{table.name}", schema=fields)
    created.time_partitioning = bigquery.TimePartitioning(type_=bigquery.TimePartitioningType.DAY,
                                                          field=table.partitioned_by)
    created.clustering_fields = list(table.definition.clustering)
    created.description = table.definition.description
    return created


def ensure_analytics_schema(client: bigquery.Client, settings: BigQuerySettings) -> None:
    """Create the dataset and the two tables unless they exist; idempotent."""
    from google.api_core import exceptions
    from google.cloud import bigquery

    dataset = bigquery.Dataset(dataset_ref(settings))
    dataset.location = settings.location
    try:
        client.create_dataset(dataset, exists_ok=True, timeout=settings.timeout_seconds)
        for table in ANALYTICS_TABLES.values():
            client.create_table(analytics_table_object(settings, table), exists_ok=True,
                                timeout=settings.timeout_seconds)
    except exceptions.GoogleAPIError as error:
        raise StorageError(f"cannot create the BigQuery control-plane schema: {error}") from error


# -- the transaction: a buffer of appends ---------------------------------------------------------
@dataclass(slots=True)
class AnalyticsTransaction:
    database: BigQueryDatabase
    pending: dict[str, list[Entity]] = field(default_factory=dict)

    def savepoint(self) -> dict[str, int]:
        return {table: len(rows) for table, rows in self.pending.items()}

    def rollback_to(self, savepoint: dict[str, int]) -> None:
        self.pending = {table: rows[: savepoint.get(table, 0)] for table, rows in self.pending.items()}

    def flush(self) -> None:
        """Append every buffered row; the buffer is emptied only once all of them are stored."""
        for name, rows in self.pending.items():
            definition = ANALYTICS_TABLES[name].definition
            columns = definition.columns
            names = ", ".join(column.name for column in columns)
            fields = [(column.name, column.parameter_type, False) for column in columns]
            selected = ", ".join(f"PARSE_JSON(r.{column.name})" if column.codec is Codec.JSON else f"r.{column.name}"
                                 for column in columns)
            for start in range(0, len(rows), ROWS_PER_STATEMENT):
                chunk = rows[start: start + ROWS_PER_STATEMENT]
                params = Parameters()
                encoded = [[column.encode(row.__dict__[column.name]) for column in columns] for row in chunk]
                source = params.structs(fields, encoded)
                self.database.runner.run(
                    f"INSERT INTO {_table(name)} ({names}) SELECT {selected} FROM UNNEST({source}) AS r", params)
        self.pending = {}


class AnalyticsStore(RecordStore[E]):
    """An append-only table: `update` and `delete` are `Unsupported`, as the repositories above say."""

    def __init__(self, table: AnalyticsTable, transaction: AnalyticsTransaction, scope: TenantScope,
                 guard: Guard) -> None:
        self.table = table
        self.definition = table.definition
        self.schema = cast(RecordSchema[E], table.definition.record)
        self.scope = scope
        self._tx = transaction
        self._guard = guard

    # -- helpers ------------------------------------------------------------------------------
    def _tenant(self) -> str:
        self._guard.check()
        return str(self.schema.scope_value(self.scope))  # from system scope this raises, before any read

    def _pending(self) -> list[E]:
        return cast(list[E], self._tx.pending.get(self.table.name, []))

    def _where(self, params: Parameters, conditions: Sequence[Condition], any_of: Sequence[Condition] = ()) -> str:
        clauses = [f"r.tenant_id = {params.scalar('STRING', self._tenant())}"]
        clauses += [condition_sql(self.definition, params, condition) for condition in conditions]
        if any_of:
            clauses.append("(" + " OR ".join(condition_sql(self.definition, params, c) for c in any_of) + ")")
        return " AND ".join(clauses)

    def _select(self, sql: str, params: Parameters) -> list[E]:
        rows = self._tx.database.runner.run(sql, params).rows
        return [cast(E, self.definition.from_row(row)) for row in rows]

    # -- reads --------------------------------------------------------------------------------
    def get(self, key: uuid.UUID) -> E | None:
        found = self.find(Query((equal("id", key),), limit=1))
        return found[0] if found else None

    def find(self, query: Query) -> list[E]:
        params = Parameters()
        where = self._where(params, query.conditions, query.any_of)
        if query.after is not None:
            where += " AND " + keyset_sql(self.definition, params, query.sort, query.after)
        buffered = self._matching(query)
        order = order_sql(self.definition, query.sort)
        sql = f"SELECT * FROM {_table(self.table.name)} AS r WHERE {where} ORDER BY {order}"
        if query.limit is not None:
            # The buffer's rows may come first: ask for enough committed rows to fill the page anyway.
            sql += f" LIMIT {params.scalar('INT64', query.offset + query.limit + len(buffered))}"
        committed = self._select(sql, params)
        if not buffered and query.limit is not None:
            return committed[query.offset:]
        rows = cast(list[E], querying.order([*committed, *buffered], query.sort)) if buffered else committed
        end = None if query.limit is None else query.offset + query.limit
        return rows[query.offset: end]

    def _matching(self, query: Query) -> list[E]:
        rows = querying.select(cast(list[Entity], self._pending()), query.conditions)
        if query.any_of:
            rows = [row for row in rows if any(querying.matches(row, c) for c in query.any_of)]
        if query.after is not None:
            rows = [row for row in rows if querying.after(row, query.sort, query.after)]
        return cast(list[E], rows)

    def count(self, conditions: Sequence[Condition] = ()) -> int:
        params = Parameters()
        sql = f"SELECT COUNT(*) AS n FROM {_table(self.table.name)} AS r WHERE {self._where(params, conditions)}"
        committed = int(self._tx.database.runner.run(sql, params).rows[0]["n"])
        return committed + len(querying.select(cast(list[Entity], self._pending()), conditions))

    def count_by(self, field: str) -> dict[Any, int]:
        column = self.definition.column(field)
        params = Parameters()
        sql = (f"SELECT r.{column.name} AS value, COUNT(*) AS n FROM {_table(self.table.name)} AS r "
               f"WHERE {self._where(params, ())} GROUP BY r.{column.name}")
        counts = {column.decode(row["value"]): int(row["n"]) for row in self._tx.database.runner.run(sql, params).rows}
        for row in self._pending():
            value = getattr(row, field)
            counts[value] = counts.get(value, 0) + 1
        return counts

    # -- writes -------------------------------------------------------------------------------
    def _taken_ids(self, rows: Sequence[E]) -> set[uuid.UUID]:
        """Ids of `rows` already stored or buffered (unscoped: an id is unique in the table)."""
        ids = {row.id for row in rows}
        taken = {row.id for row in self._pending() if row.id in ids}
        params = Parameters()
        sql = (f"SELECT r.id FROM {_table(self.table.name)} AS r "
               f"WHERE r.id IN UNNEST({params.array('STRING', [str(key) for key in ids])})")
        taken |= {Column("id", Codec.UUID).decode(row["id"]) for row in self._tx.database.runner.run(sql, params).rows}
        return taken

    def insert(self, rows: Sequence[E]) -> None:
        self._tenant()
        seen: set[uuid.UUID] = set()
        for row in rows:
            if row.id in seen:
                raise Conflict(self.schema.entity, taken_detail("id", (row.id,)))
            seen.add(row.id)
        taken = self._taken_ids(rows)
        if taken:
            raise Conflict(self.schema.entity, taken_detail("id", (min(taken),)) + "; nothing was written")
        self._tx.pending.setdefault(self.table.name, []).extend(rows)

    def insert_new(self, rows: Sequence[E]) -> list[E]:
        self._tenant()
        taken = self._taken_ids(rows)
        fresh: list[E] = []
        for row in rows:
            if row.id not in taken:
                taken.add(row.id)
                fresh.append(row)
        self._tx.pending.setdefault(self.table.name, []).extend(fresh)
        return fresh

    def update(self, entity: E, *, keys_unchanged: bool = False) -> E:
        raise Unsupported(f"{self.schema.entity} records are append-only in BigQuery")

    def delete(self, key: uuid.UUID, expected_version: int | None) -> None:
        raise Unsupported(f"{self.schema.entity} records are append-only in BigQuery")

    @contextmanager
    def atomically(self) -> Iterator[None]:
        self._guard.check()
        savepoint = self._tx.savepoint()
        try:
            yield
        except BaseException:
            self._tx.rollback_to(savepoint)
            raise


class BigQueryAnalyticsBackend(Backend[AnalyticsTransaction, dict[str, int]]):
    """Stores `ANALYTICS_TABLES` only; a transaction is its buffer of appends."""

    name: ClassVar[str] = "bigquery"

    def __init__(self, database: BigQueryDatabase) -> None:
        self.database = database

    @property
    def key(self) -> object:
        return (self.database, "control plane")

    def supports(self, schema: RecordSchema[Any]) -> bool:
        return schema.table in ANALYTICS_TABLES

    def store(self, transaction: AnalyticsTransaction, schema: RecordSchema[E], scope: TenantScope,
              guard: Guard) -> RecordStore[E]:
        return AnalyticsStore(ANALYTICS_TABLES[schema.table], transaction, scope, guard)

    def begin(self, scope: TenantScope) -> AnalyticsTransaction:
        return AnalyticsTransaction(self.database)

    def commit(self, transaction: AnalyticsTransaction) -> None:
        transaction.flush()

    def rollback(self, transaction: AnalyticsTransaction) -> None:
        transaction.pending = {}

    def restart(self, transaction: AnalyticsTransaction, scope: TenantScope) -> None:
        """The buffer was flushed or dropped: the same transaction goes on."""

    def close(self, transaction: AnalyticsTransaction) -> None:
        transaction.pending = {}

    def savepoint(self, transaction: AnalyticsTransaction) -> dict[str, int]:
        return transaction.savepoint()

    def release(self, transaction: AnalyticsTransaction, savepoint: dict[str, int]) -> None:
        """Releasing keeps the buffered rows: nothing to do."""

    def rollback_to(self, transaction: AnalyticsTransaction, savepoint: dict[str, int]) -> None:
        transaction.rollback_to(savepoint)


class BigQueryInferenceMetrics(InferenceMetricsQuery):
    """`get_metrics` as one parameterized query over the stored requests (and the unit of work's
    buffered ones, passed as a parameter): the window numbers the
    range's latencies and the aggregate takes the one at the nearest rank of the 95th percentile,
    found without division (`100 r >= 95 n > 100 (r - 1)`), so the number is the other backends'."""

    def __init__(self, store: RecordStore[InferenceRequest]) -> None:
        if not isinstance(store, AnalyticsStore):
            raise TypeError("BigQueryInferenceMetrics reads a BigQuery analytics store")
        self._store = store

    def metrics(self, start: datetime, end: datetime) -> InferenceMetrics:
        store = self._store
        params = Parameters()
        tenant = params.scalar("STRING", store._tenant())
        since, until = params.scalar("TIMESTAMP", start), params.scalar("TIMESTAMP", end)
        failed = params.scalar("STRING", InferenceStatus.FAILED.value)
        ranged = ("SELECT id, latency_ms, cost_cents, status"
                  f" FROM {_table(INFERENCE_REQUESTS_TABLE.name)}"
                  f" WHERE tenant_id = {tenant} AND requested_at >= {since} AND requested_at < {until}")
        # The unit of work's own buffered requests count too, as every other read sees them.
        buffered = [row for row in cast(list[InferenceRequest], store._pending()) if start <= row.requested_at < end]
        if buffered:
            fields = [("id", "STRING", False), ("latency_ms", "INT64", False), ("cost_cents", "INT64", False),
                      ("status", "STRING", False)]
            rows = [(str(row.id), row.latency_ms, row.cost_cents, row.status.value) for row in buffered]
            source = params.structs(fields, rows)
            ranged += f" UNION ALL SELECT b.id, b.latency_ms, b.cost_cents, b.status FROM UNNEST({source}) AS b"
        sql = (
            "SELECT COUNT(*) AS total, COALESCE(SUM(cost_cents), 0) AS cost, COALESCE(SUM(latency_ms), 0) AS latency,"
            " MAX(CASE WHEN 100 * position >= 95 * n AND 100 * (position - 1) < 95 * n THEN latency_ms END) AS p95,"
            f" COALESCE(SUM(CASE WHEN status = {failed} THEN 1 ELSE 0 END), 0) AS failed"
            " FROM (SELECT latency_ms, cost_cents, status,"
            " ROW_NUMBER() OVER (ORDER BY latency_ms, id) AS position, COUNT(*) OVER () AS n"
            f" FROM ({ranged}) AS requests) AS ranked"
        )
        [row] = store._tx.database.runner.run(sql, params).rows
        total = int(row["total"])
        if not total:
            return InferenceMetrics.empty()
        return InferenceMetrics(total, int(row["cost"]), int(row["latency"]) / total, float(row["p95"]),
                                int(row["failed"]) / total)


def purge_organization(database: BigQueryDatabase, tenant: uuid.UUID) -> None:
    """Delete an organization's BigQuery history (what the relational cascade cannot reach)."""
    for name in ANALYTICS_TABLES:
        params = Parameters()
        database.runner.run(f"DELETE FROM {_table(name)} WHERE tenant_id = {params.scalar('STRING', str(tenant))}",
                            params)
