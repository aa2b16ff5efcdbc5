"""The jobs repository's argument checks: a caller's bad value becomes a `ValidationError` naming
the argument, before anything is read or written. (Imported as a module, `arg.worker(worker_id)`.)"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from pydantic import JsonValue

from domain.jobs.job import NAME_PATTERN, Job
from domain.shared.checks import json_object, positive_int, sequence, text_argument
from domain.shared.errors import ValidationError

MAX_CLAIM = 1000
CREATE_ARGUMENTS = frozenset({"job_type", "workspace_id", "metadata", "payload", "queue_name", "priority",
                               "max_retries", "scheduled_at", "deduplication_key", "tenant_id"})


def request(request: Any) -> dict[str, Any]:
    """One `create_jobs` request: `create_job`'s arguments by name."""
    if not isinstance(request, Mapping) or "job_type" not in request:
        raise ValidationError("requests", "each request is a mapping of create_job's arguments, job_type included")
    unknown = set(request) - CREATE_ARGUMENTS
    if unknown:
        raise ValidationError("requests", f"unknown arguments {sorted(map(str, unknown))}")
    return {str(name): value for name, value in request.items()}
MAX_LEASE = timedelta(hours=24)


def worker(value: Any) -> str:
    worker = text_argument(value, "worker_id")
    if not 1 <= len(worker) <= 200:
        raise ValidationError("worker_id", "must be 1 to 200 characters")
    return worker


def attempt(value: Any) -> int:
    return positive_int(value, "attempt")


def lease(value: Any) -> timedelta:
    if not isinstance(value, timedelta) or not timedelta(0) < value <= MAX_LEASE:
        raise ValidationError("lease", f"must be a timedelta above zero and at most {MAX_LEASE}")
    return value


def claimed_copies(value: Any, name: str) -> list[Job]:
    jobs = sequence(value, name)
    if not all(isinstance(job, Job) for job in jobs):
        raise ValidationError(name, "expected the Job copies a claim or a heartbeat returned")
    if len({job.id for job in jobs}) != len(jobs):
        raise ValidationError(name, "a job appears more than once")
    if len(jobs) > MAX_CLAIM:
        raise ValidationError(name, f"at most {MAX_CLAIM} jobs at a time")
    return list(jobs)


def limit(value: Any, maximum: int = MAX_CLAIM) -> int:
    limit = positive_int(value, "limit")
    if limit > maximum:
        raise ValidationError("limit", f"must be at most {maximum}")
    return limit


def queue(value: Any) -> str:
    name = text_argument(value, "queue_name")
    if not NAME_PATTERN.match(name):
        raise ValidationError("queue_name", f"{name!r} is not a queue name")
    return name


def completions(value: Any) -> list[tuple[Job, dict[str, JsonValue] | None]]:
    """`(claimed copy, result)` pairs: the copies as `claimed_copies` takes them, the results JSON objects."""
    pairs = []
    for item in sequence(value, "completions"):
        if not isinstance(item, tuple) or len(item) != 2:
            raise ValidationError("completions", "each completion is a (claimed job, result) pair")
        pairs.append((item[0], None if item[1] is None else json_object(item[1], "result")))
    claimed_copies([job for job, _ in pairs], "completions")
    return pairs
