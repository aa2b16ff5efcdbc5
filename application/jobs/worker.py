"""The worker: claims jobs of one queue, runs their handlers, and acknowledges them, fenced.

Delivery is at least once, the effect exactly once: a handler writes through the unit of work the
worker gives it (`context.uow`, and any other context's unit of work opened inside it on the same
database joins its transaction), and those writes commit in the same transaction as the job's
completion, which is fenced by worker id and attempt. A worker that lost its lease (it stalled, its
job was rescued and claimed again) meets `LeaseLost` at completion: its transaction rolls back and
none of its writes land.

`context.uow` is opened on first use. A handler that never opens it writes nothing through the
worker, so its completion has nothing to commit with: it is acknowledged with the others of its
batch in one statement, in the transaction of the thread's next claim (or, when the thread stops or
runs out of jobs, on its own). A worker that dies before that leaves those jobs running, and they
are rescued and run again: still at least once.

Each of `concurrency` threads claims a batch, runs it job by job, and claims again; one heartbeat
thread extends the leases of every job the process holds in one statement, and the process rescues
expired leases of any worker now and then. Idle threads wait on the waker (woken at once when a job
is queued through `EnqueueJob`, else after `idle_wait` seconds). `stop()` (SIGTERM in
`portside worker`) lets each thread finish its current job, acknowledges what it finished and gives
the rest of its batch back.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, NamedTuple

from pydantic import JsonValue

from application.jobs.held_claims import Completion, HeldClaims, acknowledging
from application.retry import retrying
from domain.jobs.errors import LeaseLost
from domain.jobs.job import Job
from domain.shared.errors import ConcurrencyConflict, NotFound, PortsideError, StorageUnavailable
from ports.jobs import JobsUnitOfWork, JobsUnitOfWorkFactory
from ports.wakeups import Waker

log = logging.getLogger("portside.jobs")


class _JobWork:
    """The unit of work of one job's tenant, begun when its handler first asks for it."""

    def __init__(self, units: JobsUnitOfWorkFactory, tenant_id: uuid.UUID) -> None:
        self._units = units
        self._tenant_id = tenant_id
        self.opened: JobsUnitOfWork | None = None

    def open(self) -> JobsUnitOfWork:
        if self.opened is None:
            work = self._units.for_tenant(self._tenant_id)
            self.opened = work.__enter__()
        return self.opened

    def close(self, error: BaseException | None) -> None:
        """Commit it (no error) or roll it back; a failed commit raises."""
        if self.opened is not None:
            work, self.opened = self.opened, None
            work.__exit__(type(error) if error is not None else None, error,
                          error.__traceback__ if error is not None else None)


class JobContext:
    """What a handler is given: its job, the unit of work its writes go through (the job's tenant,
    the transaction that completes the job), and a way to report progress as it goes."""

    def __init__(self, job: Job, work: _JobWork, progress: Callable[[float], None]) -> None:
        self.job = job
        self._work = work
        self._progress = progress

    @property
    def uow(self) -> JobsUnitOfWork:
        """Begun on first use; its commit completes the job (a handler that never uses it has its
        completion acknowledged in a batch)."""
        return self._work.open()

    def report_progress(self, progress: float) -> None:
        """Stored at once, in a transaction of its own, so that readers see it while the job runs."""
        self._progress(progress)


Handler = Callable[[JobContext], Mapping[str, JsonValue] | None]
"""Runs one job; returns its result (stored on the job) or None; raises to fail it."""


