"""The jobs context (specs 002 and 004): its repositories and unit of work, on any backend.

Every rule of the queue (claim order, fencing, retries with backoff, lease rescue, deduplication,
cleanup in batches) is written here once over the record stores and the job's own transitions; the
claim alone is a query a backend may answer in one statement (`adapters/rules/job_queries.py`).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, ClassVar

from pydantic import JsonValue

from adapters.clock import SystemClock
from adapters.records.crud import Crud
from adapters.records.observed import ObservedStore, Written
from adapters.records.store import NEWEST_FIRST, Query, RecordStore, changed_fields, equal
from adapters.rules import job_arguments as arg
from adapters.rules.job_queries import CLAIM_ORDER, JobQueries, StoreJobQueries, claim_order_key, claimable
from adapters.rules.parallel import Processings, progress_argument
from adapters.transactions import Backend, ContextFactory, ContextUnitOfWork
from domain.jobs.backoff import Backoff
from domain.jobs.errors import LeaseLost
from domain.jobs.filters import JobFilters, PaginationParams
from domain.jobs.job import DEFAULT_QUEUE, FINISHED, MAX_RESCUES, Job, JobStatus
from domain.jobs.queue import JobQueue
from domain.jobs.stats import JobStats
from domain.shared.checks import json_object, member, optional_datetime, positive_int, sequence, text_argument
from domain.shared.errors import ConcurrencyConflict, NotFound, ValidationError
from domain.shared.filters import Condition, Operator
from domain.shared.ids import parse_id
from domain.shared.pagination import CursorPage, CursorPageRequest
from domain.shared.scope import TenantScope
from domain.shared.sorting import Sort
from ports.clock import Clock
from ports.jobs import (
    CHUNK_SCHEMA,
    DEDUPLICATION_KEY,
    JOB_SCHEMA,
    PROCESSING_SCHEMA,
    JobRepository,
    JobsUnitOfWork,
    ParallelProcessingRepository,
)
from ports.records import RecordSchema, next_cursor, plan_listing

DEAD_LETTER_ORDER = Sort.parse("-completed_at,-id")


class Jobs(Crud[Job, JobFilters], JobRepository):
    def __init__(self, store: RecordStore[Job], queries: JobQueries, clock: Clock, backoff: Backoff,
                 max_rescues: int, written: Callable[[list[Job]], None] | None = None) -> None:
        super().__init__(store, clock)
        self._queries = queries
        self._backoff = backoff
        self._max_rescues = max_rescues
        self._written = written

    def _now(self) -> datetime:
        return self._clock.now()

    def _job(self, job_id: Any) -> Job:
        key = parse_id(job_id, "job_id")
        found = self._store.get(key)
        if found is None:
            raise NotFound(self.entity_name, key)
        return found

    def _stored(self, job: Job) -> Job:
        return self._store.update(job, keys_unchanged=True)

    # -- spec 004 --------------------------------------------------------------------------------
    def create_job(
        self, job_type: str, workspace_id: str | None = None, metadata: Mapping[str, JsonValue] | None = None, *,
        payload: Mapping[str, JsonValue] | None = None, queue_name: str = DEFAULT_QUEUE, priority: int = 2,
        max_retries: int = 3, scheduled_at: Any = None, deduplication_key: str | None = None,
        tenant_id: uuid.UUID | None = None,
    ) -> Job:
        job = self._new_job(job_type, workspace_id, metadata, payload=payload, queue_name=queue_name,
                            priority=priority, max_retries=max_retries, scheduled_at=scheduled_at,
                            deduplication_key=deduplication_key, tenant_id=tenant_id)
        if job.deduplication_key is None:
            self._store.insert([job])
            return job
        return self._deduplicated(job)

    def create_jobs(self, requests: Sequence[Mapping[str, Any]]) -> list[Job]:
        jobs = [self._new_job(**arg.request(request)) for request in sequence(requests, "requests")]
        plain = [job for job in jobs if job.deduplication_key is None]
        with self._store.atomically():
            if plain:
                self._store.insert(plain)  # one statement per batch
            stored = {job.id: job for job in plain}
            for job in jobs:
                if job.deduplication_key is not None:
                    stored[job.id] = self._deduplicated(job)
        return [stored[job.id] for job in jobs]

    def _new_job(
        self, job_type: Any, workspace_id: Any = None, metadata: Any = None, *, payload: Any = None,
        queue_name: Any = DEFAULT_QUEUE, priority: Any = 2, max_retries: Any = 3, scheduled_at: Any = None,
        deduplication_key: Any = None, tenant_id: Any = None,
    ) -> Job:
        tenant = self._tenant_for_new(tenant_id)
        now = self._now()
        job = Job.new(
            tenant_id=tenant, job_type=job_type, workspace_id=workspace_id,
            metadata=json_object(metadata, "metadata") if metadata is not None else {},
            payload=json_object(payload, "payload") if payload is not None else {}, queue_name=queue_name,
            priority=priority, max_retries=max_retries, deduplication_key=deduplication_key, created_at=now,
            updated_at=now, scheduled_at=optional_datetime(scheduled_at, "scheduled_at") or now,
        )
        return self._checked(job)

    def _deduplicated(self, job: Job) -> Job:
        """`job` inserted, or the queued or running job that holds its deduplication key."""
        inserted = self._store.insert_new([job])
        if inserted:
            return inserted[0]
        holder = self._first(equal("tenant_id", job.tenant_id), equal("deduplication_key", job.deduplication_key),
                             Condition("status", Operator.IN, (JobStatus.QUEUED, JobStatus.RUNNING)))
        if holder is None:  # the id itself was taken: not a deduplication
            self._store.insert([job])  # raises the Conflict naming the id
            return job
        return holder

    def _tenant_for_new(self, tenant_id: Any) -> uuid.UUID:
        scope: TenantScope = self._store.scope
        if tenant_id is not None:
            named = parse_id(tenant_id, "tenant_id")
            if scope.tenant is not None and scope.tenant != named:
                self._same_tenant(named)  # raises TenantScopeRequired
            return named
        if scope.tenant is None:
            raise ValidationError("tenant_id", "a system-scope unit of work must name the job's tenant")
        return scope.tenant

    def update_job_status(self, job_id: uuid.UUID, status: JobStatus, progress: float | None = None) -> Job:
        to = member(JobStatus, status, "status")
        checked_progress = None if progress is None else progress_argument(progress)
        return self._stored(self._job(job_id).with_status(to, checked_progress, self._now()))

    def list_jobs_with_filters(
        self, filters: JobFilters | None = None, pagination: PaginationParams | None = None,
    ) -> tuple[list[Job], int]:
        if pagination is not None and not isinstance(pagination, PaginationParams):
            raise ValidationError("pagination", "expected PaginationParams(page=, size=)")
        page = self.list_and_count(filters, NEWEST_FIRST, (pagination or PaginationParams()).as_offset())
        return list(page.items), page.total

    def get_queue_position(self, job_id: uuid.UUID) -> int | None:
        job = self._job(job_id)
        if job.status is not JobStatus.QUEUED:
            return None
        # Queued jobs of its queue that a worker takes before it: higher priority, or the same
        # priority and older (the claim order); jobs scheduled later than now still count, as a
        # queue's length does.
        ahead = self._store.count((equal("queue_name", job.queue_name), equal("status", JobStatus.QUEUED),
                                   Condition("priority", Operator.GT, job.priority)))
        same = self._store.find(Query((equal("queue_name", job.queue_name), equal("status", JobStatus.QUEUED),
                                       equal("priority", job.priority),
                                       Condition("created_at", Operator.LTE, job.created_at)), CLAIM_ORDER))
        before = sum(1 for other in same if claim_order_key(other) < claim_order_key(job))
        return ahead + before + 1

    def get_job_stats(self, queue_name: str | None = None) -> JobStats:
        if queue_name is None:
            return JobStats.from_results(None, self._store.count_by("status"))
        queue = arg.queue(queue_name)
        return JobStats.from_results(queue, self._queries.counts_by_status(queue))

    def list_queue_order(self, queue_name: str) -> list[uuid.UUID]:
        return self._queries.queued_ids(arg.queue(queue_name))

    def cleanup(self, older_than: timedelta, *, batch_size: int = 1000, max_batches: int | None = None) -> int:
        if not isinstance(older_than, timedelta) or older_than < timedelta(0):
            raise ValidationError("older_than", "must be a timedelta of zero or more")
        size = arg.limit(batch_size, 10_000)
        batches = None if max_batches is None else positive_int(max_batches, "max_batches")
        cutoff = self._now() - older_than
        removed = 0
        done = 0
        while batches is None or done < batches:
            old = self._store.find(Query((Condition("status", Operator.IN, tuple(FINISHED)),
                                          Condition("completed_at", Operator.LT, cutoff)), limit=size))
            removed += len(self._store.delete_current(old))  # one statement per batch where the backend can
            done += 1
            if len(old) < size:
                break
        return removed

    # -- spec 002 --------------------------------------------------------------------------------
    def find_pending_jobs(self, queue_name: str, limit: int = 10) -> list[Job]:
        ready = claimable(arg.queue(queue_name), self._now())
        return self._store.find(Query(ready, CLAIM_ORDER, limit=arg.limit(limit)))

    def save_queue(self, queue: JobQueue) -> JobQueue:
        if not isinstance(queue, JobQueue):
            raise ValidationError("queue", f"expected a JobQueue, got {type(queue).__name__}")
        name = arg.queue(queue.name)
        for job in queue.jobs:
            if not isinstance(job, Job) or job.queue_name != name:
                raise ValidationError("queue", f"every job of queue {name!r} must be a Job of that queue")
        with self._store.atomically():
            return JobQueue(name, tuple(self.save(job) for job in queue.jobs))

    def load_queue(self, queue_name: str) -> JobQueue:
        name = arg.queue(queue_name)
        return JobQueue(name, tuple(self._store.find(Query((equal("queue_name", name),), NEWEST_FIRST))))

    # -- the worker's side -----------------------------------------------------------------------
    def claim(self, queue_name: str, worker_id: str, *, limit: int = 10,
              lease: timedelta = timedelta(seconds=30)) -> list[Job]:
        return self._claim(arg.queue(queue_name), arg.worker(worker_id), arg.limit(limit), arg.lease(lease),
                           self._now())

    def _claim(self, queue: str, worker: str, limit: int, lease: timedelta, now: datetime) -> list[Job]:
        claimed = self._queries.claim(queue, worker, limit, lease, now)
        if self._written is not None:  # the backend's own claim may go past the observed store
            self._written(claimed)
        return sorted(claimed, key=claim_order_key)

    def heartbeat(self, job_id: uuid.UUID, worker_id: str, attempt: int,
                  lease: timedelta = timedelta(seconds=30)) -> Job:
        job = self._job(job_id)
        return self._stored(job.heartbeat(arg.worker(worker_id), arg.attempt(attempt), arg.lease(lease), self._now()))

    def heartbeat_many(self, claimed: Sequence[Job], worker_id: str,
                       lease: timedelta = timedelta(seconds=30)) -> list[Job]:
        worker, extension, now = arg.worker(worker_id), arg.lease(lease), self._now()
        return self._acknowledged([(job, None) for job in arg.claimed_copies(claimed, "claimed")],
                                  lambda job, _: job.heartbeat(worker, job.attempt, extension, now))

    def report_progress(self, job_id: uuid.UUID, worker_id: str, attempt: int, progress: float) -> Job:
        checked = progress_argument(progress)
        return self._stored(self._job(job_id).with_progress(arg.worker(worker_id), arg.attempt(attempt), checked,
                                                            self._now()))

    def complete(self, job_id: uuid.UUID, worker_id: str, attempt: int,
                 result: Mapping[str, JsonValue] | None = None, *, claimed: Job | None = None) -> Job:
        checked = None if result is None else json_object(result, "result")
        worker, claim, now = arg.worker(worker_id), arg.attempt(attempt), self._now()
        if claimed is not None:
            [copy] = arg.claimed_copies([claimed], "claimed")
            if copy.id != parse_id(job_id, "job_id"):
                raise ValidationError("claimed", f"is job {copy.id}, not {job_id}")
            try:  # one write when the copy is current; else decided on the stored job below
                return self._store.update(copy.completed(worker, claim, checked, now), keys_unchanged=True)
            except (LeaseLost, ConcurrencyConflict, NotFound):
                pass
        return self._stored(self._job(job_id).completed(worker, claim, checked, now))

    def complete_many(self, completions: Sequence[tuple[Job, Mapping[str, JsonValue] | None]],
                      worker_id: str) -> list[Job]:
        worker, pairs = arg.worker(worker_id), arg.completions(completions)
        return self._completed(pairs, worker, self._now())

    def _completed(self, pairs: list[tuple[Job, dict[str, JsonValue] | None]], worker: str, now: datetime) -> list[Job]:
        return self._acknowledged(pairs, lambda job, result: job.completed(worker, job.attempt, result, now))

    def complete_and_claim(self, completions: Sequence[tuple[Job, Mapping[str, JsonValue] | None]], worker_id: str,
                           queue_name: str, *, limit: int = 10,
                           lease: timedelta = timedelta(seconds=30)) -> tuple[list[uuid.UUID], list[Job]]:
        worker, pairs = arg.worker(worker_id), arg.completions(completions)
        queue, size, extension, now = arg.queue(queue_name), arg.limit(limit), arg.lease(lease), self._now()
        together = self._queries.complete_and_claim(pairs, worker, queue, size, extension, now)
        if together is None:
            completed = [job.id for job in self._completed(pairs, worker, now)]
            return completed, self._claim(queue, worker, size, extension, now)
        done, claimed = set(together[0]), together[1]
        if self._written is not None:  # the statement went past the observed store
            self._written([job for job, _ in pairs if job.id in done] + claimed)
        return [job.id for job, _ in pairs if job.id in done], sorted(claimed, key=claim_order_key)

    def _acknowledged(self, claims: list[tuple[Job, Any]], move: Callable[[Job, Any], Job]) -> list[Job]:
        """`move` applied to each claimed copy and stored where the copy is current (one statement
        where the backend can), then decided again on the stored job for the copies that moved on:
        those stored, in the given order; a claim no longer current is left out."""
        moves: list[tuple[Job, Job]] = []
        for job, argument in claims:
            try:
                moves.append((job, move(job, argument)))
            except LeaseLost:  # the copy itself is not a current claim; the stored job decides
                continue
        stored = {job.id: job for job in self._store.update_current(
            [after for _, after in moves], keys_unchanged=True, fields=changed_fields(moves))}
        for job, argument in claims:
            if job.id in stored:
                continue
            current = self._store.get(job.id)
            if current is None or current.attempt != job.attempt:
                continue
            try:
                stored[job.id] = self._store.update(move(current, argument), keys_unchanged=True)
            except (LeaseLost, ConcurrencyConflict, NotFound):
                continue
        return [stored[job.id] for job, _ in claims if job.id in stored]

    def fail(self, job_id: uuid.UUID, worker_id: str, attempt: int, error: str) -> Job:
        message = text_argument(error, "error")
        return self._stored(self._job(job_id).failed(arg.worker(worker_id), arg.attempt(attempt), message, self._now(),
                                                     self._backoff))

    def release(self, job_id: uuid.UUID, worker_id: str, attempt: int) -> Job:
        return self._stored(self._job(job_id).released(arg.worker(worker_id), arg.attempt(attempt), self._now()))

    def cancel(self, job_id: uuid.UUID) -> Job:
        return self._stored(self._job(job_id).cancelled(self._now()))

    def requeue(self, job_id: uuid.UUID) -> Job:
        # Queued again, its deduplication key may clash with a newer live job: the key is checked.
        return self._store.update(self._job(job_id).requeued(self._now()))

    def recover_expired_leases(self, limit: int = 100) -> list[Job]:
        now = self._now()
        expired = self._store.find(Query((equal("status", JobStatus.RUNNING),
                                          Condition("lease_expires_at", Operator.LTE, now)), limit=arg.limit(limit)))
        if not expired:
            return []
        return self._store.update_many([job.rescued(now, self._max_rescues) for job in expired], keys_unchanged=True)

    def list_dead_letters(self, queue_name: str | None = None,
                          page: CursorPageRequest | None = None) -> CursorPage[Job]:
        request = CursorPageRequest() if page is None else page
        plan = plan_listing(self._schema, JobFilters(status=JobStatus.FAILED,
                                                     queue_name=None if queue_name is None else arg.queue(queue_name)),
                            DEAD_LETTER_ORDER, request)
        rows = self._store.find(Query(plan.conditions, plan.sort, limit=plan.limit + 1, after=plan.after))
        return CursorPage(rows[: plan.limit], next_cursor(plan, rows))


JobQueriesFactory = Callable[[RecordStore[Job]], JobQueries]


class JobsWork(ContextUnitOfWork, JobsUnitOfWork):
    schemas: ClassVar[tuple[RecordSchema[Any], ...]] = (JOB_SCHEMA, PROCESSING_SCHEMA, CHUNK_SCHEMA)

    def __init__(self, backend: Backend[Any, Any], scope: TenantScope, *, clock: Clock, queries: JobQueriesFactory,
                 backoff: Backoff, max_rescues: int, job_changes: Written | None = None) -> None:
        super().__init__(backend, scope, clock)
        self._queries = queries
        self._backoff = backoff
        self._max_rescues = max_rescues
        self._job_changes = job_changes

    @property
    def jobs(self) -> JobRepository:
        return self._repository("jobs", self._jobs)

    def _jobs(self) -> Jobs:
        store = self.store(JOB_SCHEMA)
        queries = self._queries(store)  # a backend's own claim reads its own store
        if self._job_changes is None:
            return Jobs(store, queries, self.clock, self._backoff, self._max_rescues)
        return Jobs(ObservedStore(store, self.after_commit, self._job_changes), queries, self.clock, self._backoff,
                    self._max_rescues, written=self._written_by_queries)

    def _written_by_queries(self, jobs: list[Job]) -> None:
        """Jobs a backend's own statement wrote (the claim), which the observed store did not see."""
        changes = self._job_changes
        if changes is not None and jobs:
            keys = [(job.tenant_id, job.id) for job in jobs]
            self.after_commit(lambda: changes(keys))

    @property
    def processings(self) -> ParallelProcessingRepository:
        return self._repository("processings", lambda: Processings(self.store(PROCESSING_SCHEMA),
                                                                   self.store(CHUNK_SCHEMA)))


def jobs_units(backend: Backend[Any, Any], *, clock: Clock | None = None, queries: JobQueriesFactory | None = None,
               backoff: Backoff | None = None, max_rescues: int = MAX_RESCUES,
               job_changes: Written | None = None) -> ContextFactory[JobsUnitOfWork]:
    """`queries`: the backend's own claim (SQL's `SqlJobQueries`); `backoff`: the retry delays;
    `max_rescues`: how often a job whose worker vanished is queued again before it fails;
    `job_changes`: told after each commit which jobs it wrote (a cache drops them)."""
    time = clock if clock is not None else SystemClock()
    build = queries if queries is not None else StoreJobQueries
    delays = backoff if backoff is not None else Backoff()
    return ContextFactory(backend, "jobs", JobsWork.schemas, lambda scope: JobsWork(
        backend, scope, clock=time, queries=build, backoff=delays, max_rescues=max_rescues, job_changes=job_changes))


__all__ = ["DEDUPLICATION_KEY", "Jobs", "JobsWork", "Processings", "jobs_units"]
