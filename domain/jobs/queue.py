"""Spec 002's JobQueue: a queue by name and the jobs it holds, as `save` and `load` see it."""

from __future__ import annotations

from dataclasses import dataclass

from domain.jobs.job import Job, JobStatus


@dataclass(frozen=True, slots=True)
class JobQueue:
    name: str
    jobs: tuple[Job, ...] = ()

    @property
    def id(self) -> str:
        return self.name

    def get_all_jobs(self) -> list[Job]:
        return list(self.jobs)

    def get_pending_jobs(self) -> list[Job]:
        """Queued jobs in claim order: priority high first, then oldest first."""
        queued = [job for job in self.jobs if job.status is JobStatus.QUEUED]
        return sorted(queued, key=lambda job: (-job.priority, job.created_at, job.id))

    def with_job(self, job: Job) -> JobQueue:
        others = tuple(existing for existing in self.jobs if existing.id != job.id)
        return JobQueue(self.name, (*others, job))
