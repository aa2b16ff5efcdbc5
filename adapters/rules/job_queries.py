"""The job queue's claim, its counts per status and its order: queries each backend may answer its
own way (SQL: one statement each, the claim with `FOR UPDATE SKIP LOCKED` on PostgreSQL), with
record-store defaults for the others.

The default reads the next jobs and updates each through `Job.claimed`, version-checked: on SQLite
the transaction holds the write lock from its start (`BEGIN IMMEDIATE`), so two claims cannot
interleave; on memory a second concurrent claim of the same job fails at commit with
`ConcurrencyConflict`, and the claiming use case tries again.
"""

from __future__ import annotations

import uuid
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from pydantic import JsonValue

from adapters.records.store import Query, RecordStore, equal
from domain.jobs.job import Job, JobStatus
from domain.shared.filters import Condition, Operator
from domain.shared.sorting import Sort

CLAIM_ORDER = Sort.parse("-priority,created_at,id")


def claim_order_key(job: Job) -> tuple[int, datetime, uuid.UUID]:
    # UUIDs compare by their 128-bit value: the order of PostgreSQL's uuid, of SQLite's hex text
    # and of the canonical text alike, without writing each id out as text.
    return (-job.priority, job.created_at, job.id)


def claimable(queue_name: str, now: datetime) -> tuple[Condition, ...]:
    return (equal("queue_name", queue_name), equal("status", JobStatus.QUEUED),
            Condition("scheduled_at", Operator.LTE, now))


class JobQueries(ABC):
    @abstractmethod
    def claim(self, queue_name: str, worker_id: str, limit: int, lease: timedelta, now: datetime) -> list[Job]:
        """The claimed jobs in claim order, each at `Job.claimed(worker_id, lease, now)`."""

    def complete_and_claim(self, completions: Sequence[tuple[Job, Mapping[str, JsonValue] | None]], worker_id: str,
                           queue_name: str, limit: int, lease: timedelta,
                           now: datetime) -> tuple[list[uuid.UUID], list[Job]] | None:
        """The ids of the jobs of `completions` completed (each as `Job.completed` completes it, left
        out where its claim moved on) and the jobs claimed (as `claim`), in one statement; None where
        the backend has no such statement (the repository then completes and claims in two steps)."""
        return None

    @abstractmethod
    def counts_by_status(self, queue_name: str) -> dict[JobStatus, int]:
        """The queue's visible jobs per status (statuses no job has are absent)."""

    @abstractmethod
    def queued_ids(self, queue_name: str) -> list[uuid.UUID]:
        """The ids of the queue's visible queued jobs in claim order (scheduled ones included)."""


class StoreJobQueries(JobQueries):
    def __init__(self, jobs: RecordStore[Job]) -> None:
        self._jobs = jobs

    def counts_by_status(self, queue_name: str) -> dict[JobStatus, int]:
        counts = {status: self._jobs.count((equal("queue_name", queue_name), equal("status", status)))
                  for status in JobStatus}
        return {status: count for status, count in counts.items() if count}

    def queued_ids(self, queue_name: str) -> list[uuid.UUID]:
        queued = (equal("queue_name", queue_name), equal("status", JobStatus.QUEUED))
        return [job.id for job in self._jobs.find(Query(queued, CLAIM_ORDER))]

    def claim(self, queue_name: str, worker_id: str, limit: int, lease: timedelta, now: datetime) -> list[Job]:
        ready = self._jobs.find(Query(claimable(queue_name, now), CLAIM_ORDER, limit=limit))
        if not ready:
            return []
        return self._jobs.update_many([job.claimed(worker_id, lease, now) for job in ready], keys_unchanged=True)
