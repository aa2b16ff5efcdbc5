"""The jobs ports (specs 002 and 004): the job queue's records, the worker's claims on them, and
parallel processing with its chunk tasks (`uow.jobs`, `uow.processings`).

Jobs live in one tenant. A tenant's unit of work sees its own jobs; a system-scope unit of work
(what a worker opens) sees every tenant's, because a queue is served across tenants. A handler's
writes go through a unit of work of the job's tenant.
"""

from __future__ import annotations

import uuid
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any

from pydantic import JsonValue

from domain.jobs.filters import JobFilters, PaginationParams
from domain.jobs.job import LIVE, Job, JobStatus
from domain.jobs.parallel import ChunkTask, ParallelProcessing, ProcessingRecord
from domain.jobs.queue import JobQueue
from domain.jobs.stats import JobStats
from domain.shared.fields import FieldKind
from domain.shared.pagination import CursorPage, CursorPageRequest
from domain.shared.sorting import SortField
from ports.records import RecordSchema, UniqueKey
from ports.repository import CrudRepository
from ports.unit_of_work import UnitOfWork, UnitOfWorkFactory

_COMMON = {"id": FieldKind.UUID, "created_at": FieldKind.DATETIME, "updated_at": FieldKind.DATETIME}

LIVE_STATUS_VALUES = tuple(status.value for status in (JobStatus.QUEUED, JobStatus.RUNNING) if status in LIVE)
DEDUPLICATION_KEY = "deduplication_key"

JOB_SCHEMA: RecordSchema[Job] = RecordSchema(
    entity="Job", model=Job, table="processing_jobs",
    fields={**_COMMON, "queue_name": FieldKind.STRING, "job_type": FieldKind.STRING, "status": FieldKind.STRING,
            "workspace_id": FieldKind.STRING, "priority": FieldKind.INTEGER, "scheduled_at": FieldKind.DATETIME,
            "completed_at": FieldKind.DATETIME, "lease_expires_at": FieldKind.DATETIME,
            "retry_count": FieldKind.INTEGER, "worker_id": FieldKind.STRING,
            "deduplication_key": FieldKind.STRING, "tenant_id": FieldKind.UUID},
    visible_to_system=True,
    # At most one queued or running job per tenant and deduplication key: a partial unique index in SQL.
    unique_keys={DEDUPLICATION_KEY: UniqueKey(("tenant_id", "deduplication_key"), only=("status", LIVE_STATUS_VALUES))},
)
PROCESSING_SCHEMA: RecordSchema[ProcessingRecord] = RecordSchema(
    entity="ParallelProcessing", model=ProcessingRecord, table="processing_tasks",
    fields={**_COMMON, "status": FieldKind.STRING, "transcript_id": FieldKind.UUID},
)
CHUNK_SCHEMA: RecordSchema[ChunkTask] = RecordSchema(
    entity="ChunkTask", model=ChunkTask, table="chunk_tasks",
    fields={**_COMMON, "processing_id": FieldKind.UUID, "chunk_index": FieldKind.INTEGER, "status": FieldKind.STRING},
    unique_keys={"chunk": UniqueKey(("processing_id", "chunk_index"))},
    default_sort=(SortField("chunk_index"),),
)


