"""The jobs tables in SQL (spec 002's `processing_jobs`, `processing_tasks`, `chunk_tasks`), and the
claim that PostgreSQL answers in one statement.

Spec 002's columns, with the queue's own: queue name, worker id, attempt and lease (fencing), the
rescue count, the deduplication key (a partial unique index over queued and running jobs), and the
claim's partial index `(queue_name, priority DESC, created_at, id) WHERE status = 'QUEUED'`, which
is the claim's order, so a claim reads only the rows it takes. No foreign keys, as elsewhere.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from functools import cache

import sqlalchemy as sa
from pydantic import JsonValue

from adapters.records.store import RecordStore
from adapters.rules.job_queries import JobQueries, StoreJobQueries
from adapters.sql import job_acknowledgement
from adapters.sql.declarations import aggregate_table, optional, partial_unique_index
from adapters.sql.driver import CompiledRead, direct, on_blocking_driver
from adapters.sql.errors import translated
from adapters.sql.records import SqlRecordStore
from adapters.sql.types import StrEnumText, UtcDateTime, json_document, text
from domain.jobs.job import Job, JobStatus
from domain.jobs.parallel import ChunkStatus, ProcessingStatus
from ports.jobs import DEDUPLICATION_KEY, JOB_SCHEMA

processing_jobs = aggregate_table(
    "processing_jobs", scope="tenant_id",
    columns={
        "queue_name": text(100), "job_type": text(100), "payload": json_document(), "metadata": json_document(),
        "workspace_id": optional(text(200)), "priority": sa.Integer(), "status": StrEnumText(JobStatus),
        "progress": sa.Double(), "retry_count": sa.Integer(), "max_retries": sa.Integer(),
        "error_message": optional(text(10_000)), "result": optional(json_document()),
        "worker_id": optional(text(200)), "attempt": sa.Integer(), "rescue_count": sa.Integer(),
        "lease_expires_at": optional(UtcDateTime()), "scheduled_at": UtcDateTime(),
        "started_at": optional(UtcDateTime()), "completed_at": optional(UtcDateTime()),
        "deduplication_key": optional(text(500)),
    },
    listing_index="ix_processing_jobs_created",
    extras=(
        partial_unique_index("uq_processing_jobs_live_deduplication", JOB_SCHEMA, DEDUPLICATION_KEY),
        sa.Index("ix_processing_jobs_status", "tenant_id", "status", "completed_at"),
        sa.Index("ix_processing_jobs_type_status", "tenant_id", "job_type", "status"),
        sa.Index("ix_processing_jobs_queue_status", "queue_name", "status"),
        # Expired leases, found by the rescuer across tenants.
        sa.Index("ix_processing_jobs_lease", "lease_expires_at", postgresql_where=sa.text("status = 'RUNNING'"),
                 sqlite_where=sa.text("status = 'RUNNING'")),
    ),
)
CLAIM_INDEX = sa.Index(
    "ix_processing_jobs_claim", processing_jobs.c.queue_name, processing_jobs.c.priority.desc(),
    processing_jobs.c.created_at, processing_jobs.c.id,
    postgresql_where=sa.text("status = 'QUEUED'"), sqlite_where=sa.text("status = 'QUEUED'"),
)

processing_tasks = aggregate_table(
    "processing_tasks", scope="tenant_id",
    columns={
        "transcript_id": optional(sa.Uuid()), "status": StrEnumText(ProcessingStatus), "total_chunks": sa.Integer(),
        "completed_chunks": sa.Integer(), "progress": sa.Double(), "started_at": optional(UtcDateTime()),
        "completed_at": optional(UtcDateTime()), "error_message": optional(text(10_000)),
    },
    listing_index="ix_processing_tasks_created",
    extras=(sa.Index("ix_processing_tasks_status", "tenant_id", "status"),
            sa.Index("ix_processing_tasks_transcript", "tenant_id", "transcript_id")),
)

chunk_tasks = aggregate_table(
    "chunk_tasks", scope="tenant_id",
    columns={
        "processing_id": sa.Uuid(), "chunk_index": sa.Integer(), "status": StrEnumText(ChunkStatus),
        "retry_count": sa.Integer(), "max_retries": sa.Integer(), "started_at": optional(UtcDateTime()),
        "completed_at": optional(UtcDateTime()), "error_message": optional(text(10_000)),
    },
    listing_index="ix_chunk_tasks_created",
    extras=(sa.UniqueConstraint("processing_id", "chunk_index", name="uq_chunk_tasks_chunk"),
            sa.Index("ix_chunk_tasks_status", "tenant_id", "status")),
)


class SqlJobQueries(JobQueries):
    """PostgreSQL: the claim is one `UPDATE ... WHERE id IN (SELECT ... FOR UPDATE SKIP LOCKED)`,
    the same move as `Job.claimed` (the contract suite holds both to one result). Concurrent claims
    skip each other's rows instead of waiting. SQLite: the record-store claim, serialized by the
    transaction's write lock."""

    def __init__(self, jobs: RecordStore[Job]) -> None:
        if not isinstance(jobs, SqlRecordStore):
            raise TypeError("SqlJobQueries reads SQL record stores")
        self._store = jobs
        self._fallback = StoreJobQueries(jobs)

    def claim(self, queue_name: str, worker_id: str, limit: int, lease: timedelta, now: datetime) -> list[Job]:
        store = self._store
        connection = store.connection
        if connection.dialect.name != "postgresql":
            return self._fallback.claim(queue_name, worker_id, limit, lease, now)
        restriction = store.schema.scope_filter(store.scope)
        # Parameter names that are no column's: an UPDATE reserves its columns' names for SET values.
        parameters = {"claim_queue_name": queue_name, "claim_worker_id": worker_id, "claim_limit": limit,
                      "claim_now": now, "claim_lease_until": now + lease, "claim_queued": JobStatus.QUEUED,
                      "claim_running": JobStatus.RUNNING}
        if restriction is not None:
            parameters["claim_scope"] = restriction[1]
        scope_field = None if restriction is None else restriction[0]
        if direct(connection):  # the worker's hottest statement: compiled once, on the DBAPI cursor
            return store.rows_direct(_claim_read(scope_field, connection.dialect), parameters)
        with translated(store.schema.entity):
            return [store.from_row(row) for row in connection.execute(_claim_statement(scope_field), parameters)]

    def complete_and_claim(self, completions: Sequence[tuple[Job, Mapping[str, JsonValue] | None]], worker_id: str,
                           queue_name: str, limit: int, lease: timedelta,
                           now: datetime) -> tuple[list[uuid.UUID], list[Job]] | None:
        """PostgreSQL on a blocking driver: one statement (`adapters/sql/job_acknowledgement.py`)."""
        connection = self._store.connection
        if not (on_blocking_driver(connection) and direct(connection)):
            return None
        return job_acknowledgement.complete_and_claim(self._store, completions, worker_id, queue_name, limit, lease,
                                                      now)

    def counts_by_status(self, queue_name: str) -> dict[JobStatus, int]:
        table = processing_jobs
        statement = self._store.scoped(sa.select(table.c.status, sa.func.count()).where(
            table.c.queue_name == queue_name).group_by(table.c.status))
        with translated(self._store.schema.entity):
            return {JobStatus(status): int(count) for status, count in self._store.connection.execute(statement)}

    def queued_ids(self, queue_name: str) -> list[uuid.UUID]:
        table = processing_jobs
        statement = self._store.scoped(
            sa.select(table.c.id).where(table.c.queue_name == queue_name, table.c.status == JobStatus.QUEUED)
            .order_by(table.c.priority.desc(), table.c.created_at, table.c.id))
        with translated(self._store.schema.entity):
            return list(self._store.connection.execute(statement).scalars())


