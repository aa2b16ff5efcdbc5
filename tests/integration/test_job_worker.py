"""The worker on every backend: handlers' writes commit with the job's completion, failures retry to
the dead letter, a stalled worker is fenced out, a stop gives unstarted jobs back."""

from __future__ import annotations

import logging
import threading
import uuid
from datetime import timedelta
from typing import Any

import pytest

from adapters.transactions import Backend
from adapters.wakeups.local import LocalWaker
from application.jobs.worker import JobContext, Worker, WorkerSettings
from domain.jobs.backoff import Backoff
from domain.jobs.job import JobStatus
from ports.jobs import JobsUnitOfWorkFactory
from tests.conftest import jobs_units_on
from tests.integration.job_handlers import HANDLERS, record_once

TENANT = uuid.UUID("00000000-0000-4000-8000-0000000000c1")


@pytest.fixture
def units(storage: Backend[Any, Any]) -> JobsUnitOfWorkFactory:
    return jobs_units_on(storage, backoff=Backoff(base=timedelta(milliseconds=5), cap=timedelta(milliseconds=20)))


def _queue(units: JobsUnitOfWorkFactory, count: int, job_type: str = "record", **payload: Any) -> list[uuid.UUID]:
    with units.for_tenant(TENANT) as uow:
        return [uow.jobs.create_job(job_type, payload=dict(payload), max_retries=2).id for _ in range(count)]


def _drain(units: JobsUnitOfWorkFactory, settings: WorkerSettings, until: Any) -> Worker:
    worker = Worker(units, HANDLERS, settings, LocalWaker())
    thread = threading.Thread(target=worker.run)
    thread.start()
    try:
        for _ in range(600):
            if until():
                break
            threading.Event().wait(0.05)
    finally:
        worker.stop()
        thread.join(30)
    assert not thread.is_alive()
    return worker


def _stats(units: JobsUnitOfWorkFactory) -> Any:
    with units.system() as uow:
        return uow.jobs.get_job_stats("default")


def test_a_worker_drains_the_queue_with_one_effect_per_job(units: JobsUnitOfWorkFactory) -> None:
    jobs = _queue(units, 40, progress=True)
    broken = _queue(units, 1, "broken")
    settings = WorkerSettings("default", concurrency=2, batch_size=5, idle_wait=0.05)
    worker = _drain(units, settings, lambda: _stats(units).completed == 40 and _stats(units).failed == 1)
    stats = _stats(units)
    assert (stats.completed, stats.failed, stats.queued, stats.running) == (40, 1, 0, 0)
    assert worker.counts.completed == 40 and worker.counts.failed == 3  # the broken one: 1 try + 2 retries
    with units.for_tenant(TENANT) as uow:
        assert all(uow.processings.load(job_id) is not None for job_id in jobs)
        done = uow.jobs.get_by_id_or_raise(jobs[0])
        assert (done.result, done.progress) == ({"recorded": str(jobs[0])}, 100.0)
        dead = uow.jobs.get_by_id_or_raise(broken[0])
        assert dead.retry_count == 2 and "cannot succeed" in (dead.error_message or "")
        assert [job.id for job in uow.jobs.list_dead_letters().items] == broken


def test_a_stalled_worker_is_fenced_out_and_its_writes_roll_back(units: JobsUnitOfWorkFactory) -> None:
    """The handler stalls before it writes: its unit of work (on SQLite, the database's write lock)
    begins when it first uses it, so the rescue goes ahead meanwhile on every backend."""
    [job_id] = _queue(units, 1, sleep=1.0)
    lease = timedelta(milliseconds=300)
    stalled = Worker(units, HANDLERS, WorkerSettings("default", lease=lease, heartbeat_interval=timedelta(hours=1),
                                                     worker_id="stalled"), LocalWaker())
    result: list[int] = []
    first = threading.Thread(target=lambda: result.append(stalled.run_once()))
    first.start()
    threading.Event().wait(0.6)  # its lease has run out: no heartbeat
    with units.system() as uow:
        rescued = [job.id for job in uow.jobs.recover_expired_leases()]
    assert rescued == [job_id]
    with units.for_tenant(TENANT) as uow:
        uow.jobs.update(uow.jobs.get_by_id_or_raise(job_id).evolve(payload={}))  # the next attempt is quick
    rescuer = Worker(units, HANDLERS, WorkerSettings("default", worker_id="rescuer"), LocalWaker())
    assert rescuer.run_once() == 1
    first.join(10)
    assert result == [1] and stalled.counts.lost == 1 and rescuer.counts.completed == 1
    with units.for_tenant(TENANT) as uow:
        job = uow.jobs.get_by_id_or_raise(job_id)
        assert (job.status, job.worker_id, job.attempt) == (JobStatus.COMPLETED, "rescuer", 2)
        assert uow.processings.load(job_id) is not None  # one row: the rescuer's; the stalled one rolled back


