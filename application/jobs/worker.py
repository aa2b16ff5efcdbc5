"""The worker: claims jobs of one queue, runs their handlers, and acknowledges them, fenced.

Delivery is at least once, the effect exactly once: a handler writes through the unit of work the
worker gives it (`context.uow`, and any other context's unit of work opened inside it on the same
database joins its transaction), and those writes commit in the same transaction as the job's
completion, which is fenced by worker id and attempt. A worker that lost its lease (it stalled, its
job was rescued and claimed again) meets `LeaseLost` at completion: its transaction rolls back and
none of its writes land.

Each of `concurrency` threads claims a batch, runs it job by job, and claims again; one heartbeat
thread extends the leases of every job the process holds, and the process rescues expired leases of
any worker now and then. Idle threads wait on the waker (woken at once when a job is queued through
`EnqueueJob`, else after `idle_wait` seconds). `stop()` (SIGTERM in `portside worker`) lets each
thread finish its current job and gives the rest of its batch back.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from pydantic import JsonValue

from application.retry import retrying
from domain.jobs.errors import LeaseLost
from domain.jobs.job import Job
from domain.shared.errors import ConcurrencyConflict, NotFound, PortsideError, StorageUnavailable
from ports.jobs import JobsUnitOfWork, JobsUnitOfWorkFactory
from ports.wakeups import Waker

log = logging.getLogger("portside.jobs")


@dataclass
class JobContext:
    """What a handler is given: its job, the unit of work its writes go through (the job's tenant,
    the transaction that completes the job), and a way to report progress as it goes."""

    job: Job
    uow: JobsUnitOfWork
    _progress: Callable[[float], None]

    def report_progress(self, progress: float) -> None:
        """Stored at once, in a transaction of its own, so that readers see it while the job runs."""
        self._progress(progress)


Handler = Callable[[JobContext], Mapping[str, JsonValue] | None]
"""Runs one job; returns its result (stored on the job) or None; raises to fail it."""


@dataclass(frozen=True)
class WorkerSettings:
    queue_name: str
    concurrency: int = 1
    batch_size: int = 10
    lease: timedelta = timedelta(seconds=30)
    heartbeat_interval: timedelta = timedelta(seconds=10)
    idle_wait: float = 1.0
    """Seconds an idle thread waits for a wake-up before it looks again."""
    rescue_interval: timedelta = timedelta(seconds=5)
    worker_id: str = field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}")


@dataclass
class WorkerCounts:
    completed: int = 0
    failed: int = 0
    lost: int = 0
    released: int = 0


class Worker:
    def __init__(self, units: JobsUnitOfWorkFactory, handlers: Mapping[str, Handler], settings: WorkerSettings,
                 waker: Waker) -> None:
        self._units = units
        self._handlers = dict(handlers)
        self.settings = settings
        self._waker = waker
        self._stop = threading.Event()
        # Claims this process holds, by (job id, attempt): a job failed and claimed again by another
        # thread of this worker is another claim.
        self._held: dict[tuple[uuid.UUID, int], Job] = {}
        self._held_lock = threading.Lock()
        self._job_locks: dict[tuple[uuid.UUID, int], threading.Lock] = {}
        # Progress goes through its own thread: a unit of work opened in the handler's thread would
        # join the handler's transaction, and on SQLite a writer waiting for the handler's write lock
        # from the handler's own thread would wait for itself.
        self._progress = ThreadPoolExecutor(max_workers=1, thread_name_prefix="portside-progress")
        self.counts = WorkerCounts()
        self._counts_lock = threading.Lock()

    # -- running -------------------------------------------------------------------------------
    def run(self) -> WorkerCounts:
        """Serve the queue until `stop()`; the counts of what this worker did."""
        threads = [threading.Thread(target=self._serve, name=f"portside-worker-{n}", daemon=True)
                   for n in range(self.settings.concurrency)]
        beat = threading.Thread(target=self._heartbeats, name="portside-heartbeat", daemon=True)
        for thread in (*threads, beat):
            thread.start()
        for thread in threads:
            thread.join()
        self._stop.set()
        beat.join()
        self._progress.shutdown(wait=True)
        return self.counts

    def stop(self) -> None:
        self._stop.set()

    def run_once(self) -> int:
        """Claim one batch and run it in this thread; how many jobs were claimed (tests, cron-style use)."""
        batch = self._claim()
        self._run_batch(batch)
        return len(batch)

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                batch = self._claim()
            except StorageUnavailable as error:
                log.warning("worker %s: storage unavailable, retrying: %s", self.settings.worker_id, error)
                self._stop.wait(self.settings.idle_wait)
                continue
            if not batch:
                self._waker.wait(self.settings.queue_name, self.settings.idle_wait)
                continue
            self._run_batch(batch)

    def _run_batch(self, batch: list[Job]) -> None:
        for position, job in enumerate(batch):
            if self._stop.is_set():
                for rest in batch[position:]:
                    self._release(rest)
                return
            self._run(job)

    def _claim(self) -> list[Job]:
        def claim() -> list[Job]:
            with self._units.system() as uow:
                return uow.jobs.claim(self.settings.queue_name, self.settings.worker_id,
                                      limit=self.settings.batch_size, lease=self.settings.lease)

        jobs = retrying(claim, lost=(ConcurrencyConflict,))
        with self._held_lock:
            for job in jobs:
                self._held[job.id, job.attempt] = job
                self._job_locks[job.id, job.attempt] = threading.Lock()
        return jobs

    def _rescue(self) -> None:
        def rescue() -> list[Job]:
            with self._units.system() as uow:
                return uow.jobs.recover_expired_leases()

        for job in retrying(rescue, lost=(ConcurrencyConflict,)):
            log.warning("job %s %s: its worker's lease expired; %s (rescue %d)", job.id, job.job_type,
                        "queued again" if job.status.value == "QUEUED" else "failed", job.rescue_count)

    # -- one job -------------------------------------------------------------------------------
    def _run(self, job: Job) -> None:
        started = time.monotonic()
        handler = self._handlers.get(job.job_type)
        lock = self._job_locks[job.id, job.attempt]
        try:
            if handler is None:
                raise LookupError(f"no handler for job type {job.job_type!r}")
            # No heartbeat of this job between reading it and committing: the lock is taken before
            # `complete` and released after the block's commit. Every thread of the worker takes its
            # unit of work first and the job's lock second, never the other way round: on SQLite the
            # transaction is a lock too.
            locked = False
            try:
                with self._units.for_tenant(job.tenant_id) as uow:
                    result = handler(JobContext(job, uow, lambda progress: self._report(job, progress)))
                    lock.acquire()
                    locked = True
                    uow.jobs.complete(job.id, self.settings.worker_id, job.attempt, result)
            finally:
                if locked:
                    lock.release()
            self._count("completed")
            log.info("job %s %s completed in %.0f ms (attempt %d, tenant %s)", job.id, job.job_type,
                     (time.monotonic() - started) * 1000, job.attempt, job.tenant_id)
        except LeaseLost as error:
            self._count("lost")
            log.warning("job %s %s: lease lost, its writes rolled back: %s", job.id, job.job_type, error)
        except Exception as error:  # the handler's failure is the job's, not the worker's
            self._fail(job, error, started)
        finally:
            self._forget(job)

    def _fail(self, job: Job, error: Exception, started: float) -> None:
        message = f"{type(error).__name__}: {error}"
        try:
            with self._units.system() as uow, self._job_locks[job.id, job.attempt]:
                failed = uow.jobs.fail(job.id, self.settings.worker_id, job.attempt, message)
            self._count("failed")
            log.warning("job %s %s failed in %.0f ms (attempt %d): %s; %s", job.id, job.job_type,
                        (time.monotonic() - started) * 1000, job.attempt, message,
                        f"retry at {failed.scheduled_at:%H:%M:%S}" if failed.status.value == "QUEUED"
                        else "dead letter")
        except (LeaseLost, NotFound):
            self._count("lost")
        except PortsideError as storage_error:  # the lease runs out and the job is rescued
            log.warning("job %s: could not record its failure: %s", job.id, storage_error)

    def _report(self, job: Job, progress: float) -> None:
        """Queued, not waited for: progress is advisory, and one that arrives after the job finished
        is fenced out (and ignored)."""
        lock = self._job_locks[job.id, job.attempt]

        def store() -> None:
            try:
                with self._units.system() as uow, lock:
                    uow.jobs.report_progress(job.id, self.settings.worker_id, job.attempt, progress)
            except PortsideError as error:
                log.debug("job %s: progress not stored: %s", job.id, error)

        self._progress.submit(store)

    def _release(self, job: Job) -> None:
        try:
            with self._units.system() as uow, self._job_locks[job.id, job.attempt]:
                uow.jobs.release(job.id, self.settings.worker_id, job.attempt)
            self._count("released")
        except PortsideError as error:  # its lease runs out and it is rescued
            log.warning("job %s: could not give it back: %s", job.id, error)
        finally:
            self._forget(job)

    def _forget(self, job: Job) -> None:
        with self._held_lock:
            self._held.pop((job.id, job.attempt), None)
            self._job_locks.pop((job.id, job.attempt), None)

    def _count(self, name: str) -> None:
        with self._counts_lock:
            setattr(self.counts, name, getattr(self.counts, name) + 1)

    # -- heartbeats ----------------------------------------------------------------------------
    def _heartbeats(self) -> None:
        """Every interval: one transaction extends the lease of every job this process holds, then
        expired leases of any worker are rescued now and then."""
        interval = self.settings.heartbeat_interval.total_seconds()
        last_rescue = time.monotonic()
        while not self._stop.wait(interval):
            with self._held_lock:
                held = [(job, self._job_locks[key]) for key, job in self._held.items()]
            if held:
                self._beat(held)
            if time.monotonic() - last_rescue >= self.settings.rescue_interval.total_seconds():
                last_rescue = time.monotonic()
                try:
                    self._rescue()
                except PortsideError as error:
                    log.warning("worker %s: lease rescue failed: %s", self.settings.worker_id, error)

    def _beat(self, held: list[tuple[Job, threading.Lock]]) -> None:
        taken: list[threading.Lock] = []
        try:
            with self._units.system() as uow:
                for job, lock in held:
                    if not lock.acquire(blocking=False):
                        continue  # being acknowledged right now
                    taken.append(lock)
                    try:  # a refusal is decided before anything is written: the others go on
                        uow.jobs.heartbeat(job.id, self.settings.worker_id, job.attempt, self.settings.lease)
                    except (LeaseLost, NotFound, ConcurrencyConflict) as error:
                        log.warning("job %s: heartbeat refused: %s", job.id, error)
        except PortsideError as error:
            log.warning("worker %s: heartbeats failed: %s", self.settings.worker_id, error)
        finally:
            for lock in taken:
                lock.release()


def worker_settings(queue_name: str, **options: Any) -> WorkerSettings:
    return WorkerSettings(queue_name=queue_name, **options)