@cache
def _claim_statement(scope_field: str | None) -> sa.Update:
    # Parameters named after no column: SQLAlchemy reserves a column's name for its own SET value
    # when the statement goes through `Connection.execute` (any driver but psycopg2's direct path).
    table = processing_jobs
    ready = (
        sa.select(table.c.id)
        .where(table.c.queue_name == sa.bindparam("claim_queue_name"),
               table.c.status == sa.bindparam("claim_queued"),
               table.c.scheduled_at <= sa.bindparam("claim_now"))
        .order_by(table.c.priority.desc(), table.c.created_at, table.c.id)
        .limit(sa.bindparam("claim_limit", type_=sa.Integer()))
        .with_for_update(skip_locked=True)
    )
    if scope_field is not None:
        ready = ready.where(table.c[scope_field] == sa.bindparam("claim_scope"))
    return (
        table.update()
        .where(table.c.id.in_(ready.scalar_subquery()))
        .values(status=sa.bindparam("claim_running"), worker_id=sa.bindparam("claim_worker_id"),
                attempt=table.c.attempt + sa.literal_column("1"), lease_expires_at=sa.bindparam("claim_lease_until"),
                started_at=sa.bindparam("claim_now"), completed_at=sa.null(), updated_at=sa.bindparam("claim_now"),
                version=table.c.version + sa.literal_column("1"))
        .returning(*table.c)
    )


@cache
def _claim_read(scope_field: str | None, dialect: sa.Dialect) -> CompiledRead:
    return CompiledRead(_claim_statement(scope_field), processing_jobs, dialect)