def test_a_stop_gives_back_the_jobs_not_started(units: JobsUnitOfWorkFactory) -> None:
    _queue(units, 4)
    worker: Worker

    def stop_after_first(context: JobContext) -> Any:
        worker.stop()
        return record_once(context)

    worker = Worker(units, {"record": stop_after_first}, WorkerSettings("default", batch_size=4), LocalWaker())
    assert worker.run_once() == 4
    stats = _stats(units)
    assert (stats.completed, stats.queued, stats.running) == (1, 3, 0) and worker.counts.released == 3
    with units.system() as uow:
        assert all(job.retry_count == 0 for job in uow.jobs.find_pending_jobs("default"))


def _noted(context: JobContext) -> dict[str, Any]:
    """Writes nothing: its completion is acknowledged with its batch's."""
    return {"noted": context.job.payload.get("n")}


def test_handlers_that_write_nothing_are_acknowledged_a_batch_at_a_time(units: JobsUnitOfWorkFactory) -> None:
    with units.for_tenant(TENANT) as uow:
        ids = [uow.jobs.create_job("note", payload={"n": n}).id for n in range(20)]
    worker = Worker(units, {"note": _noted}, WorkerSettings("default", batch_size=5), LocalWaker())
    claimed = [worker.run_once() for _ in range(4)]
    assert claimed == [5, 5, 5, 5] and worker.counts.completed == 20
    with units.for_tenant(TENANT) as uow:
        jobs = [uow.jobs.get_by_id_or_raise(job_id) for job_id in ids]
    assert [job.result for job in jobs] == [{"noted": n} for n in range(20)]
    assert all(job.status is JobStatus.COMPLETED for job in jobs)
    # One acknowledgement per batch: each batch's jobs share the moment of their completion.
    assert len({job.completed_at for job in jobs}) == 4


def test_the_worker_logs_one_line_per_completed_job(units: JobsUnitOfWorkFactory,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    """Batched or in a transaction of its own, each completed job gets its line; a batch's lines
    come in one record (`LineFormatter` gives each its time and level)."""
    with units.for_tenant(TENANT) as uow:
        noted = [uow.jobs.create_job("note", payload={"n": n}).id for n in range(3)]
        recorded = uow.jobs.create_job("record").id
    worker = Worker(units, {"note": _noted, "record": record_once}, WorkerSettings("default", batch_size=4),
                    LocalWaker())
    with caplog.at_level(logging.INFO, logger="portside.jobs"):
        assert worker.run_once() == 4
    lines = [line for record in caplog.records for line in record.getMessage().splitlines()]
    for job_id, job_type in [*((job_id, "note") for job_id in noted), (recorded, "record")]:
        [line] = [line for line in lines if str(job_id) in line]
        assert line.startswith(f"job {job_id} {job_type} completed in ")
        assert line.endswith(f" ms (attempt 1, tenant {TENANT})")
    assert worker.counts.completed == 4


def test_a_stop_acknowledges_what_finished_and_gives_back_the_rest(units: JobsUnitOfWorkFactory) -> None:
    with units.for_tenant(TENANT) as uow:
        for n in range(4):
            uow.jobs.create_job("note", payload={"n": n})
    worker: Worker
    seen: list[int] = []

    def stop_after_second(context: JobContext) -> Any:
        seen.append(1)
        if len(seen) == 2:
            worker.stop()
        return _noted(context)

    worker = Worker(units, {"note": stop_after_second}, WorkerSettings("default", batch_size=4, idle_wait=0.05),
                    LocalWaker())
    thread = threading.Thread(target=worker.run)
    thread.start()
    thread.join(30)
    assert not thread.is_alive()
    stats = _stats(units)
    assert (stats.completed, stats.queued, stats.running) == (2, 2, 0)
    assert (worker.counts.completed, worker.counts.released) == (2, 2)


def test_a_batched_acknowledgement_of_a_cancelled_job_is_counted_lost(units: JobsUnitOfWorkFactory) -> None:
    with units.for_tenant(TENANT) as uow:
        [job_id] = [uow.jobs.create_job("note", payload={"n": 0}).id]
    worker: Worker

    def cancelled_meanwhile(context: JobContext) -> Any:
        with units.system() as other:  # another process cancels the job while it runs
            other.jobs.cancel(context.job.id)
        return _noted(context)

    worker = Worker(units, {"note": cancelled_meanwhile}, WorkerSettings("default"), LocalWaker())
    assert worker.run_once() == 1
    assert (worker.counts.completed, worker.counts.lost) == (0, 1)
    with units.for_tenant(TENANT) as uow:
        assert uow.jobs.get_by_id_or_raise(job_id).status is JobStatus.CANCELLED
