"""The claims a worker process holds, and the lock each is acknowledged under.

Each claim, by (job id, attempt), is kept as its last claim, heartbeat or progress report returned
it: the copy an acknowledgement is fenced with. A job failed and claimed again by another thread of
the worker is another claim. Each claim has a lock: no heartbeat moves a job between the reading of
its copy and the commit of its acknowledgement. Every thread takes its unit of work first and a
claim's lock second, never the other way round (on SQLite the transaction is a lock too):
`acknowledging` is that order for a batch.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterable, Mapping, Sequence
from types import TracebackType
from typing import Any

from pydantic import JsonValue

from domain.jobs.job import Job
from ports.jobs import JobsUnitOfWork, JobsUnitOfWorkFactory

Completion = tuple[Job, Mapping[str, JsonValue] | None]
"""A finished job (as the worker ran it) and its handler's result."""


class HeldClaims:
    def __init__(self) -> None:
        self._copies: dict[tuple[uuid.UUID, int], Job] = {}
        self._locks: dict[tuple[uuid.UUID, int], threading.Lock] = {}
        self._lock = threading.Lock()

    def hold(self, jobs: Iterable[Job]) -> None:
        """Claims just made."""
        with self._lock:
            for job in jobs:
                self._copies[job.id, job.attempt] = job
                self._locks[job.id, job.attempt] = threading.Lock()

    def lock_of(self, job: Job) -> threading.Lock:
        return self._locks[job.id, job.attempt]

    def current(self, job: Job) -> Job:
        """The newest copy of `job`'s claim (`job` itself once forgotten)."""
        with self._lock:
            return self._copies.get((job.id, job.attempt), job)

    def remember(self, job: Job) -> None:
        """The newest copy of a claim still held (a heartbeat's or a progress report's)."""
        with self._lock:
            if (job.id, job.attempt) in self._copies:
                self._copies[job.id, job.attempt] = job

    def forget(self, jobs: Iterable[Job]) -> None:
        with self._lock:
            for job in jobs:
                self._copies.pop((job.id, job.attempt), None)
                self._locks.pop((job.id, job.attempt), None)

    def all(self) -> list[tuple[Job, threading.Lock]]:
        """Every claim held, as its newest copy, with its lock."""
        with self._lock:
            return [(job, self._locks[key]) for key, job in self._copies.items()]


class acknowledging:  # noqa: N801 - used like a function, in `with`
    """A system unit of work, then the locks of the finished jobs, released after it commits; gives
    the unit of work and the finished jobs' newest copies with their results."""

    def __init__(self, units: JobsUnitOfWorkFactory, held: HeldClaims, finished: Sequence[Completion]) -> None:
        self._units = units
        self._held = held
        self._finished = finished
        self._taken: list[threading.Lock] = []
        self._work: Any = None

    def __enter__(self) -> tuple[JobsUnitOfWork, list[Completion]]:
        self._work = self._units.system()
        uow = self._work.__enter__()
        try:
            copies: list[Completion] = []
            for job, result in self._finished:
                lock = self._held.lock_of(job)
                lock.acquire()
                self._taken.append(lock)
                copies.append((self._held.current(job), result))
        except BaseException as error:
            self.__exit__(type(error), error, error.__traceback__)
            raise
        return uow, copies

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 traceback: TracebackType | None) -> None:
        try:
            self._work.__exit__(exc_type, exc, traceback)
        finally:
            for lock in self._taken:
                lock.release()
            self._taken.clear()