class _Finished(NamedTuple):
    """A job whose handler returned without writing: its acknowledgement waits for the batch's.
    (A tuple: one is made per job, and a frozen dataclass costs several times as much to make.)"""

    job: Job
    result: Mapping[str, JsonValue] | None
    milliseconds: float


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
        self._held = HeldClaims()
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
        finished: list[_Finished] = []
        batch = self._claim(finished)
        self._run_batch(batch, finished)
        self._acknowledge(finished)
        return len(batch)

    def _serve(self) -> None:
        finished: list[_Finished] = []
        while not self._stop.is_set():
            try:
                batch = self._claim(finished)
            except StorageUnavailable as error:  # anything else is a defect: the thread ends with it
                log.warning("worker %s: storage unavailable, retrying: %s", self.settings.worker_id, error)
                self._stop.wait(self.settings.idle_wait)
                continue
            if not batch:
                self._waker.wait(self.settings.queue_name, self.settings.idle_wait)
                continue
            self._run_batch(batch, finished)
        self._acknowledge(finished)

    def _run_batch(self, batch: list[Job], finished: list[_Finished]) -> None:
        for position, job in enumerate(batch):
            if self._stop.is_set():
                for rest in batch[position:]:
                    self._release(rest)
                return
            self._run(job, finished)

    def _claim(self, finished: list[_Finished]) -> list[Job]:
        """The next batch, in one transaction with the acknowledgement of `finished` (emptied once
        that transaction has committed)."""

        def claim() -> tuple[list[uuid.UUID], list[Job]]:
            settings = self.settings
            with acknowledging(self._units, self._held, _completions(finished)) as (uow, copies):
                # The unit of work's only statement: on psycopg2 it commits with it, one round trip.
                return uow.commit_with(lambda: uow.jobs.complete_and_claim(
                    copies, settings.worker_id, settings.queue_name, limit=settings.batch_size,
                    lease=settings.lease))

        completed, jobs = retrying(claim, lost=(ConcurrencyConflict,))
        self._acknowledged(finished, completed)
        self._held.hold(jobs)
        return jobs

    def _acknowledge(self, finished: list[_Finished]) -> None:
        """`finished` acknowledged in a transaction of its own (a thread stopping or done)."""
        if not finished:
            return

        def acknowledge() -> list[uuid.UUID]:
            with acknowledging(self._units, self._held, _completions(finished)) as (uow, copies):
                return [job.id for job in uow.jobs.complete_many(copies, self.settings.worker_id)]

        try:
            completed = retrying(acknowledge, lost=(ConcurrencyConflict,))
        except PortsideError as error:  # their leases run out and they run again
            log.warning("worker %s: %d finished jobs not acknowledged: %s", self.settings.worker_id,
                        len(finished), error)
            for done in finished:
                self._forget(done.job)
            finished.clear()
            return
        self._acknowledged(finished, completed)

    def _acknowledged(self, finished: list[_Finished], completed: list[uuid.UUID]) -> None:
        """Count and log the acknowledged jobs, forget every one of them, and empty `finished`."""
        done = set(completed)
        lines: list[str] = []
        lost = 0
        for item in finished:
            job = item.job
            if job.id in done:
                lines.append(_completed_line(job, item.milliseconds))
            else:
                lost += 1
                log.warning("job %s %s: its lease was lost before its completion was acknowledged; it runs again",
                            job.id, job.job_type)
        if lines:
            # One record for the jobs one statement acknowledged, a line per job: a record of its
            # own per job cost about as much CPU as the rest of the job's work in the worker
            # (making, formatting and flushing 10 records against one).
            log.info("%s", "\n".join(lines))
        self._held.forget(item.job for item in finished)
        self._count("completed", len(finished) - lost)
        self._count("lost", lost)
        finished.clear()

    def _rescue(self) -> None:
        def rescue() -> list[Job]:
            with self._units.system() as uow:
                return uow.jobs.recover_expired_leases()

        for job in retrying(rescue, lost=(ConcurrencyConflict,)):
            log.warning("job %s %s: its worker's lease expired; %s (rescue %d)", job.id, job.job_type,
                        "queued again" if job.status.value == "QUEUED" else "failed", job.rescue_count)

    # -- one job -------------------------------------------------------------------------------
    def _run(self, job: Job, finished: list[_Finished]) -> None:
        started = time.monotonic()
        handler = self._handlers.get(job.job_type)
        lock = self._held.lock_of(job)
        work = _JobWork(self._units, job.tenant_id)
        try:
            if handler is None:
                raise LookupError(f"no handler for job type {job.job_type!r}")
            try:
                result = handler(JobContext(job, work, lambda progress: self._report(job, progress)))
            except BaseException as error:
                work.close(error)
                raise
            if work.opened is None:  # nothing written: acknowledged with the batch
                finished.append(_Finished(job, result, (time.monotonic() - started) * 1000))
                return
            # No heartbeat of this job between reading its copy and committing: the lock is taken
            # before `complete` and released after the commit. Every thread of the worker takes its
            # unit of work first and the job's lock second, never the other way round: on SQLite the
            # transaction is a lock too.
            with lock:
                try:
                    copy = self._held.current(job)
                    work.opened.jobs.complete(job.id, self.settings.worker_id, job.attempt, result, claimed=copy)
                except BaseException as error:
                    work.close(error)
                    raise
                work.close(None)
            self._count("completed")
            log.info("%s", _completed_line(job, (time.monotonic() - started) * 1000))
            self._forget(job)
        except LeaseLost as error:
            self._count("lost")
            log.warning("job %s %s: lease lost, its writes rolled back: %s", job.id, job.job_type, error)
            self._forget(job)
        except Exception as error:  # the handler's failure is the job's, not the worker's
            self._fail(job, error, started)
            self._forget(job)

    def _fail(self, job: Job, error: Exception, started: float) -> None:
        message = f"{type(error).__name__}: {error}"
        try:
            with self._units.system() as uow, self._held.lock_of(job):
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
        lock = self._held.lock_of(job)

        def store() -> None:
            try:
                with self._units.system() as uow, lock:
                    stored = uow.jobs.report_progress(job.id, self.settings.worker_id, job.attempt, progress)
                    self._held.remember(stored)
            except PortsideError as error:
                log.debug("job %s: progress not stored: %s", job.id, error)

        self._progress.submit(store)

    def _release(self, job: Job) -> None:
        try:
            with self._units.system() as uow, self._held.lock_of(job):
                uow.jobs.release(job.id, self.settings.worker_id, job.attempt)
            self._count("released")
        except PortsideError as error:  # its lease runs out and it is rescued
            log.warning("job %s: could not give it back: %s", job.id, error)
        finally:
            self._forget(job)

    def _forget(self, job: Job) -> None:
        self._held.forget([job])

    def _count(self, name: str, amount: int = 1) -> None:
        if amount:
            with self._counts_lock:
                setattr(self.counts, name, getattr(self.counts, name) + amount)

    # -- heartbeats ----------------------------------------------------------------------------
    def _heartbeats(self) -> None:
        """Every interval: one transaction extends the lease of every job this process holds, then
        expired leases of any worker are rescued now and then."""
        interval = self.settings.heartbeat_interval.total_seconds()
        last_rescue = time.monotonic()
        while not self._stop.wait(interval):
            held = self._held.all()
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
                copies = []
                for job, lock in held:
                    if not lock.acquire(blocking=False):
                        continue  # being acknowledged right now
                    taken.append(lock)
                    copies.append(self._held.current(job))  # a progress report may have moved it
                extended = uow.jobs.heartbeat_many(copies, self.settings.worker_id, self.settings.lease)
            for job in extended:
                self._held.remember(job)
            refused = {job.id for job in copies} - {job.id for job in extended}
            for job_id in refused:
                log.warning("job %s: heartbeat refused: its claim is no longer current", job_id)
        except PortsideError as error:
            log.warning("worker %s: heartbeats failed: %s", self.settings.worker_id, error)
        finally:
            for lock in taken:
                lock.release()


def _completed_line(job: Job, milliseconds: float) -> str:
    return (f"job {job.id} {job.job_type} completed in {milliseconds:.0f} ms (attempt {job.attempt}, "
            f"tenant {job.tenant_id})")


def _completions(finished: Sequence[_Finished]) -> list[Completion]:
    return [(done.job, done.result) for done in finished]


def worker_settings(queue_name: str, **options: Any) -> WorkerSettings:
    return WorkerSettings(queue_name=queue_name, **options)