class JobRepository(CrudRepository[Job, JobFilters]):
    """Spec 004's JobRepository and spec 002's JobQueueRepository in one, plus the worker's claims."""

    @property
    def entity_name(self) -> str:
        return JOB_SCHEMA.entity

    # -- spec 004 --------------------------------------------------------------------------------
    @abstractmethod
    def create_job(
        self, job_type: str, workspace_id: str | None = None, metadata: Mapping[str, JsonValue] | None = None, *,
        payload: Mapping[str, JsonValue] | None = None, queue_name: str = "default", priority: int = 2,
        max_retries: int = 3, scheduled_at: Any = None, deduplication_key: str | None = None,
        tenant_id: uuid.UUID | None = None,
    ) -> Job:
        """Queue a new job for the unit of work's tenant (from system scope: `tenant_id` names it).
        A deduplication key held by a queued or running job of the tenant returns that job instead,
        and writes nothing (check `created_at` or compare ids to tell)."""

    @abstractmethod
    def create_jobs(self, requests: Sequence[Mapping[str, Any]]) -> list[Job]:
        """`create_job` for each request (a mapping of its arguments), all or nothing; the jobs without
        a deduplication key go in one statement per batch."""

    @abstractmethod
    def update_job_status(self, job_id: uuid.UUID, status: JobStatus, progress: float | None = None) -> Job:
        """An operator's move along the lifecycle, with its timestamps (spec 004; spec 002 without
        progress). A worker acknowledges with `complete` / `fail` / `report_progress` instead."""

    @abstractmethod
    def list_jobs_with_filters(
        self, filters: JobFilters | None = None, pagination: PaginationParams | None = None,
    ) -> tuple[list[Job], int]:
        """One page, newest first, and the number of matching jobs."""

    @abstractmethod
    def get_queue_position(self, job_id: uuid.UUID) -> int | None:
        """1 for the next job a worker of its queue claims; None when the job is not queued."""

    @abstractmethod
    def get_job_stats(self, queue_name: str | None = None) -> JobStats:
        """Jobs per status in one queue (spec 002), or in all of them."""

    @abstractmethod
    def list_queue_order(self, queue_name: str) -> list[uuid.UUID]:
        """The ids of the queue's queued jobs in claim order, scheduled ones included: position
        N - 1 of the list is queue position N (what a queue-position snapshot is built from)."""

    def get_job_statistics(self, queue_name: str | None = None) -> JobStats:
        """Spec 004's name."""
        return self.get_job_stats(queue_name)

    @abstractmethod
    def cleanup(self, older_than: timedelta, *, batch_size: int = 1000, max_batches: int | None = None) -> int:
        """Delete finished jobs (completed, failed, cancelled) completed longer than `older_than` ago,
        `batch_size` at a time; the number deleted."""

    # -- spec 002 --------------------------------------------------------------------------------
    @abstractmethod
    def find_pending_jobs(self, queue_name: str, limit: int = 10) -> list[Job]:
        """Queued jobs whose time has come, in claim order (priority high first, then oldest)."""

    @abstractmethod
    def save_queue(self, queue: JobQueue) -> JobQueue:
        """Spec 002's `save(queue)`: every job of the queue inserted or updated (version-checked)."""

    @abstractmethod
    def load_queue(self, queue_name: str) -> JobQueue:
        """Spec 002's `load(queue_id)`: the queue's jobs, newest first."""

    # -- the worker's side -----------------------------------------------------------------------
    @abstractmethod
    def claim(self, queue_name: str, worker_id: str, *, limit: int = 10,
              lease: timedelta = timedelta(seconds=30)) -> list[Job]:
        """Take up to `limit` queued jobs whose time has come, in claim order, for `worker_id`: each
        becomes RUNNING at its next attempt with a lease. Concurrent claims never take the same job."""

    @abstractmethod
    def heartbeat(self, job_id: uuid.UUID, worker_id: str, attempt: int,
                  lease: timedelta = timedelta(seconds=30)) -> Job:
        """Extend the lease; `LeaseLost` when the claim is no longer current."""

    @abstractmethod
    def heartbeat_many(self, claimed: Sequence[Job], worker_id: str,
                       lease: timedelta = timedelta(seconds=30)) -> list[Job]:
        """Extend the leases of jobs `worker_id` holds, given as it holds them (the copies `claim`
        or its last heartbeat returned, each fenced by its own attempt): those extended, in the
        given order; a claim no longer current is left out. One statement where the copies are
        current (PostgreSQL); a copy that has moved on is read again and decided on the stored job."""

    @abstractmethod
    def report_progress(self, job_id: uuid.UUID, worker_id: str, attempt: int, progress: float) -> Job: ...

    @abstractmethod
    def complete(self, job_id: uuid.UUID, worker_id: str, attempt: int,
                 result: Mapping[str, JsonValue] | None = None, *, claimed: Job | None = None) -> Job:
        """COMPLETED with its result; `LeaseLost` when the claim is no longer current. `claimed`:
        the copy of the job the worker holds (from `claim` or its last heartbeat), which saves
        reading it; the outcome is the same with or without it."""

    @abstractmethod
    def complete_many(self, completions: Sequence[tuple[Job, Mapping[str, JsonValue] | None]],
                      worker_id: str) -> list[Job]:
        """Complete jobs `worker_id` holds, each given as `(claimed copy, result)` and fenced by the
        copy's attempt: the jobs completed, in the given order; a claim no longer current is left
        out (its writes were none: this is the acknowledgement of handlers that write nothing).
        One statement where the copies are current (PostgreSQL)."""

    @abstractmethod
    def complete_and_claim(self, completions: Sequence[tuple[Job, Mapping[str, JsonValue] | None]], worker_id: str,
                           queue_name: str, *, limit: int = 10,
                           lease: timedelta = timedelta(seconds=30)) -> tuple[list[uuid.UUID], list[Job]]:
        """`complete_many(completions, worker_id)`, then `claim(queue_name, worker_id, limit=limit,
        lease=lease)`: the ids of the jobs completed (in the given order) and the jobs claimed (in
        claim order). The worker's step between two batches: one statement on PostgreSQL, where
        the unit of work is then one round trip and its COMMIT. Every argument is checked before
        anything is written."""

    @abstractmethod
    def fail(self, job_id: uuid.UUID, worker_id: str, attempt: int, error: str) -> Job:
        """Queued again after a backoff while retries are left, else FAILED (the dead letter)."""

    @abstractmethod
    def release(self, job_id: uuid.UUID, worker_id: str, attempt: int) -> Job:
        """Give a claimed job back unfinished (a worker stopping): queued at once, no retry spent."""

    @abstractmethod
    def cancel(self, job_id: uuid.UUID) -> Job:
        """Queued or running jobs; a running job's worker then meets `LeaseLost` on its next call."""

    @abstractmethod
    def requeue(self, job_id: uuid.UUID) -> Job:
        """A failed or cancelled job queued again, its retries restored."""

    @abstractmethod
    def recover_expired_leases(self, limit: int = 100) -> list[Job]:
        """Running jobs whose lease ran out, put back in their queue (or failed when rescued too often)."""

    @abstractmethod
    def list_dead_letters(self, queue_name: str | None = None,
                          page: CursorPageRequest | None = None) -> CursorPage[Job]:
        """FAILED jobs, most recently failed first."""


