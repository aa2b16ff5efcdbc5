"""Handlers the worker tests run, in worker threads and in `portside worker` processes."""

from __future__ import annotations

import time

from pydantic import JsonValue

from application.jobs.worker import Handler, JobContext
from domain.jobs.parallel import ParallelProcessing, ProcessingRecord


def record_once(context: JobContext) -> dict[str, JsonValue]:
    """One row keyed by the job's id, written through the worker's unit of work: a second effect of
    one job would be a `Conflict` on that id, a lost one a missing row."""
    job = context.job
    delay = job.payload.get("sleep")
    if isinstance(delay, int | float):
        time.sleep(float(delay))
    record = ProcessingRecord.new(id=job.id, tenant_id=job.tenant_id, total_chunks=1, created_at=job.created_at,
                                  updated_at=job.created_at)
    context.uow.processings.save(ParallelProcessing(record, ()))
    if job.payload.get("progress"):
        context.report_progress(50)
    return {"recorded": str(job.id)}


def always_fails(context: JobContext) -> None:
    raise RuntimeError(f"job {context.job.id} cannot succeed")


HANDLERS: dict[str, Handler] = {"record": record_once, "broken": always_fails}
