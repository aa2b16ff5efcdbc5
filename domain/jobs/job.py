"""A job of a queue: what to run, for which tenant, and where it stands.

    QUEUED -> RUNNING -> COMPLETED | FAILED | CANCELLED
    RUNNING -> QUEUED        (a failure with retries left, a lease rescued, a worker releasing it)
    QUEUED -> CANCELLED, FAILED | CANCELLED -> QUEUED (requeued from the dead letter)

A claim makes the job RUNNING for one worker and one attempt (`attempt` counts claims) until its
lease expires; every acknowledgement names both, and one from another worker or an older attempt is
refused with `LeaseLost` (fencing). Spec 004 calls a running job PROCESSING: `JobStatus.PROCESSING`
is the same member as `JobStatus.RUNNING`.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from enum import IntEnum, StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, Field, JsonValue

from domain.jobs.backoff import Backoff
from domain.jobs.errors import LeaseLost
from domain.shared.entity import TenantOwned
from domain.shared.errors import InvalidTransition, ValidationError
from domain.shared.lifecycle import TransitionTable
from domain.shared.time import UtcDatetime

NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:\-]{0,99}$")
MIN_PRIORITY, MAX_PRIORITY = 0, 100
MAX_RETRIES_LIMIT = 100
DEFAULT_QUEUE = "default"
DEFAULT_LEASE = timedelta(seconds=30)
MAX_RESCUES = 3
"""How often a job whose worker vanished is put back before it is failed as poison: a job that
kills its worker every time must not take the whole fleet down with it."""


def _name(field: str) -> Any:
    def check(value: str) -> str:
        if not NAME_PATTERN.match(value):
            raise ValidationError(field, f"{value!r} is not a name: 1 to 100 of letters, digits, '_', '.', ':', '-'")
        return value

    return AfterValidator(check)


QueueName = Annotated[str, _name("queue_name")]
JobTypeName = Annotated[str, _name("job_type")]


class JobStatus(StrEnum):
    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"
    PROCESSING = "RUNNING"  # spec 004's name for a running job: an alias of RUNNING


FINISHED = frozenset({JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED})
"""Statuses `cleanup` may remove once old enough."""
LIVE = frozenset({JobStatus.QUEUED, JobStatus.RUNNING})
"""Statuses that hold a deduplication key."""


class JobPriority(IntEnum):
    """Spec 002's named priorities; any integer from 0 to 100 is accepted, higher runs first."""

    LOW = 1
    NORMAL = 2
    HIGH = 5
    CRITICAL = 10


class JobType(StrEnum):
    """Spec 004's job types; any name is accepted."""

    DOCUMENT_UPLOAD = "document_upload"
    QUESTION_PROCESSING = "question_processing"
    TRANSCRIPT_PROCESSING = "transcript_processing"


JOB_LIFECYCLE = TransitionTable[JobStatus]("job", {
    JobStatus.QUEUED: frozenset({JobStatus.RUNNING, JobStatus.CANCELLED}),
    JobStatus.RUNNING: frozenset({JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED, JobStatus.QUEUED}),
    JobStatus.COMPLETED: frozenset(),
    JobStatus.FAILED: frozenset({JobStatus.QUEUED}),
    JobStatus.CANCELLED: frozenset({JobStatus.QUEUED}),
})