class ParallelProcessingRepository(ABC):
    """Spec 002's ProcessingRepository."""

    @abstractmethod
    def save(self, processing: ParallelProcessing) -> ParallelProcessing:
        """The processing and its chunks, inserted or updated (version-checked), all or nothing."""

    @abstractmethod
    def load(self, processing_id: uuid.UUID) -> ParallelProcessing | None: ...

    @abstractmethod
    def update_progress(self, processing_id: uuid.UUID, progress: float) -> ParallelProcessing: ...

    @abstractmethod
    def get_active_processings(self) -> list[ParallelProcessing]:
        """Processings PROCESSING or MERGING, with their chunks, in two statements."""

    @abstractmethod
    def delete(self, processing_id: uuid.UUID) -> None:
        """The processing and its chunks."""


ProcessingRepository = ParallelProcessingRepository
"""Spec 002's name."""


class JobsUnitOfWork(UnitOfWork):
    @property
    @abstractmethod
    def jobs(self) -> JobRepository: ...

    @property
    @abstractmethod
    def processings(self) -> ParallelProcessingRepository: ...


JobsUnitOfWorkFactory = UnitOfWorkFactory[JobsUnitOfWork]

__all__ = ["CHUNK_SCHEMA", "JOB_SCHEMA", "PROCESSING_SCHEMA", "JobRepository", "JobsUnitOfWork",
           "JobsUnitOfWorkFactory", "ParallelProcessingRepository", "ProcessingRepository"]
