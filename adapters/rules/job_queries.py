"""The job queue's claim: a query each backend may answer its own way (SQL: one statement with
`FOR UPDATE SKIP LOCKED` on PostgreSQL), with a record-store default for the others.

The default reads the next jobs and updates each through `Job.claimed`, version-checked: on SQLite
the transaction holds the write lock from its start (`BEGIN IMMEDIATE`), so two claims cannot
interleave; on memory a second concurrent claim of the same job fails at commit with
`ConcurrencyConflict`, and the claiming use case tries again.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from datetime import datetime, timedelta

from adapters.records.store import Query, RecordStore, equal
from domain.jobs.job import Job, JobStatus
from domain.shared.filters import Condition, Operator
from domain.shared.sorting import Sort

CLAIM_ORDER = Sort.parse("-priority,created_at,id")


def claim_order_key(job: Job) -> tuple[int, datetime, str]:
    return (-job.priority, job.created_at, str(job.id))


def claimable(queue_name: str, now: datetime) -> tuple[Condition, ...]:
    return (equal("queue_name", queue_name), equal("status", JobStatus.QUEUED),
            Condition("scheduled_at", Operator.LTE, now))


class JobQueries(ABC):
    @abstractmethod
    def claim(self, queue_name: str, worker_id: str, limit: int, lease: timedelta, now: datetime) -> list[Job]:
        """The claimed jobs in claim order, each at `Job.claimed(worker_id, lease, now)`."""


class StoreJobQueries(JobQueries):
    def __init__(self, jobs: RecordStore[Job]) -> None:
        self._jobs = jobs

    def claim(self, queue_name: str, worker_id: str, limit: int, lease: timedelta, now: datetime) -> list[Job]:
        ready = self._jobs.find(Query(claimable(queue_name, now), CLAIM_ORDER, limit=limit))
        if not ready:
            return []
        return self._jobs.update_many([job.claimed(worker_id, lease, now) for job in ready], keys_unchanged=True)