class Job(TenantOwned):
    queue_name: QueueName = DEFAULT_QUEUE
    job_type: JobTypeName
    payload: dict[str, JsonValue] = Field(default_factory=dict)
    metadata: dict[str, JsonValue] = Field(default_factory=dict)
    workspace_id: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    priority: int = Field(default=JobPriority.NORMAL, ge=MIN_PRIORITY, le=MAX_PRIORITY, strict=True)
    status: JobStatus = JobStatus.QUEUED
    progress: float = Field(default=0.0, ge=0.0, le=100.0, allow_inf_nan=False)
    retry_count: int = Field(default=0, ge=0, le=MAX_RETRIES_LIMIT)
    max_retries: int = Field(default=3, ge=0, le=MAX_RETRIES_LIMIT, strict=True)
    error_message: Annotated[str, Field(max_length=10_000)] | None = None
    result: dict[str, JsonValue] | None = None
    worker_id: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    attempt: int = Field(default=0, ge=0, le=2**31 - 1)
    rescue_count: int = Field(default=0, ge=0, le=2**31 - 1)
    lease_expires_at: UtcDatetime | None = None
    scheduled_at: UtcDatetime
    started_at: UtcDatetime | None = None
    completed_at: UtcDatetime | None = None
    deduplication_key: Annotated[str, Field(min_length=1, max_length=500)] | None = None

    # -- the worker's side: claim, heartbeat, progress, outcome (all fenced) ---------------------
    def claimed(self, worker_id: str, lease: timedelta, at: datetime) -> Job:
        JOB_LIFECYCLE.check(self.status, JobStatus.RUNNING)
        return self.evolve(
            status=JobStatus.RUNNING, worker_id=worker_id, attempt=self.attempt + 1,
            lease_expires_at=at + lease, started_at=at, completed_at=None, updated_at=at,
        )

    def fenced(self, worker_id: str, attempt: int) -> Job:
        """This job, if `worker_id`'s claim number `attempt` is still the current one."""
        if self.status is not JobStatus.RUNNING:
            raise LeaseLost(self.id, f"the job is {self.status.value}, no longer running for {worker_id!r}")
        if self.worker_id != worker_id or self.attempt != attempt:
            raise LeaseLost(self.id, f"attempt {attempt} of {worker_id!r} is not the current claim "
                                     f"(attempt {self.attempt} of {self.worker_id!r})")
        return self

    def heartbeat(self, worker_id: str, attempt: int, lease: timedelta, at: datetime) -> Job:
        self.fenced(worker_id, attempt)
        return self.evolve(lease_expires_at=at + lease, updated_at=at)

    def with_progress(self, worker_id: str, attempt: int, progress: float, at: datetime) -> Job:
        self.fenced(worker_id, attempt)
        return self.evolve(progress=progress, updated_at=at)

    def completed(self, worker_id: str, attempt: int, result: dict[str, JsonValue] | None, at: datetime) -> Job:
        self.fenced(worker_id, attempt)
        # The last error stays: it says why the job needed more than one attempt.
        return self.evolve(status=JobStatus.COMPLETED, progress=100.0, result=result, completed_at=at,
                           lease_expires_at=None, updated_at=at)

    def failed(self, worker_id: str, attempt: int, error: str, at: datetime, backoff: Backoff) -> Job:
        """Back to the queue after a backoff while retries are left; FAILED (the dead letter) after."""
        self.fenced(worker_id, attempt)
        message = error[:10_000]
        if self.retry_count < self.max_retries:
            return self.evolve(status=JobStatus.QUEUED, retry_count=self.retry_count + 1, error_message=message,
                               scheduled_at=at + backoff.delay(self.retry_count), worker_id=None,
                               lease_expires_at=None, updated_at=at)
        return self.evolve(status=JobStatus.FAILED, error_message=message, completed_at=at,
                           lease_expires_at=None, updated_at=at)

    def released(self, worker_id: str, attempt: int, at: datetime) -> Job:
        """Given back unfinished (a worker stopping): queued again at once, no retry spent."""
        self.fenced(worker_id, attempt)
        return self.evolve(status=JobStatus.QUEUED, worker_id=None, lease_expires_at=None, updated_at=at)

    # -- the queue's side ------------------------------------------------------------------------
    def lease_expired(self, at: datetime) -> bool:
        return self.status is JobStatus.RUNNING and self.lease_expires_at is not None and self.lease_expires_at <= at

    def rescued(self, at: datetime, max_rescues: int = MAX_RESCUES) -> Job:
        """Its worker vanished (the lease ran out): queued again, or FAILED once rescued too often."""
        if not self.lease_expired(at):
            raise InvalidTransition("job", self.status.value, "rescued (its lease has not expired)")
        if self.rescue_count >= max_rescues:
            return self.evolve(status=JobStatus.FAILED, rescue_count=self.rescue_count + 1, completed_at=at,
                               error_message=f"its worker was lost {self.rescue_count + 1} times "
                                             f"(last: {self.worker_id})",
                               lease_expires_at=None, updated_at=at)
        return self.evolve(status=JobStatus.QUEUED, rescue_count=self.rescue_count + 1, worker_id=None,
                           lease_expires_at=None, scheduled_at=at, updated_at=at,
                           error_message=f"the lease of {self.worker_id} (attempt {self.attempt}) expired")

    def cancelled(self, at: datetime) -> Job:
        JOB_LIFECYCLE.check(self.status, JobStatus.CANCELLED)
        return self.evolve(status=JobStatus.CANCELLED, completed_at=at, lease_expires_at=None, updated_at=at)

    def requeued(self, at: datetime) -> Job:
        """Out of the dead letter (FAILED or CANCELLED) and queued again with its retries restored."""
        if self.status not in (JobStatus.FAILED, JobStatus.CANCELLED):
            raise InvalidTransition("job", self.status.value, JobStatus.QUEUED.value)
        return self.evolve(status=JobStatus.QUEUED, retry_count=0, rescue_count=0, worker_id=None,
                           lease_expires_at=None, scheduled_at=at, completed_at=None, progress=0.0,
                           updated_at=at)

    def with_status(self, status: JobStatus, progress: float | None, at: datetime) -> Job:
        """Spec 004's `update_job_status`: an operator's move, checked against the lifecycle (the
        same status again only updates the progress), with its timestamps."""
        if status is not self.status:
            JOB_LIFECYCLE.check(self.status, status)
        changes: dict[str, Any] = {"status": status, "updated_at": at}
        if progress is not None:
            changes["progress"] = progress
        if status is JobStatus.RUNNING and self.started_at is None:
            changes["started_at"] = at
        if status in FINISHED:
            changes.update(completed_at=at, lease_expires_at=None)
            if status is JobStatus.COMPLETED and progress is None:
                changes["progress"] = 100.0
        if status is JobStatus.QUEUED:
            changes.update(worker_id=None, lease_expires_at=None, completed_at=None)
        return self.evolve(**changes)
