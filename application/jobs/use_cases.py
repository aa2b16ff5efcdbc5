"""Jobs use cases: what services call to queue jobs and read their queues.

`EnqueueJob` commits the job, then wakes the queue's idle workers (Redis pub/sub when configured,
PostgreSQL NOTIFY otherwise, in-process elsewhere): a job queued another way is picked up within
the workers' poll interval.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from pydantic import Field, JsonValue

from application.caching.patterns import get_or_set_record, record_key
from application.commands import Command
from domain.jobs.job import DEFAULT_QUEUE, MAX_PRIORITY, MIN_PRIORITY, Job, JobPriority
from domain.jobs.stats import JobStats
from domain.shared.ids import parse_id
from ports.caching import CacheProvider
from ports.clock import Clock
from ports.jobs import JobsUnitOfWorkFactory
from ports.wakeups import Waker


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
    """A queue's jobs per status, across tenants (an operator's view: system scope)."""

    def __init__(self, units: JobsUnitOfWorkFactory) -> None:
        self._units = units

    def __call__(self, queue_name: str | None = None) -> JobStats:
        with self._units.system() as uow:
            return uow.jobs.get_job_stats(queue_name)
