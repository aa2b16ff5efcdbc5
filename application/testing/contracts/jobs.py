"""The jobs ports' contract: what every adapter of the job queue and the parallel processings does.

Bind it with two fixtures: `jobs_uow`, the jobs unit-of-work factory on an empty database whose
clock is `jobs_clock`, a clock the tests move (`now()`, `advance(timedelta)`), and whose backoff
waits exactly the exponential delay (no jitter), so retry times are known.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any, Protocol

import pytest

from application.retry import retrying
from application.testing.racing import race
from domain.jobs.errors import LeaseLost
from domain.jobs.filters import JobFilters, PaginationParams
from domain.jobs.job import Job, JobStatus
from domain.jobs.parallel import ChunkStatus, ParallelProcessing, ProcessingStatus
from domain.jobs.queue import JobQueue
from domain.shared.errors import (
    ConcurrencyConflict,
    InvalidTransition,
    NotFound,
    TenantScopeRequired,
    ValidationError,
)
from domain.shared.pagination import CursorPageRequest
from ports.jobs import JobsUnitOfWorkFactory

LEASE = timedelta(seconds=30)


class MovableClock(Protocol):
    def now(self) -> Any: ...

    def advance(self, delta: timedelta = ...) -> Any: ...


TENANT_A = uuid.UUID("00000000-0000-4000-8000-00000000000a")
TENANT_B = uuid.UUID("00000000-0000-4000-8000-00000000000b")


def queue_jobs(units: JobsUnitOfWorkFactory, clock: MovableClock, count: int, *, tenant: uuid.UUID = TENANT_A,
               queue: str = "default", priority: int = 2, spacing: timedelta = timedelta(milliseconds=1),
               **extra: Any) -> list[Job]:
    created = []
    for index in range(count):
        with units.for_tenant(tenant) as uow:
            created.append(uow.jobs.create_job("document_upload", payload={"n": index}, queue_name=queue,
                                               priority=priority, **extra))
        clock.advance(spacing)
    return created


def claim(units: JobsUnitOfWorkFactory, queue: str = "default", worker: str = "w1", limit: int = 10,
          lease: timedelta = LEASE) -> list[Job]:
    with units.system() as uow:
        return uow.jobs.claim(queue, worker, limit=limit, lease=lease)


class JobsContract:
    # -- creating and reading (spec 004) ---------------------------------------------------------
    def test_create_job_queues_it_for_the_tenant(self, jobs_uow: JobsUnitOfWorkFactory,
                                                 jobs_clock: MovableClock) -> None:
        with jobs_uow.for_tenant(TENANT_A) as uow:
            job = uow.jobs.create_job("document_upload", workspace_id="workspace_123",
                                      metadata={"project": "test"}, payload={"file": "a.pdf"})
        with jobs_uow.for_tenant(TENANT_A) as uow:
            stored = uow.jobs.get_by_id_or_raise(job.id)
        assert stored == job
        assert (stored.status, stored.progress, stored.retry_count, stored.attempt) == (JobStatus.QUEUED, 0.0, 0, 0)
        assert stored.metadata == {"project": "test"} and stored.workspace_id == "workspace_123"
        assert stored.scheduled_at == jobs_clock.now() and stored.tenant_id == TENANT_A

    def test_update_by_id_applies_the_updates_and_refuses_the_identity(self, jobs_uow: JobsUnitOfWorkFactory,
                                                                     jobs_clock: MovableClock) -> None:
        """Spec 004's write-through `job_repo.update(job_id, updates)`: the stored job with the
        updates validated, `updated_at` now; identity, unknown fields and bad values refused, nothing
        written; another tenant's job is not found."""
        [job] = queue_jobs(jobs_uow, jobs_clock, 1)
        jobs_clock.advance(timedelta(seconds=5))
        with jobs_uow.for_tenant(TENANT_A) as uow:
            updated = uow.jobs.update(job.id, {"metadata": {"project": "renamed"}, "priority": 7})
        assert (updated.metadata, updated.priority, updated.version) == ({"project": "renamed"}, 7, job.version + 1)
        assert updated.updated_at == jobs_clock.now() and updated.created_at == job.created_at
        bad: list[tuple[Any, Any, str]] = [
            (job.id, {"tenant_id": TENANT_B}, "tenant_id"), (job.id, {"id": uuid.uuid4()}, "id"),
            (job.id, {"version": 9}, "version"), (job.id, {"no_such_field": 1}, "no_such_field"),
            (job.id, {"priority": "high"}, "priority"), (job.id, ["priority", 1], "updates"),
            ("not-an-id", {"priority": 1}, "id"),
        ]
        for key, updates, field in bad:
            with jobs_uow.for_tenant(TENANT_A) as uow, pytest.raises(ValidationError, match=field):
                uow.jobs.update(key, updates)
        with jobs_uow.for_tenant(TENANT_B) as uow, pytest.raises(NotFound):
            uow.jobs.update(job.id, {"priority": 1})
        with jobs_uow.for_tenant(TENANT_A) as uow:
            assert uow.jobs.get_by_id_or_raise(job.id) == updated

    def test_another_tenant_sees_nothing(self, jobs_uow: JobsUnitOfWorkFactory, jobs_clock: MovableClock) -> None:
        [job] = queue_jobs(jobs_uow, jobs_clock, 1)
        with jobs_uow.for_tenant(TENANT_B) as uow:
            assert uow.jobs.get_by_id(job.id) is None
            assert uow.jobs.list_jobs_with_filters() == ([], 0)
            assert uow.jobs.get_job_stats().total == 0
            with pytest.raises(NotFound):
                uow.jobs.update_job_status(job.id, JobStatus.CANCELLED)
            with pytest.raises(NotFound):
                uow.jobs.cancel(job.id)
            with pytest.raises(TenantScopeRequired):
                uow.jobs.create_job("x", tenant_id=TENANT_A)

    def test_system_scope_must_name_the_tenant(self, jobs_uow: JobsUnitOfWorkFactory) -> None:
        with jobs_uow.system() as uow:
            with pytest.raises(ValidationError, match="tenant_id"):
                uow.jobs.create_job("document_upload")
            job = uow.jobs.create_job("document_upload", tenant_id=TENANT_B)
        with jobs_uow.for_tenant(TENANT_B) as uow:
            assert uow.jobs.get_by_id(job.id) == job

    @pytest.mark.parametrize(("arguments", "field"), [
        ({"job_type": ""}, "job_type"),
        ({"job_type": "has space"}, "job_type"),
        ({"queue_name": "bad queue!"}, "queue_name"),
        ({"priority": 101}, "priority"),
        ({"priority": -1}, "priority"),
        ({"priority": "high"}, "priority"),
        ({"max_retries": -1}, "max_retries"),
        ({"payload": {"x": object()}}, "payload"),
        ({"payload": ["not", "an", "object"]}, "payload"),
        ({"metadata": {"bad": float("nan")}}, "metadata"),
        ({"scheduled_at": "tomorrow"}, "scheduled_at"),
    ])
    def test_bad_job_input_is_a_validation_error_and_writes_nothing(
        self, jobs_uow: JobsUnitOfWorkFactory, arguments: dict[str, Any], field: str,
    ) -> None:
        call = {"job_type": "document_upload", **arguments}
        with jobs_uow.for_tenant(TENANT_A) as uow:
            with pytest.raises(ValidationError) as raised:
                uow.jobs.create_job(call.pop("job_type"), **call)
            assert raised.value.field.startswith(field), raised.value
            assert uow.jobs.count() == 0

    def test_update_job_status_follows_the_lifecycle(self, jobs_uow: JobsUnitOfWorkFactory,
                                                     jobs_clock: MovableClock) -> None:
        [job] = queue_jobs(jobs_uow, jobs_clock, 1)
        with jobs_uow.for_tenant(TENANT_A) as uow:
            running = uow.jobs.update_job_status(job.id, JobStatus.PROCESSING, progress=50.0)
            assert (running.status, running.progress, running.started_at) == (JobStatus.RUNNING, 50.0, jobs_clock.now())
            done = uow.jobs.update_job_status(job.id, JobStatus.COMPLETED)
            assert (done.status, done.progress, done.completed_at) == (JobStatus.COMPLETED, 100.0, jobs_clock.now())
            with pytest.raises(InvalidTransition):
                uow.jobs.update_job_status(job.id, JobStatus.RUNNING)
            for bad, field in ((("RUNNING", 101), "progress"), (("RUNNING", -0.5), "progress"),
                               (("NOPE", None), "status")):
                with pytest.raises(ValidationError, match=field):
                    uow.jobs.update_job_status(job.id, bad[0], bad[1])  # type: ignore[arg-type]
        with jobs_uow.for_tenant(TENANT_A) as uow:
            assert uow.jobs.get_by_id_or_raise(job.id).status is JobStatus.COMPLETED

    def test_list_jobs_with_filters_pages_newest_first_with_the_total(
        self, jobs_uow: JobsUnitOfWorkFactory, jobs_clock: MovableClock,
    ) -> None:
        created = queue_jobs(jobs_uow, jobs_clock, 5, queue="alpha") + queue_jobs(jobs_uow, jobs_clock, 2, queue="beta")
        with jobs_uow.for_tenant(TENANT_A) as uow:
            uow.jobs.update_job_status(created[0].id, JobStatus.CANCELLED)
            jobs, total = uow.jobs.list_jobs_with_filters(JobFilters(queue_name="alpha"),
                                                          PaginationParams(page=1, size=2))
            assert total == 5 and [job.id for job in jobs] == [created[4].id, created[3].id]
            jobs, total = uow.jobs.list_jobs_with_filters(JobFilters(queue_name="alpha"),
                                                          PaginationParams(page=3, size=2))
            assert total == 5 and [job.id for job in jobs] == [created[0].id]
            jobs, total = uow.jobs.list_jobs_with_filters(JobFilters(status=JobStatus.CANCELLED))
            assert total == 1 and jobs[0].id == created[0].id
            with pytest.raises(ValidationError):
                PaginationParams(page=0)
            with pytest.raises(ValidationError):
                uow.jobs.list_jobs_with_filters(pagination={"page": 1})  # type: ignore[arg-type]

    def test_queue_position_follows_the_claim_order(self, jobs_uow: JobsUnitOfWorkFactory,
                                                    jobs_clock: MovableClock) -> None:
        low = queue_jobs(jobs_uow, jobs_clock, 2, priority=1)
        high = queue_jobs(jobs_uow, jobs_clock, 2, priority=9)
        queue_jobs(jobs_uow, jobs_clock, 1, queue="other", priority=50)
        with jobs_uow.for_tenant(TENANT_A) as uow:
            positions = [uow.jobs.get_queue_position(job.id) for job in (*high, *low)]
        assert positions == [1, 2, 3, 4]
        claim(jobs_uow, limit=1)
        with jobs_uow.for_tenant(TENANT_A) as uow:
            assert uow.jobs.get_queue_position(high[0].id) is None  # running now
            assert uow.jobs.get_queue_position(low[1].id) == 3

    def test_the_queue_order_lists_queued_ids_as_claims_take_them(self, jobs_uow: JobsUnitOfWorkFactory,
                                                                 jobs_clock: MovableClock) -> None:
        low = queue_jobs(jobs_uow, jobs_clock, 2, priority=1)
        later = queue_jobs(jobs_uow, jobs_clock, 1, priority=5, scheduled_at=jobs_clock.now() + timedelta(hours=1))
        foreign = queue_jobs(jobs_uow, jobs_clock, 1, tenant=TENANT_B, priority=9)
        queue_jobs(jobs_uow, jobs_clock, 1, queue="other", priority=50)
        with jobs_uow.system() as uow:
            order = uow.jobs.list_queue_order("default")
            assert order == [foreign[0].id, later[0].id, low[0].id, low[1].id]
            assert [uow.jobs.get_queue_position(job_id) for job_id in order] == [1, 2, 3, 4]
        claim(jobs_uow, limit=1)
        with jobs_uow.for_tenant(TENANT_A) as uow:
            assert uow.jobs.list_queue_order("default") == [later[0].id, low[0].id, low[1].id]
            assert uow.jobs.list_queue_order("empty") == []
            with pytest.raises(ValidationError):
                uow.jobs.list_queue_order("not a queue!")

    def test_stats_count_every_status_per_queue(self, jobs_uow: JobsUnitOfWorkFactory,
                                                jobs_clock: MovableClock) -> None:
        jobs = queue_jobs(jobs_uow, jobs_clock, 4, queue="alpha")
        queue_jobs(jobs_uow, jobs_clock, 3, queue="beta")
        [first] = claim(jobs_uow, "alpha", limit=1)
        with jobs_uow.system() as uow:
            uow.jobs.complete(first.id, "w1", first.attempt)
            uow.jobs.cancel(jobs[3].id)
        with jobs_uow.for_tenant(TENANT_A) as uow:
            stats = uow.jobs.get_job_stats("alpha")
            every = uow.jobs.get_job_statistics()
        assert (stats.queued, stats.completed, stats.cancelled, stats.running, stats.failed) == (2, 1, 1, 0, 0)
        assert stats["QUEUED"] == 2 and stats.total == 4 and every.total == 7 and every.queued == 5

    def test_cleanup_removes_old_finished_jobs_in_batches(self, jobs_uow: JobsUnitOfWorkFactory,
                                                          jobs_clock: MovableClock) -> None:
        jobs = queue_jobs(jobs_uow, jobs_clock, 7)
        with jobs_uow.for_tenant(TENANT_A) as uow:
            for job in jobs[:5]:
                uow.jobs.update_job_status(job.id, JobStatus.CANCELLED)
        jobs_clock.advance(timedelta(days=8))
        with jobs_uow.for_tenant(TENANT_A) as uow:
            uow.jobs.update_job_status(jobs[5].id, JobStatus.CANCELLED)  # finished, but recently
            assert uow.jobs.cleanup(timedelta(days=7), batch_size=2, max_batches=1) == 2
            assert uow.jobs.cleanup(timedelta(days=7), batch_size=2) == 3
            assert uow.jobs.count() == 2
            with pytest.raises(ValidationError):
                uow.jobs.cleanup(timedelta(days=-1))
        with jobs_uow.for_tenant(TENANT_B) as uow:
            assert uow.jobs.cleanup(timedelta(0)) == 0

    # -- spec 002's queue ------------------------------------------------------------------------
    def test_find_pending_jobs_in_claim_order_once_scheduled(self, jobs_uow: JobsUnitOfWorkFactory,
                                                             jobs_clock: MovableClock) -> None:
        normal = queue_jobs(jobs_uow, jobs_clock, 2)
        later = queue_jobs(jobs_uow, jobs_clock, 1, priority=9,
                           scheduled_at=jobs_clock.now() + timedelta(minutes=5))
        urgent = queue_jobs(jobs_uow, jobs_clock, 1, priority=7)
        with jobs_uow.for_tenant(TENANT_A) as uow:
            assert [job.id for job in uow.jobs.find_pending_jobs("default")] == [urgent[0].id, normal[0].id,
                                                                                normal[1].id]
            assert len(uow.jobs.find_pending_jobs("default", limit=1)) == 1
        jobs_clock.advance(timedelta(minutes=5))
        with jobs_uow.for_tenant(TENANT_A) as uow:
            assert uow.jobs.find_pending_jobs("default")[0].id == later[0].id

    def test_save_and_load_a_queue(self, jobs_uow: JobsUnitOfWorkFactory, jobs_clock: MovableClock) -> None:
        jobs = queue_jobs(jobs_uow, jobs_clock, 2, queue="reports")
        with jobs_uow.for_tenant(TENANT_A) as uow:
            queue = uow.jobs.load_queue("reports")
            assert [job.id for job in queue.get_all_jobs()] == [jobs[1].id, jobs[0].id]
            extra = Job.new(tenant_id=TENANT_A, queue_name="reports", job_type="export", created_at=jobs_clock.now(),
                            updated_at=jobs_clock.now(), scheduled_at=jobs_clock.now())
            changed = queue.jobs[0].with_status(JobStatus.CANCELLED, None, jobs_clock.now())
            saved = uow.jobs.save_queue(JobQueue("reports", (changed, queue.jobs[1], extra)))
            assert len(saved.jobs) == 3
            with pytest.raises(ValidationError):
                uow.jobs.save_queue(JobQueue("other", (extra,)))
        with jobs_uow.for_tenant(TENANT_A) as uow:
            loaded = uow.jobs.load_queue("reports")
            assert len(loaded.jobs) == 3 and len(loaded.get_pending_jobs()) == 2

    # -- claiming --------------------------------------------------------------------------------
    def test_a_claim_takes_the_best_jobs_with_a_lease(self, jobs_uow: JobsUnitOfWorkFactory,
                                                      jobs_clock: MovableClock) -> None:
        low = queue_jobs(jobs_uow, jobs_clock, 2, priority=1)
        high = queue_jobs(jobs_uow, jobs_clock, 1, priority=9, tenant=TENANT_B)
        queue_jobs(jobs_uow, jobs_clock, 1, queue="other")
        claimed = claim(jobs_uow, limit=2)
        assert [job.id for job in claimed] == [high[0].id, low[0].id]
        for job in claimed:
            assert (job.status, job.worker_id, job.attempt) == (JobStatus.RUNNING, "w1", 1)
            assert job.lease_expires_at == jobs_clock.now() + LEASE and job.started_at == jobs_clock.now()
        with jobs_uow.for_tenant(TENANT_B) as uow:
            assert uow.jobs.get_by_id_or_raise(high[0].id) == claimed[0]
        assert [job.id for job in claim(jobs_uow, limit=5)] == [low[1].id]
        assert claim(jobs_uow) == []

    def test_concurrent_claims_never_take_the_same_job(self, jobs_uow: JobsUnitOfWorkFactory,
                                                       jobs_clock: MovableClock) -> None:
        queue_jobs(jobs_uow, jobs_clock, 12)
        taken: list[uuid.UUID] = []

        def one(worker: str) -> None:
            jobs = retrying(lambda: claim(jobs_uow, worker=worker, limit=3), attempts=20)
            taken.extend(job.id for job in jobs)

        assert race(one, [f"w{n}" for n in range(4)]) == []
        assert len(taken) == len(set(taken)) == 12

    def test_acknowledgements_are_fenced_by_worker_and_attempt(self, jobs_uow: JobsUnitOfWorkFactory,
                                                               jobs_clock: MovableClock) -> None:
        queue_jobs(jobs_uow, jobs_clock, 1)
        [job] = claim(jobs_uow, worker="w1")
        with jobs_uow.system() as uow:
            stale: list[Callable[[], Job]] = [
                lambda: uow.jobs.complete(job.id, "w2", 1), lambda: uow.jobs.complete(job.id, "w1", 2),
                lambda: uow.jobs.heartbeat(job.id, "w2", 1), lambda: uow.jobs.fail(job.id, "w1", 3, "x"),
                lambda: uow.jobs.report_progress(job.id, "w2", 1, 10),
            ]
            for call in stale:
                with pytest.raises(LeaseLost):
                    call()
            progressed = uow.jobs.report_progress(job.id, "w1", 1, 40)
            assert progressed.progress == 40.0
            jobs_clock.advance(timedelta(seconds=20))
            beat = uow.jobs.heartbeat(job.id, "w1", 1, lease=timedelta(seconds=60))
            assert beat.lease_expires_at == jobs_clock.now() + timedelta(seconds=60)
            done = uow.jobs.complete(job.id, "w1", 1, result={"pages": 3})
            assert (done.status, done.progress, done.result) == (JobStatus.COMPLETED, 100.0, {"pages": 3})
            with pytest.raises(LeaseLost):
                uow.jobs.complete(job.id, "w1", 1)

    def test_acknowledging_from_the_claimed_copy_is_fenced_as_by_id(self, jobs_uow: JobsUnitOfWorkFactory,
                                                                    jobs_clock: MovableClock) -> None:
        queue_jobs(jobs_uow, jobs_clock, 3)
        first, second, third = claim(jobs_uow, worker="w1")
        with jobs_uow.system() as uow:
            beat = uow.jobs.heartbeat(first.id, "w1", 1)  # the claimed copy of `first` is now stale
            done = uow.jobs.complete(first.id, "w1", 1, {"n": 1}, claimed=first)
            assert (done.status, done.result, done.version) == (JobStatus.COMPLETED, {"n": 1}, beat.version + 1)
            with pytest.raises(LeaseLost):
                uow.jobs.complete(first.id, "w1", 1, claimed=done)
            with pytest.raises(LeaseLost):
                uow.jobs.complete(second.id, "w2", 1, claimed=second)
            with pytest.raises(ValidationError):
                uow.jobs.complete(second.id, "w1", 1, claimed=third)
            current = uow.jobs.complete(second.id, "w1", 1, claimed=second)
            assert current.version == second.version + 1 and current.completed_at == jobs_clock.now()
            assert uow.jobs.get_by_id_or_raise(third.id).status is JobStatus.RUNNING

    def test_batched_acknowledgements_complete_the_current_claims_only(self, jobs_uow: JobsUnitOfWorkFactory,
                                                                       jobs_clock: MovableClock) -> None:
        queue_jobs(jobs_uow, jobs_clock, 4)
        claimed = claim(jobs_uow, worker="w1")
        with jobs_uow.system() as uow:
            uow.jobs.cancel(claimed[1].id)
            moved = uow.jobs.report_progress(claimed[2].id, "w1", 1, 30)  # its copy is stale, still current
        jobs_clock.advance(timedelta(seconds=5))
        with jobs_uow.system() as uow:
            extended = uow.jobs.heartbeat_many(claimed, "w1", timedelta(seconds=60))
            assert [job.id for job in extended] == [claimed[0].id, claimed[2].id, claimed[3].id]
            assert all(job.lease_expires_at == jobs_clock.now() + timedelta(seconds=60) for job in extended)
            assert extended[1].progress == moved.progress == 30.0
            assert uow.jobs.heartbeat_many(extended, "w2") == []
            completed = uow.jobs.complete_many([(claimed[3], {"n": 3}), (claimed[1], None), (extended[0], None),
                                                (claimed[2], {"n": 2})], "w1")
        assert [(job.id, job.result) for job in completed] == [
            (claimed[3].id, {"n": 3}), (claimed[0].id, None), (claimed[2].id, {"n": 2})]
        with jobs_uow.system() as uow:
            stored = {job.id: job for job in uow.jobs.find_pending_jobs("default")}
            assert stored == {}
            statuses = [uow.jobs.get_by_id_or_raise(job.id).status for job in claimed]
            assert statuses == [JobStatus.COMPLETED, JobStatus.CANCELLED, JobStatus.COMPLETED, JobStatus.COMPLETED]
            assert uow.jobs.complete_many([(job, None) for job in completed], "w1") == []
            assert uow.jobs.complete_many([], "w1") == []

    def test_bad_batched_acknowledgements_are_refused_and_write_nothing(self, jobs_uow: JobsUnitOfWorkFactory,
                                                                        jobs_clock: MovableClock) -> None:
        queue_jobs(jobs_uow, jobs_clock, 2)
        first, second = claim(jobs_uow, worker="w1")
        bad: list[Callable[[Any], object]] = [
            lambda uow: uow.jobs.complete_many([(first, None), (second, {"bad": object()})], "w1"),
            lambda uow: uow.jobs.complete_many([(first, None), (first, None)], "w1"),
            lambda uow: uow.jobs.complete_many([first], "w1"),
            lambda uow: uow.jobs.complete_many([(first.id, None)], "w1"),
            lambda uow: uow.jobs.complete_many("jobs", "w1"),
            lambda uow: uow.jobs.complete_many([(first, None)], ""),
            lambda uow: uow.jobs.heartbeat_many([first, first], "w1"),
            lambda uow: uow.jobs.heartbeat_many([first], "w1", timedelta(0)),
            lambda uow: uow.jobs.heartbeat_many([{"id": str(first.id)}], "w1"),
        ]
        for call in bad:
            with jobs_uow.system() as uow, pytest.raises(ValidationError):
                call(uow)
        with jobs_uow.system() as uow:
            assert [uow.jobs.get_by_id_or_raise(job.id).version for job in (first, second)] == [
                first.version, second.version]

    def test_a_batched_acknowledgement_never_crosses_tenants(self, jobs_uow: JobsUnitOfWorkFactory,
                                                             jobs_clock: MovableClock) -> None:
        queue_jobs(jobs_uow, jobs_clock, 1, tenant=TENANT_B)
        [foreign] = claim(jobs_uow, worker="w1")
        with jobs_uow.for_tenant(TENANT_A) as uow:
            assert uow.jobs.complete_many([(foreign, None)], "w1") == []
            assert uow.jobs.heartbeat_many([foreign], "w1") == []
            with pytest.raises((NotFound, LeaseLost)):
                uow.jobs.complete(foreign.id, "w1", 1, claimed=foreign)
        with jobs_uow.system() as uow:
            assert uow.jobs.get_by_id_or_raise(foreign.id).version == foreign.version

    # -- the worker's step: the acknowledgement and the next claim together ----------------------
    def test_complete_and_claim_acknowledges_then_claims_the_next_batch(self, jobs_uow: JobsUnitOfWorkFactory,
                                                                        jobs_clock: MovableClock) -> None:
        low = queue_jobs(jobs_uow, jobs_clock, 3, priority=1)
        high = queue_jobs(jobs_uow, jobs_clock, 1, priority=9, tenant=TENANT_B)
        queue_jobs(jobs_uow, jobs_clock, 1, queue="other")
        first, second = claim(jobs_uow, limit=2)
        assert [first.id, second.id] == [high[0].id, low[0].id]
        jobs_clock.advance(timedelta(seconds=2))
        with jobs_uow.system() as uow:
            completed, claimed = uow.jobs.complete_and_claim([(second, {"pages": 2}), (first, None)], "w1", "default",
                                                             limit=5, lease=timedelta(seconds=60))
        assert completed == [second.id, first.id]
        assert [job.id for job in claimed] == [low[1].id, low[2].id]
        for job in claimed:
            assert (job.status, job.worker_id, job.attempt, job.version) == (JobStatus.RUNNING, "w1", 1, 2)
            assert job.lease_expires_at == jobs_clock.now() + timedelta(seconds=60)
            assert job.started_at == jobs_clock.now() and job.completed_at is None
        with jobs_uow.system() as uow:
            done = {job.id: uow.jobs.get_by_id_or_raise(job.id) for job in (first, second)}
            assert uow.jobs.get_by_id_or_raise(low[1].id) == claimed[0]
        for job, result in ((first, None), (second, {"pages": 2})):
            stored = done[job.id]
            assert (stored.status, stored.progress, stored.result) == (JobStatus.COMPLETED, 100.0, result)
            assert stored.completed_at == stored.updated_at == jobs_clock.now()
            assert (stored.lease_expires_at, stored.version, stored.attempt) == (None, job.version + 1, 1)
        with jobs_uow.system() as uow:
            assert uow.jobs.complete_and_claim([], "w1", "default") == ([], [])
            assert uow.jobs.get_job_stats("default").running == 2

    def test_complete_and_claim_completes_the_current_claims_only(self, jobs_uow: JobsUnitOfWorkFactory,
                                                                  jobs_clock: MovableClock) -> None:
        queue_jobs(jobs_uow, jobs_clock, 4)
        claimed = claim(jobs_uow, worker="w1")
        with jobs_uow.system() as uow:
            uow.jobs.cancel(claimed[1].id)
            moved = uow.jobs.heartbeat(claimed[2].id, "w1", 1)  # its copy is stale, still current
        jobs_clock.advance(LEASE)
        with jobs_uow.system() as uow:
            [rescued] = uow.jobs.recover_expired_leases(limit=1)  # the oldest: claimed[0]
        [again] = claim(jobs_uow, worker="w2", limit=1)
        assert (rescued.id, again.id, again.attempt) == (claimed[0].id, claimed[0].id, 2)
        with jobs_uow.system() as uow:
            completed, more = uow.jobs.complete_and_claim([(job, None) for job in claimed], "w1", "default")
            assert uow.jobs.complete_and_claim([(again, None)], "w1", "default") == ([], [])  # w2's claim
        # The rescued job's old attempt and the cancelled one are left out; claimed[3]'s lease ran
        # out but no one rescued it: its claim is still current.
        assert completed == [claimed[2].id, claimed[3].id] and more == []
        with jobs_uow.system() as uow:
            statuses = [uow.jobs.get_by_id_or_raise(job.id) for job in claimed]
        assert [job.status for job in statuses] == [
            JobStatus.RUNNING, JobStatus.CANCELLED, JobStatus.COMPLETED, JobStatus.COMPLETED]
        assert (statuses[0].worker_id, statuses[0].attempt, statuses[0].version) == ("w2", 2, again.version)
        assert statuses[2].version == moved.version + 1

    @pytest.mark.parametrize(("call", "field"), [
        (lambda job: ([(job, {"bad": object()})], "w1", "default", {}), "result"),
        (lambda job: ([(job, None), (job, None)], "w1", "default", {}), "completions"),
        (lambda job: ([job], "w1", "default", {}), "completions"),
        (lambda job: ("jobs", "w1", "default", {}), "completions"),
        (lambda job: ([(job, None)], "", "default", {}), "worker_id"),
        (lambda job: ([(job, None)], "w1", "no such queue!", {}), "queue_name"),
        (lambda job: ([(job, None)], "w1", "default", {"limit": 0}), "limit"),
        (lambda job: ([(job, None)], "w1", "default", {"limit": 1001}), "limit"),
        (lambda job: ([(job, None)], "w1", "default", {"lease": timedelta(0)}), "lease"),
        (lambda job: ([(job, None)], "w1", "default", {"lease": 30}), "lease"),
    ])
    def test_bad_complete_and_claim_is_refused_and_writes_nothing(
        self, jobs_uow: JobsUnitOfWorkFactory, jobs_clock: MovableClock,
        call: Callable[[Job], tuple[Any, Any, Any, dict[str, Any]]], field: str,
    ) -> None:
        queue_jobs(jobs_uow, jobs_clock, 2)
        [first] = claim(jobs_uow, limit=1)
        completions, worker, queue, options = call(first)
        with jobs_uow.system() as uow:
            with pytest.raises(ValidationError, match=field):
                uow.jobs.complete_and_claim(completions, worker, queue, **options)
            assert uow.jobs.get_by_id_or_raise(first.id) == first
            assert uow.jobs.get_job_stats().queued == 1

    def test_complete_and_claim_stays_in_its_tenant(self, jobs_uow: JobsUnitOfWorkFactory,
                                                    jobs_clock: MovableClock) -> None:
        queue_jobs(jobs_uow, jobs_clock, 1, tenant=TENANT_B)
        [foreign] = claim(jobs_uow, worker="w1")
        queue_jobs(jobs_uow, jobs_clock, 1, tenant=TENANT_B)
        own = queue_jobs(jobs_uow, jobs_clock, 1, tenant=TENANT_A)
        with jobs_uow.for_tenant(TENANT_A) as uow:
            completed, claimed = uow.jobs.complete_and_claim([(foreign, None)], "w1", "default", limit=5)
        assert completed == [] and [job.id for job in claimed] == [own[0].id]
        with jobs_uow.system() as uow:
            assert uow.jobs.get_by_id_or_raise(foreign.id) == foreign
            assert uow.jobs.get_job_stats("default").queued == 1

    def test_complete_and_claim_rolled_back_changes_nothing(self, jobs_uow: JobsUnitOfWorkFactory,
                                                            jobs_clock: MovableClock) -> None:
        queue_jobs(jobs_uow, jobs_clock, 3)
        [first] = claim(jobs_uow, limit=1)
        with pytest.raises(RuntimeError), jobs_uow.system() as uow:
            completed, claimed = uow.jobs.complete_and_claim([(first, None)], "w1", "default", limit=5)
            assert (completed, len(claimed)) == ([first.id], 2)
            raise RuntimeError("the worker died before committing")
        with jobs_uow.system() as uow:
            assert uow.jobs.get_by_id_or_raise(first.id) == first
            assert uow.jobs.get_job_stats("default").queued == 2
        with jobs_uow.system() as uow:  # the same again, committed this time
            completed, claimed = uow.jobs.complete_and_claim([(first, None)], "w1", "default", limit=5)
        assert completed == [first.id] and len(claimed) == 2

    def test_complete_and_claim_committed_with_its_statement(self, jobs_uow: JobsUnitOfWorkFactory,
                                                             jobs_clock: MovableClock) -> None:
        queue_jobs(jobs_uow, jobs_clock, 4)
        [first] = claim(jobs_uow, limit=1)
        with pytest.raises(RuntimeError), jobs_uow.system() as uow:
            completed, claimed = uow.commit_with(lambda: uow.jobs.complete_and_claim([(first, None)], "w1", "default",
                                                                                    limit=2))
            assert completed == [first.id] and len(claimed) == 2
            # Committed: what comes next in this unit of work is a transaction of its own.
            uow.jobs.cancel(claimed[0].id)
            raise RuntimeError("the worker died after committing")
        with jobs_uow.system() as uow:
            stats = uow.jobs.get_job_stats("default")
            assert (stats.completed, stats.running, stats.queued, stats.cancelled) == (1, 2, 1, 0)
            assert uow.jobs.get_by_id_or_raise(claimed[1].id) == claimed[1]

    def test_complete_and_claim_joined_commits_with_the_outer_unit_of_work(self, jobs_uow: JobsUnitOfWorkFactory,
                                                                           jobs_clock: MovableClock) -> None:
        queue_jobs(jobs_uow, jobs_clock, 2)
        with pytest.raises(RuntimeError), jobs_uow.system() as outer:
            outer.jobs.get_job_stats("default")
            with jobs_uow.system() as inner:
                _completed, claimed = inner.commit_with(lambda: inner.jobs.complete_and_claim([], "w1", "default"))
                assert len(claimed) == 2
            raise RuntimeError("the outer unit of work fails")
        with jobs_uow.system() as uow:
            assert uow.jobs.get_job_stats("default").queued == 2

    def test_concurrent_complete_and_claim_never_take_the_same_job(self, jobs_uow: JobsUnitOfWorkFactory,
                                                                   jobs_clock: MovableClock) -> None:
        queue_jobs(jobs_uow, jobs_clock, 24)
        taken: list[uuid.UUID] = []
        done: list[uuid.UUID] = []

        def one(worker: str) -> None:
            held: list[Job] = []
            while True:
                def step(finished: list[Job] = held) -> tuple[list[uuid.UUID], list[Job]]:
                    with jobs_uow.system() as uow:
                        return uow.jobs.complete_and_claim([(job, None) for job in finished], worker, "default",
                                                           limit=2)
                completed, held = retrying(step, attempts=50)
                done.extend(completed)
                taken.extend(job.id for job in held)
                if not held:
                    return

        assert race(one, [f"w{n}" for n in range(4)]) == []
        assert len(taken) == len(set(taken)) == 24 and sorted(done) == sorted(taken)
        with jobs_uow.system() as uow:
            assert uow.jobs.get_job_stats("default").completed == 24

    def test_an_expired_lease_is_rescued_and_the_late_worker_is_fenced_out(
        self, jobs_uow: JobsUnitOfWorkFactory, jobs_clock: MovableClock,
    ) -> None:
        queue_jobs(jobs_uow, jobs_clock, 1)
        [first] = claim(jobs_uow, worker="w1")
        with jobs_uow.system() as uow:
            assert uow.jobs.recover_expired_leases() == []  # not expired yet
        jobs_clock.advance(LEASE)
        with jobs_uow.system() as uow:
            [rescued] = uow.jobs.recover_expired_leases()
        assert (rescued.status, rescued.rescue_count, rescued.worker_id) == (JobStatus.QUEUED, 1, None)
        [second] = claim(jobs_uow, worker="w2")
        assert second.attempt == 2
        with jobs_uow.system() as uow:
            with pytest.raises(LeaseLost):
                uow.jobs.complete(first.id, "w1", first.attempt)
            assert uow.jobs.complete(second.id, "w2", 2).status is JobStatus.COMPLETED

    def test_a_job_rescued_too_often_fails_as_poison(self, jobs_uow: JobsUnitOfWorkFactory,
                                                     jobs_clock: MovableClock) -> None:
        queue_jobs(jobs_uow, jobs_clock, 1)
        for _ in range(3):
            claim(jobs_uow)
            jobs_clock.advance(LEASE)
            with jobs_uow.system() as uow:
                assert uow.jobs.recover_expired_leases()[0].status is JobStatus.QUEUED
        assert len(claim(jobs_uow)) == 1
        jobs_clock.advance(LEASE)
        with jobs_uow.system() as uow:
            [lost] = uow.jobs.recover_expired_leases()
        assert lost.status is JobStatus.FAILED and "lost 4 times" in (lost.error_message or "")

    def test_failures_retry_with_backoff_then_land_in_the_dead_letter(
        self, jobs_uow: JobsUnitOfWorkFactory, jobs_clock: MovableClock,
    ) -> None:
        [job] = queue_jobs(jobs_uow, jobs_clock, 1, max_retries=2)
        delays = []
        for attempt in (1, 2):
            [claimed] = claim(jobs_uow)
            with jobs_uow.system() as uow:
                retried = uow.jobs.fail(claimed.id, "w1", attempt, "gateway timed out")
            assert (retried.status, retried.retry_count) == (JobStatus.QUEUED, attempt)
            delays.append(retried.scheduled_at - jobs_clock.now())
            assert claim(jobs_uow) == []  # not before its backoff
            jobs_clock.advance(delays[-1])
        assert delays == [timedelta(seconds=1), timedelta(seconds=2)]
        [last] = claim(jobs_uow)
        with jobs_uow.system() as uow:
            dead = uow.jobs.fail(last.id, "w1", 3, "gateway timed out")
            assert (dead.status, dead.error_message) == (JobStatus.FAILED, "gateway timed out")
            page = uow.jobs.list_dead_letters("default", CursorPageRequest(limit=10))
            assert [item.id for item in page.items] == [job.id]
            again = uow.jobs.requeue(job.id)
            assert (again.status, again.retry_count) == (JobStatus.QUEUED, 0)
            assert uow.jobs.list_dead_letters().items == []
            with pytest.raises(InvalidTransition):
                uow.jobs.requeue(job.id)

    def test_cancel_reaches_queued_and_running_jobs(self, jobs_uow: JobsUnitOfWorkFactory,
                                                    jobs_clock: MovableClock) -> None:
        jobs = queue_jobs(jobs_uow, jobs_clock, 2)
        [running] = claim(jobs_uow, limit=1)
        with jobs_uow.for_tenant(TENANT_A) as uow:
            assert uow.jobs.cancel(jobs[1].id).status is JobStatus.CANCELLED
            assert uow.jobs.cancel(running.id).status is JobStatus.CANCELLED
            with pytest.raises(InvalidTransition):
                uow.jobs.cancel(running.id)
        with jobs_uow.system() as uow, pytest.raises(LeaseLost):
            uow.jobs.complete(running.id, "w1", 1)

    def test_release_gives_the_job_back_without_spending_a_retry(self, jobs_uow: JobsUnitOfWorkFactory,
                                                                 jobs_clock: MovableClock) -> None:
        queue_jobs(jobs_uow, jobs_clock, 1)
        [job] = claim(jobs_uow)
        with jobs_uow.system() as uow:
            released = uow.jobs.release(job.id, "w1", 1)
        assert (released.status, released.retry_count, released.worker_id) == (JobStatus.QUEUED, 0, None)
        assert claim(jobs_uow, worker="w2")[0].attempt == 2

    @pytest.mark.parametrize(("arguments", "field"), [
        ({"worker_id": ""}, "worker_id"), ({"limit": 0}, "limit"), ({"limit": 10_000}, "limit"),
        ({"lease": timedelta(0)}, "lease"), ({"lease": 30}, "lease"), ({"queue_name": "no such!"}, "queue_name"),
    ])
    def test_bad_claims_are_refused(self, jobs_uow: JobsUnitOfWorkFactory, jobs_clock: MovableClock,
                                    arguments: dict[str, Any], field: str) -> None:
        queue_jobs(jobs_uow, jobs_clock, 1)
        call: dict[str, Any] = {"queue_name": "default", "worker_id": "w1", "limit": 1, "lease": LEASE, **arguments}
        with jobs_uow.system() as uow:
            with pytest.raises(ValidationError, match=field):
                uow.jobs.claim(call.pop("queue_name"), call.pop("worker_id"), **call)
            assert uow.jobs.get_job_stats().queued == 1

    def test_a_claim_rolled_back_leaves_the_jobs_queued(self, jobs_uow: JobsUnitOfWorkFactory,
                                                        jobs_clock: MovableClock) -> None:
        queue_jobs(jobs_uow, jobs_clock, 2)
        with pytest.raises(RuntimeError), jobs_uow.system() as uow:
            assert len(uow.jobs.claim("default", "w1", limit=2)) == 2
            raise RuntimeError("the worker died before committing")
        assert len(claim(jobs_uow, limit=5)) == 2

    # -- deduplication ---------------------------------------------------------------------------
    def test_a_live_deduplication_key_returns_the_existing_job(self, jobs_uow: JobsUnitOfWorkFactory,
                                                               jobs_clock: MovableClock) -> None:
        [first] = queue_jobs(jobs_uow, jobs_clock, 1, deduplication_key="report:42")
        [again] = queue_jobs(jobs_uow, jobs_clock, 1, deduplication_key="report:42")
        [other_tenant] = queue_jobs(jobs_uow, jobs_clock, 1, deduplication_key="report:42", tenant=TENANT_B)
        assert again.id == first.id and other_tenant.id != first.id
        [running] = claim(jobs_uow, limit=1)
        assert queue_jobs(jobs_uow, jobs_clock, 1, deduplication_key="report:42")[0].id == first.id
        with jobs_uow.system() as uow:
            uow.jobs.complete(running.id, "w1", running.attempt)
        [fresh] = queue_jobs(jobs_uow, jobs_clock, 1, deduplication_key="report:42")
        assert fresh.id != first.id
        with jobs_uow.for_tenant(TENANT_A) as uow:
            assert uow.jobs.count() == 2

    def test_concurrent_creates_with_one_key_make_one_job(self, jobs_uow: JobsUnitOfWorkFactory) -> None:
        ids: list[uuid.UUID] = []

        def one(_: int) -> None:
            def create() -> Job:
                with jobs_uow.for_tenant(TENANT_A) as uow:
                    return uow.jobs.create_job("document_upload", deduplication_key="once")
            ids.append(retrying(create, attempts=20).id)

        assert race(one, list(range(4))) == []
        assert len(set(ids)) == 1

    # -- parallel processing (spec 002's ProcessingRepository) -----------------------------------
    def test_a_processing_runs_its_chunks_and_merges(self, jobs_uow: JobsUnitOfWorkFactory,
                                                     jobs_clock: MovableClock) -> None:
        processing = ParallelProcessing.new(TENANT_A, 3, jobs_clock.now(), transcript_id=uuid.uuid4(), max_retries=1)
        with jobs_uow.for_tenant(TENANT_A) as uow:
            saved = uow.processings.save(processing.start(jobs_clock.now()))
        assert saved.record.version == 1 and saved.status is ProcessingStatus.PROCESSING
        step = saved
        for index in range(3):
            step = step.start_chunk(index, jobs_clock.now())
            step = step.fail_chunk(index, "flaky", jobs_clock.now()) if index == 1 else step
            step = step.start_chunk(index, jobs_clock.now()) if index == 1 else step
            step = step.complete_chunk(index, jobs_clock.now())
            with jobs_uow.for_tenant(TENANT_A) as uow:
                step = uow.processings.save(step)
        assert step.status is ProcessingStatus.MERGING and step.get_progress() == 100.0
        assert step.chunk(1).retry_count == 1
        with jobs_uow.for_tenant(TENANT_A) as uow:
            assert [p.id for p in uow.processings.get_active_processings()] == [processing.id]
            done = uow.processings.save(step.complete(jobs_clock.now()))
        with jobs_uow.for_tenant(TENANT_A) as uow:
            loaded = uow.processings.load(processing.id)
            assert loaded == done and loaded.completed_chunks == 3
            assert [task.status for task in loaded.get_tasks()] == [ChunkStatus.COMPLETED] * 3
            assert uow.processings.get_active_processings() == []
        with jobs_uow.for_tenant(TENANT_B) as uow:
            assert uow.processings.load(processing.id) is None

    def test_a_chunk_out_of_retries_fails_the_processing(self, jobs_uow: JobsUnitOfWorkFactory,
                                                         jobs_clock: MovableClock) -> None:
        processing = ParallelProcessing.new(TENANT_A, 2, jobs_clock.now(), max_retries=0).start(jobs_clock.now())
        failed = processing.start_chunk(0, jobs_clock.now()).fail_chunk(0, "corrupt", jobs_clock.now())
        assert failed.status is ProcessingStatus.FAILED and failed.chunk(0).status is ChunkStatus.FAILED
        with jobs_uow.for_tenant(TENANT_A) as uow:
            uow.processings.save(failed)
            assert uow.processings.get_active_processings() == []

    def test_update_progress_and_stale_saves(self, jobs_uow: JobsUnitOfWorkFactory, jobs_clock: MovableClock) -> None:
        processing = ParallelProcessing.new(TENANT_A, 2, jobs_clock.now()).start(jobs_clock.now())
        with jobs_uow.for_tenant(TENANT_A) as uow:
            saved = uow.processings.save(processing)
            updated = uow.processings.update_progress(processing.id, 42.5)
            assert updated.record.progress == 42.5
            with pytest.raises(ValidationError):
                uow.processings.update_progress(processing.id, 120)
            with pytest.raises(NotFound):
                uow.processings.update_progress(uuid.uuid4(), 1)
        with jobs_uow.for_tenant(TENANT_A) as uow, pytest.raises(ConcurrencyConflict):
            uow.processings.save(saved.start_chunk(0, jobs_clock.now()))  # read before the progress update
        with jobs_uow.for_tenant(TENANT_A) as uow:
            uow.processings.delete(processing.id)
            assert uow.processings.load(processing.id) is None
            with pytest.raises(NotFound):
                uow.processings.delete(processing.id)

    def test_active_processings_load_in_two_statements(self, jobs_uow: JobsUnitOfWorkFactory,
                                                       jobs_clock: MovableClock) -> None:
        with jobs_uow.for_tenant(TENANT_A) as uow:
            for chunks in (1, 2, 3):
                uow.processings.save(ParallelProcessing.new(TENANT_A, chunks, jobs_clock.now()).start(jobs_clock.now()))
                jobs_clock.advance()
            uow.processings.save(ParallelProcessing.new(TENANT_A, 4, jobs_clock.now()))  # pending: not active
        with jobs_uow.for_tenant(TENANT_A) as uow:
            active = uow.processings.get_active_processings()
        assert [len(item.tasks) for item in active] == [1, 2, 3]
        assert all(task.processing_id == item.id for item in active for task in item.tasks)

    def test_a_processing_of_another_tenant_is_refused(self, jobs_uow: JobsUnitOfWorkFactory,
                                                       jobs_clock: MovableClock) -> None:
        with jobs_uow.for_tenant(TENANT_B) as uow, pytest.raises(TenantScopeRequired):
            uow.processings.save(ParallelProcessing.new(TENANT_A, 1, jobs_clock.now()))
        with jobs_uow.for_tenant(TENANT_A) as uow:
            assert uow.processings.get_active_processings() == []
            with pytest.raises(ValidationError):
                ParallelProcessing.new(TENANT_A, 0, jobs_clock.now())
