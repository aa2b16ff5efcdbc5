"""The jobs contract on memory, SQLite and PostgreSQL (the `backend` fixture's parameter)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from adapters.sql.backend import SqlBackend
from application.testing.contracts.jobs import TENANT_A, JobsContract
from domain.jobs.job import JobStatus
from tests.conftest import _empty, jobs_units_on


class TestJobs(JobsContract):
    pass


def test_the_claim_through_sqlalchemy_matches_the_direct_one(postgres_database: Any,
                                                             postgres_admin_engine: Any) -> None:
    """A listener on the engine turns the DBAPI shortcut off: the claim then goes through
    `Connection.execute`, and must answer the same."""
    _empty(postgres_admin_engine)
    units = jobs_units_on(SqlBackend(postgres_database))
    with units.for_tenant(TENANT_A) as uow:
        created = [uow.jobs.create_job("export", priority=priority).id for priority in (1, 5, 3)]
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    sa.event.listen(postgres_database.engine, "before_cursor_execute", record)
    try:
        with units.system() as uow:
            claimed = uow.jobs.claim("default", "w1", limit=2, lease=timedelta(seconds=30))
        with units.for_tenant(TENANT_A) as uow:
            rest = uow.jobs.claim("default", "w2", limit=5, lease=timedelta(seconds=30))
    finally:
        sa.event.remove(postgres_database.engine, "before_cursor_execute", record)
        _empty(postgres_admin_engine)
    assert [job.id for job in claimed] == [created[1], created[2]]
    assert [(job.status, job.worker_id, job.attempt) for job in claimed] == [(JobStatus.RUNNING, "w1", 1)] * 2
    assert [job.id for job in rest] == [created[0]]
    assert sum("FOR UPDATE SKIP LOCKED" in statement for statement in seen) == 2
