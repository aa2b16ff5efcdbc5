"""The jobs scenario: queue jobs of several priorities, deduplicate one, run a worker over the queue
with a handler that fails, and show the queue's positions, statistics and dead letter."""

from __future__ import annotations

import uuid
from datetime import timedelta

from pydantic import JsonValue

from application.console import Report
from application.container import Container
from application.jobs.use_cases import NewJob
from application.jobs.worker import JobContext, Worker, WorkerSettings
from domain.jobs.job import JobStatus
from domain.shared.errors import ValidationError

QUEUE = "demo-exports"
DEMO_TENANT = uuid.UUID("00000000-0000-4000-8000-00000000d0b5")


def _export(context: JobContext) -> dict[str, JsonValue]:
    context.report_progress(50)
    return {"rows": len(str(context.job.payload))}


def _broken(context: JobContext) -> None:
    raise RuntimeError("the upstream API answered 503")


def run(container: Container, report: Report) -> None:
    units = container.jobs_unit_of_work()
    report.heading("jobs: a queue drained in priority order, retries to a dead letter")
    with units.system() as uow:  # start from a clean slate so the demo can run again
        for job in uow.jobs.load_queue(QUEUE).jobs:
            uow.jobs.delete(job.id)

    enqueue = container.enqueue_job()
    jobs = enqueue.many(DEMO_TENANT, [
        NewJob.parse(job_type="export", queue_name=QUEUE, payload={"report": "monthly"}, priority=2),
        NewJob.parse(job_type="export", queue_name=QUEUE, payload={"report": "weekly"}, priority=2),
        NewJob.parse(job_type="export", queue_name=QUEUE, payload={"report": "urgent"}, priority=9),
        NewJob.parse(job_type="broken", queue_name=QUEUE, max_retries=1),
    ])
    again = enqueue(DEMO_TENANT, NewJob.parse(job_type="export", queue_name=QUEUE, deduplication_key="daily"))
    same = enqueue(DEMO_TENANT, NewJob.parse(job_type="export", queue_name=QUEUE, deduplication_key="daily"))
    report.note(f"queued {len(jobs) + 1} jobs; the same deduplication key twice gave one job: {again.id == same.id}")
    with units.for_tenant(DEMO_TENANT) as uow:
        rows = [[job.payload.get("report", job.job_type), job.priority, uow.jobs.get_queue_position(job.id)]
                for job in jobs]
    report.table(["job", "priority", "queue position"], rows)
    try:
        enqueue(DEMO_TENANT, NewJob.parse(job_type="export", queue_name=QUEUE, priority=1000))
    except ValidationError as error:
        report.note(f"bad input is refused: ValidationError on '{error.field}': {error.message}")

    worker = Worker(units, {"export": _export, "broken": _broken},
                    WorkerSettings(QUEUE, batch_size=10, worker_id="demo-worker"), container.waker())
    clock = container.clock()
    for _ in range(3):  # the broken job's retry waits out its backoff
        worker.run_once()
        advance = getattr(clock, "advance", None)
        if advance is not None:
            advance(timedelta(seconds=5))
    stats = container.get_job_stats()(QUEUE)
    report.table(["status", "jobs"], [[status.value, stats.counts[status]] for status in JobStatus])
    report.note(f"worker: {worker.counts.completed} completed, {worker.counts.failed} failed attempts")
    with units.for_tenant(DEMO_TENANT) as uow:
        for dead in uow.jobs.list_dead_letters(QUEUE).items:
            report.note(f"dead letter: {dead.job_type} after {dead.retry_count} retry: {dead.error_message}")
