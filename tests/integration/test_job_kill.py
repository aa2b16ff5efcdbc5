"""At least once, exactly one effect, with real processes on PostgreSQL: 4 `portside worker`
processes drain 20,000 jobs while 3 of them are killed with SIGKILL at random moments (each replaced,
as a supervisor would, so that 4 keep draining) and Redis (their wake-up channel) is killed too.
Each handler writes one row keyed by its job's id through the worker's unit of work
(tests/integration/job_handlers.py)."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import redis
import sqlalchemy as sa

from adapters.sql.backend import SqlBackend
from application.container import build_container
from application.jobs.use_cases import NewJob
from application.settings import Settings
from domain.jobs.filters import JobFilters, PaginationParams
from domain.jobs.job import Job, JobStatus
from ports.jobs import JobsUnitOfWorkFactory
from tests.conftest import jobs_units_on
from tests.servers import PostgresServer, start_redis

pytestmark = pytest.mark.postgres

JOBS = 20_000
LATE_JOBS = 1_000
"""Queued through `EnqueueJob` after Redis is gone: its wake-up is lost, the workers poll."""
LEASE_SECONDS = 5.0
HEARTBEAT_SECONDS = 1.0
QUEUE = "kill-test"
TENANT = uuid.UUID("00000000-0000-4000-8000-0000000000d1")
ROOT = Path(__file__).resolve().parents[2]


def _worker(number: int, database_url: str, redis_url: str) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "application.cli", "worker", "--queue", QUEUE, "--concurrency", "2",
               "--handlers", "tests.integration.job_handlers:HANDLERS", "--lease", str(LEASE_SECONDS),
               "--heartbeat", str(HEARTBEAT_SECONDS), "--idle-wait", "0.2", "--worker-id", f"worker-{number}"]
    environment = {**os.environ, "PORTSIDE_DATABASE_URL": database_url, "PORTSIDE_REDIS_URL": redis_url,
                   "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(command, cwd=ROOT, env=environment, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)


def _wait_until_it_holds_jobs(units: JobsUnitOfWorkFactory, worker_id: str) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        with units.system() as uow:
            jobs, _ = uow.jobs.list_jobs_with_filters(JobFilters(status=JobStatus.RUNNING, queue_name=QUEUE),
                                                      PaginationParams(size=100))
        if any(job.worker_id == worker_id for job in jobs):
            return
        time.sleep(0.05)
    raise AssertionError(f"{worker_id} never claimed a job")


def test_killed_workers_lose_no_job_and_double_none(postgres_server: PostgresServer,
                                                    postgres_storage: SqlBackend,
                                                    postgres_admin_engine: sa.Engine) -> None:
    units = jobs_units_on(postgres_storage)
    now = datetime.now(UTC)
    with units.for_tenant(TENANT) as uow:
        for start in range(0, JOBS, 1000):
            uow.jobs.bulk_create([
                Job.new(tenant_id=TENANT, queue_name=QUEUE, job_type="record", created_at=now, updated_at=now,
                        scheduled_at=now) for _ in range(start, min(JOBS, start + 1000))
            ])
    rng = random.Random(20261202)
    with start_redis() as redis_server:
        redis_pid = int(redis.Redis.from_url(redis_server.url).info("server")["process_id"])
        workers = [_worker(number, postgres_server.app_url, redis_server.url) for number in range(4)]
        deaths: dict[str, float] = {}
        try:
            for number, victim in enumerate(workers[:3]):
                _wait_until_it_holds_jobs(units, f"worker-{number}")
                time.sleep(rng.uniform(0.0, 2.0))  # a random moment of its work
                victim.send_signal(signal.SIGKILL)
                victim.wait()
                deaths[f"worker-{number}"] = time.time()
                workers.append(_worker(4 + number, postgres_server.app_url, redis_server.url))
                if len(deaths) == 1:
                    os.kill(redis_pid, signal.SIGKILL)
            container = build_container(Settings(database_url=postgres_server.app_url, redis_url=redis_server.url))
            try:
                container.enqueue_job().many(TENANT, [NewJob.parse(job_type="record", queue_name=QUEUE)
                                                      for _ in range(LATE_JOBS)])
            finally:
                container.shutdown_resources()
            deadline = time.monotonic() + 1500  # a generous bound for a loaded machine, never a hang
            while time.monotonic() < deadline:
                with units.system() as uow:
                    stats = uow.jobs.get_job_stats(QUEUE)
                if stats.completed + stats.failed >= JOBS + LATE_JOBS:
                    break
                assert all(process.poll() is None for process in workers[3:]), "a worker nobody killed died"
                time.sleep(0.5)
        finally:
            for process in workers:
                if process.poll() is None:
                    process.send_signal(signal.SIGTERM)
            for process in workers:
                process.wait(60)
    assert [process.returncode for process in workers[3:]] == [0] * 4  # stopped gracefully on SIGTERM
    with units.system() as uow:
        stats = uow.jobs.get_job_stats(QUEUE)
        assert (stats.completed, stats.failed, stats.queued, stats.running) == (JOBS + LATE_JOBS, 0, 0, 0)
    with postgres_admin_engine.connect() as connection:
        rows = connection.execute(sa.text("SELECT count(*), count(DISTINCT id) FROM processing_tasks")).one()
        assert tuple(rows) == (JOBS + LATE_JOBS, JOBS + LATE_JOBS)  # none lost, none doubled
        unmatched = connection.execute(sa.text(
            "SELECT count(*) FROM processing_jobs j LEFT JOIN processing_tasks t ON t.id = j.id WHERE t.id IS NULL"
        )).scalar_one()
        assert unmatched == 0
        rescued = [(row[0], row[1]) for row in connection.execute(sa.text(
            "SELECT completed_at, error_message FROM processing_jobs WHERE rescue_count > 0"))]
    # A rescued job says whose lease expired; those of the killed workers were done within one lease
    # and one heartbeat of the death (plus the time to claim and run them again on a busy machine).
    bound = timedelta(seconds=LEASE_SECONDS + HEARTBEAT_SECONDS + 5.0)
    from_the_dead = 0
    for completed_at, message in rescued:
        dead = next((name for name in deaths if f"lease of {name} " in (message or "")), None)
        if dead is not None:
            from_the_dead += 1
            late = completed_at - datetime.fromtimestamp(deaths[dead], UTC)
            assert late <= bound, f"a job of {dead} was done {late} after its death"
    assert from_the_dead > 0, "no job of a killed worker was rescued: the kills did not land inside a claim"
