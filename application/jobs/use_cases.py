"""Jobs use cases: what services call to queue jobs and read their queues.

`EnqueueJob` commits the job, then wakes the queue's idle workers (Redis pub/sub when configured,
PostgreSQL NOTIFY otherwise, in-process elsewhere): a job queued another way is picked up within
the workers' poll interval.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from pydantic import Field, JsonValue

from application.caching.patterns import get_or_set_record, record_key
from application.commands import Command
from domain.jobs.job import DEFAULT_QUEUE, MAX_PRIORITY, MIN_PRIORITY, Job, JobPriority, JobStatus
from domain.jobs.stats import JobStats
from domain.shared.errors import StorageUnavailable
from domain.shared.ids import parse_id
from ports.caching import CacheProvider
from ports.clock import Clock
from ports.jobs import JobsUnitOfWorkFactory
from ports.queue_state import QueueState
from ports.wakeups import Waker

log = logging.getLogger("portside.jobs")


class NewJob(Command):
    job_type: str
    queue_name: str = DEFAULT_QUEUE
    payload: dict[str, JsonValue] = Field(default_factory=dict)
    metadata: dict[str, JsonValue] = Field(default_factory=dict)
    workspace_id: str | None = None
    priority: int = Field(default=JobPriority.NORMAL, ge=MIN_PRIORITY, le=MAX_PRIORITY, strict=True)
    max_retries: int = Field(default=3, ge=0, le=100, strict=True)
    delay: timedelta | None = None
    """Run no sooner than this long from now."""
    deduplication_key: str | None = None


class EnqueueJob:
    def __init__(self, units: JobsUnitOfWorkFactory, clock: Clock, waker: Waker) -> None:
        self._units = units
        self._clock = clock
        self._waker = waker

    def __call__(self, tenant_id: uuid.UUID, command: NewJob) -> Job:
        return self.many(tenant_id, [command])[0]

    def many(self, tenant_id: uuid.UUID, commands: Sequence[NewJob]) -> list[Job]:
        """Queue several jobs in one transaction; one wake-up per queue."""
        tenant = parse_id(tenant_id, "tenant_id")
        now = self._clock.now()
        with self._units.for_tenant(tenant) as uow:
            jobs = uow.jobs.create_jobs([{
                "job_type": command.job_type, "workspace_id": command.workspace_id, "metadata": command.metadata,
                "payload": command.payload, "queue_name": command.queue_name, "priority": command.priority,
                "max_retries": command.max_retries, "scheduled_at": _when(now, command.delay),
                "deduplication_key": command.deduplication_key,
            } for command in commands])
        for queue in sorted({job.queue_name for job in jobs}):
            self._waker.notify(queue)
        return jobs


def _when(now: datetime, delay: timedelta | None) -> datetime | None:
    return None if delay is None else now + delay


def job_key(job_id: uuid.UUID) -> str:
    return record_key("job", job_id)


class GetJob:
    """A job of the tenant, cache-aside (spec 004's `get_job_with_cache`): the tenant's cache first,
    else the database, stored for `ttl` seconds. Every committed write of a job drops its entry
    (`drop_cached_jobs`, the jobs unit of work's after-commit listener), so a reader never sees a job
    state older than the last commit's. `ttl` 0: straight from the database."""

    def __init__(self, units: JobsUnitOfWorkFactory, caches: CacheProvider, ttl: float) -> None:
        self._units = units
        self._caches = caches
        self._ttl = ttl

    def __call__(self, tenant_id: uuid.UUID, job_id: uuid.UUID) -> Job | None:
        tenant = parse_id(tenant_id, "tenant_id")
        key = parse_id(job_id, "job_id")

        def load() -> Job | None:
            with self._units.for_tenant(tenant) as uow:
                return uow.jobs.get_by_id(key)

        if self._ttl <= 0:
            return load()
        return get_or_set_record(self._caches.for_tenant(tenant), job_key(key), load, model=Job, ttl=self._ttl)


def drop_cached_jobs(caches: CacheProvider) -> Callable[[Sequence[tuple[uuid.UUID, uuid.UUID]]], None]:
    """The jobs unit of work's `job_changes` listener: drops the cached record of every job written."""

    def drop(written: Sequence[tuple[uuid.UUID, uuid.UUID]]) -> None:
        by_tenant: dict[uuid.UUID, list[str]] = {}
        for tenant, job_id in written:
            by_tenant.setdefault(tenant, []).append(job_key(job_id))
        for tenant, keys in by_tenant.items():  # one delete per tenant: a batch is one round trip
            caches.for_tenant(tenant).delete_many(keys)

    return drop


class GetJobStats:
    """A queue's jobs per status, across tenants (an operator's view: system scope). With a queue
    state and `ttl` > 0, a snapshot at most `ttl` seconds old is answered from it, and rebuilt
    from the database when missing; without it (or with the queue state unreachable) every call
    counts in the database."""

    def __init__(self, units: JobsUnitOfWorkFactory, queue_state: QueueState | None = None, ttl: float = 0) -> None:
        self._units = units
        self._state = queue_state if ttl > 0 else None
        self._ttl = ttl
        self._warned = False

    def __call__(self, queue_name: str | None = None) -> JobStats:
        state = self._state
        if state is not None:
            try:
                cached = state.stats(queue_name)
                if cached is not None:
                    return JobStats.from_results(queue_name, cached)
            except StorageUnavailable as error:
                self._unreachable(error)
                state = None
        with self._units.system() as uow:
            stats = uow.jobs.get_job_stats(queue_name)
        if state is not None:
            try:
                state.store_stats(queue_name, {status.value: count for status, count in stats.counts.items()},
                                  self._ttl)
            except StorageUnavailable as error:
                self._unreachable(error)
        return stats

    def _unreachable(self, error: StorageUnavailable) -> None:
        if not self._warned:
            log.warning("queue state unreachable, job statistics are counted in the database: %s", error)
            self._warned = True


class GetQueuePosition:
    """A queued job's place in its queue (1: the next claimed), asked by the job's own tenant; None
    once it is no longer queued. The place counts every tenant's jobs ahead, as workers take them
    (the repository's `get_queue_position` counts what its unit of work sees). With a queue state
    and `ttl` > 0 the place comes from the queue's order snapshot (at most `ttl` seconds old: jobs
    claimed since still count as ahead), rebuilt from the database when missing; a job queued
    after the snapshot, or a queue state unreachable, gets the exact count from the database."""

    def __init__(self, units: JobsUnitOfWorkFactory, queue_state: QueueState | None = None, ttl: float = 0) -> None:
        self._units = units
        self._state = queue_state if ttl > 0 else None
        self._ttl = ttl
        self._warned = False

    def __call__(self, tenant_id: uuid.UUID, job_id: uuid.UUID) -> int | None:
        tenant = parse_id(tenant_id, "tenant_id")
        key = parse_id(job_id, "job_id")
        with self._units.for_tenant(tenant) as uow:
            job = uow.jobs.get_by_id_or_raise(key)  # another tenant's job is a missing one
        if job.status is not JobStatus.QUEUED:
            return None
        if self._state is None:
            return self._counted(key)
        try:
            position = self._snapshot_position(self._state, job.queue_name, key)
        except StorageUnavailable as error:
            if not self._warned:
                log.warning("queue state unreachable, queue positions are counted in the database: %s", error)
                self._warned = True
            position = None
        return position if position is not None else self._counted(key)

    def _counted(self, job_id: uuid.UUID) -> int | None:
        with self._units.system() as uow:
            return uow.jobs.get_queue_position(job_id)

    def _snapshot_position(self, state: QueueState, queue_name: str, job_id: uuid.UUID) -> int | None:
        found = state.rank(queue_name, job_id)
        if found.taken:
            return found.position
        with self._units.system() as uow:
            order = uow.jobs.list_queue_order(queue_name)
        state.store_order(queue_name, order, self._ttl)
        return next((place for place, queued in enumerate(order, start=1) if queued == job_id), None)
