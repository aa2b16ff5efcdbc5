"""Steps of features/jobs/queue.feature, on the in-memory container (manual clock)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from pytest_bdd import given, parsers, scenarios, then, when

from adapters.clock import ManualClock
from application.container import Container
from application.jobs.use_cases import NewJob
from domain.jobs.job import Job, JobStatus
from domain.jobs.parallel import ParallelProcessing

scenarios("jobs/queue.feature")

WORKER = "worker-1"


@dataclass
class Queue:
    container: Container
    tenant: uuid.UUID = field(default_factory=uuid.uuid4)
    jobs: list[Job] = field(default_factory=list)
    claimed: list[Job] = field(default_factory=list)
    removed: int = 0
    processing: ParallelProcessing | None = None

    @property
    def clock(self) -> ManualClock:
        clock = self.container.clock()
        assert isinstance(clock, ManualClock)
        return clock

    def queue(self, **fields: object) -> Job:
        job: Job = self.container.enqueue_job()(self.tenant, NewJob.parse(**fields))
        self.jobs.append(job)
        self.clock.advance(timedelta(milliseconds=1))
        return job

    def current(self, job: Job) -> Job:
        with self.container.jobs_unit_of_work().for_tenant(self.tenant) as uow:
            found: Job = uow.jobs.get_by_id_or_raise(job.id)
        return found


@pytest.fixture
def jobs_queue(container: Container) -> Queue:
    return Queue(container)


@given(parsers.parse('the organization "{name}" queues jobs'))
def given_the_organization(jobs_queue: Queue, name: str) -> None:
    assert name


@given(parsers.parse('a "{job_type}" job with priority {priority:d} on queue "{queue}"'))
def given_a_job(jobs_queue: Queue, job_type: str, priority: int, queue: str) -> None:
    jobs_queue.queue(job_type=job_type, priority=priority, queue_name=queue)


@given(parsers.parse('a "{job_type}" job with {retries:d} retries on queue "{queue}"'))
def given_a_job_with_retries(jobs_queue: Queue, job_type: str, retries: int, queue: str) -> None:
    jobs_queue.queue(job_type=job_type, max_retries=retries, queue_name=queue)


@given(parsers.parse('a "{job_type}" job keyed "{key}"'))
@when(parsers.parse('a "{job_type}" job keyed "{key}"'))
def given_a_keyed_job(jobs_queue: Queue, job_type: str, key: str) -> None:
    jobs_queue.queue(job_type=job_type, deduplication_key=key)


@given(parsers.parse("the first job was cancelled {days:d} days ago"))
def given_cancelled(jobs_queue: Queue, days: int) -> None:
    with jobs_queue.container.jobs_unit_of_work().for_tenant(jobs_queue.tenant) as uow:
        uow.jobs.cancel(jobs_queue.jobs[0].id)
    jobs_queue.clock.advance(timedelta(days=days))


@given(parsers.parse("a processing split into {chunks:d} chunks"))
def given_a_processing(jobs_queue: Queue, chunks: int) -> None:
    processing = ParallelProcessing.new(jobs_queue.tenant, chunks, jobs_queue.clock.now(), max_retries=1)
    with jobs_queue.container.jobs_unit_of_work().for_tenant(jobs_queue.tenant) as uow:
        jobs_queue.processing = uow.processings.save(processing.start(jobs_queue.clock.now()))


@when(parsers.parse('a worker claims {count:d} jobs from "{queue}"'))
def when_claimed(jobs_queue: Queue, count: int, queue: str) -> None:
    with jobs_queue.container.jobs_unit_of_work().system() as uow:
        jobs_queue.claimed = uow.jobs.claim(queue, WORKER, limit=count)


@when("the job fails 3 times, the clock moving past each backoff")
def when_failing(jobs_queue: Queue) -> None:
    for _ in range(3):
        with jobs_queue.container.jobs_unit_of_work().system() as uow:
            [job] = uow.jobs.claim("default", WORKER, limit=1)
            uow.jobs.fail(job.id, WORKER, job.attempt, "upstream timed out")
        jobs_queue.clock.advance(timedelta(hours=1))


@when("the operator requeues the job")
def when_requeued(jobs_queue: Queue) -> None:
    with jobs_queue.container.jobs_unit_of_work().for_tenant(jobs_queue.tenant) as uow:
        uow.jobs.requeue(jobs_queue.jobs[-1].id)


@when(parsers.parse("the worker reports {percent:d} percent"))
def when_progress(jobs_queue: Queue, percent: int) -> None:
    job = jobs_queue.claimed[0]
    with jobs_queue.container.jobs_unit_of_work().system() as uow:
        uow.jobs.report_progress(job.id, WORKER, job.attempt, percent)


@when("the worker completes the job")
def when_completed(jobs_queue: Queue) -> None:
    job = jobs_queue.claimed[0]
    with jobs_queue.container.jobs_unit_of_work().system() as uow:
        uow.jobs.complete(job.id, WORKER, job.attempt, {"ok": True})


@when(parsers.parse("cleanup runs with a retention of {days:d} days"))
def when_cleanup(jobs_queue: Queue, days: int) -> None:
    with jobs_queue.container.jobs_unit_of_work().for_tenant(jobs_queue.tenant) as uow:
        jobs_queue.removed = uow.jobs.cleanup(timedelta(days=days))


@when("chunks 0, 1 and 2 complete, chunk 1 after one failure")
def when_chunks(jobs_queue: Queue) -> None:
    assert jobs_queue.processing is not None
    at = jobs_queue.clock.now()
    step = jobs_queue.processing
    for index in range(3):
        step = step.start_chunk(index, at)
        if index == 1:
            step = step.fail_chunk(index, "worker crashed", at).start_chunk(index, at)
        step = step.complete_chunk(index, at)
    with jobs_queue.container.jobs_unit_of_work().for_tenant(jobs_queue.tenant) as uow:
        jobs_queue.processing = uow.processings.save(step)


@when("the merge completes")
def when_merged(jobs_queue: Queue) -> None:
    assert jobs_queue.processing is not None
    with jobs_queue.container.jobs_unit_of_work().for_tenant(jobs_queue.tenant) as uow:
        jobs_queue.processing = uow.processings.save(jobs_queue.processing.complete(jobs_queue.clock.now()))


@then(parsers.parse('the claimed job types are "{types}" in that order'))
def then_claim_order(jobs_queue: Queue, types: str) -> None:
    assert [job.job_type for job in jobs_queue.claimed] == [name.strip() for name in types.split(",")]


@then(parsers.parse('the job is "{status}" with {retries:d} retries made'))
def then_retries(jobs_queue: Queue, status: str, retries: int) -> None:
    job = jobs_queue.current(jobs_queue.jobs[-1])
    assert (job.status, job.retry_count) == (JobStatus(status), retries)


@then(parsers.parse('the dead letter of "{queue}" holds the job'))
def then_dead_letter(jobs_queue: Queue, queue: str) -> None:
    with jobs_queue.container.jobs_unit_of_work().for_tenant(jobs_queue.tenant) as uow:
        assert [job.id for job in uow.jobs.list_dead_letters(queue).items] == [jobs_queue.jobs[-1].id]


@then(parsers.parse('the job is "{status}" at {percent:d} percent'))
def then_progress(jobs_queue: Queue, status: str, percent: int) -> None:
    job = jobs_queue.current(jobs_queue.claimed[0])
    assert (job.status, job.progress) == (JobStatus(status), float(percent))


@then(parsers.parse("the last job is at position {position:d}"))
def then_position(jobs_queue: Queue, position: int) -> None:
    with jobs_queue.container.jobs_unit_of_work().for_tenant(jobs_queue.tenant) as uow:
        assert uow.jobs.get_queue_position(jobs_queue.jobs[-1].id) == position


@then(parsers.parse('the statistics of "{queue}" are {queued:d} queued and {running:d} running'))
def then_stats(jobs_queue: Queue, queue: str, queued: int, running: int) -> None:
    stats = jobs_queue.container.get_job_stats()(queue)
    assert (stats.queued, stats.running) == (queued, running)


@then(parsers.parse("{removed:d} job was removed and {remaining:d} job remains"))
def then_cleaned(jobs_queue: Queue, removed: int, remaining: int) -> None:
    with jobs_queue.container.jobs_unit_of_work().for_tenant(jobs_queue.tenant) as uow:
        assert (jobs_queue.removed, uow.jobs.count()) == (removed, remaining)


@then(parsers.re(r"the organization has (?P<count>\d+) jobs?"))
def then_count(jobs_queue: Queue, count: str) -> None:
    with jobs_queue.container.jobs_unit_of_work().for_tenant(jobs_queue.tenant) as uow:
        assert uow.jobs.count() == int(count)


@then(parsers.parse('the processing is "{status}" at {percent:d} percent with chunk 1 retried once'))
def then_merging(jobs_queue: Queue, status: str, percent: int) -> None:
    assert jobs_queue.processing is not None
    with jobs_queue.container.jobs_unit_of_work().for_tenant(jobs_queue.tenant) as uow:
        loaded = uow.processings.load(jobs_queue.processing.id)
    assert loaded is not None and loaded.status.value == status
    assert loaded.get_progress() == float(percent) and loaded.chunk(1).retry_count == 1


@then(parsers.parse('the processing is "{status}" and no longer active'))
def then_completed(jobs_queue: Queue, status: str) -> None:
    with jobs_queue.container.jobs_unit_of_work().for_tenant(jobs_queue.tenant) as uow:
        assert uow.processings.get_active_processings() == []
        assert jobs_queue.processing is not None
        loaded = uow.processings.load(jobs_queue.processing.id)
    assert loaded is not None and loaded.status.value == status
