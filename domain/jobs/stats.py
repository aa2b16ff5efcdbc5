"""A queue's statistics (spec 002's `JobStats`, spec 004's statistics)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from domain.jobs.job import JobStatus


@dataclass(frozen=True, slots=True)
class JobStats:
    queue_name: str | None
    counts: Mapping[JobStatus, int] = field(default_factory=dict)
    """Jobs per status; every status is present, zero when no job has it."""

    @classmethod
    def from_results(cls, queue_name: str | None, rows: Mapping[Any, int]) -> JobStats:
        counts = {status: 0 for status in JobStatus}
        for status, count in rows.items():
            counts[JobStatus(status)] += int(count)
        return cls(queue_name, counts)

    def __getitem__(self, status: JobStatus | str) -> int:
        return self.counts[JobStatus(status)]

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def queued(self) -> int:
        return self.counts[JobStatus.QUEUED]

    @property
    def running(self) -> int:
        return self.counts[JobStatus.RUNNING]

    @property
    def completed(self) -> int:
        return self.counts[JobStatus.COMPLETED]

    @property
    def failed(self) -> int:
        return self.counts[JobStatus.FAILED]

    @property
    def cancelled(self) -> int:
        return self.counts[JobStatus.CANCELLED]
