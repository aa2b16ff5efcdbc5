"""The worker's acknowledgement and next claim in one prepared statement on psycopg2
(`adapters/sql/job_acknowledgement.py`): prepared once per pooled connection and executed from then
on, prepared again on a connection that lost it, and never prepared twice when the statement that
prepared it failed."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from adapters.sql.backend import SqlBackend
from adapters.sql.database import SqlDatabase
from adapters.sql.engine import PoolSettings
from adapters.sql.job_acknowledgement import MAX_PREPARED
from domain.jobs.job import Job, JobStatus
from domain.shared.errors import PortsideError, StorageUnavailable
from ports.jobs import JobsUnitOfWorkFactory
from tests.conftest import jobs_units_on
from tests.integration.round_trips import counting_round_trips
from tests.servers import PostgresServer

pytestmark = pytest.mark.postgres

TENANT = uuid.UUID("00000000-0000-4000-8000-0000000000d1")
NAME = "portside_complete_and_claim_processing_jobs_2"


@pytest.fixture
def one_connection(postgres_server: PostgresServer, postgres_storage: SqlBackend) -> Iterator[SqlDatabase]:
    """A psycopg2 database of the application role whose pool holds one connection."""
    database = SqlDatabase.from_url(postgres_server.app_url, PoolSettings(size=1, max_overflow=0))
    try:
        yield database
    finally:
        database.dispose()


@pytest.fixture
def units(one_connection: SqlDatabase) -> JobsUnitOfWorkFactory:
    return jobs_units_on(SqlBackend(one_connection))


def _queue(units: JobsUnitOfWorkFactory, count: int) -> list[uuid.UUID]:
    with units.for_tenant(TENANT) as uow:
        return [uow.jobs.create_job("noop").id for _ in range(count)]


def _step(units: JobsUnitOfWorkFactory, held: list[Job], worker: str = "w1") -> tuple[list[uuid.UUID], list[Job]]:
    with units.system() as uow:
        return uow.jobs.complete_and_claim([(job, None) for job in held], worker, "default", limit=2)


def _executions(database: SqlDatabase) -> int | None:
    """How often the pooled connection ran the prepared statement (None: not prepared there)."""
    with database.engine.connect() as connection:
        row = connection.exec_driver_sql(
            "SELECT generic_plans + custom_plans FROM pg_prepared_statements WHERE name = %(name)s",
            {"name": NAME}).first()
        return None if row is None else int(row[0])


def test_prepared_once_per_connection_then_executed(units: JobsUnitOfWorkFactory, one_connection: SqlDatabase) -> None:
    ids = _queue(units, 5)
    assert _executions(one_connection) is None
    held: list[Job] = []
    completed: list[uuid.UUID] = []
    for _ in range(3):  # claims 2; completes 2, claims 2; completes 2, claims the last
        done, held = _step(units, held)
        completed.extend(done)
    assert completed == ids[:4] and [job.id for job in held] == ids[4:]
    assert _executions(one_connection) == 3
    one_connection.engine.dispose()  # a new connection has not prepared it
    assert _step(units, held) == ([ids[4]], [])
    assert _executions(one_connection) == 1


def test_a_connection_that_lost_the_statement_prepares_it_again(units: JobsUnitOfWorkFactory,
                                                                one_connection: SqlDatabase) -> None:
    ids = _queue(units, 3)
    _done, held = _step(units, [])
    with one_connection.engine.connect() as connection:
        connection.exec_driver_sql("DEALLOCATE ALL")  # a pooler's reset, or a caller's
        connection.commit()
    with pytest.raises(StorageUnavailable, match="does not exist"):  # safe to retry, and the retry works
        _step(units, held)
    done, more = _step(units, held)  # asked the server, prepared again
    assert done == ids[:2] and [job.id for job in more] == ids[2:]
    assert _executions(one_connection) == 1


@pytest.fixture
def doomed_worker(postgres_admin_engine: sa.Engine, postgres_storage: SqlBackend) -> Iterator[str]:
    """A trigger that fails every claim by the worker it names: the statement fails after its PREPARE."""
    with postgres_admin_engine.begin() as connection:
        connection.exec_driver_sql("""
            CREATE FUNCTION refuse_doomed() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF NEW.worker_id = 'doomed' THEN RAISE EXCEPTION 'no claims for the doomed worker'; END IF;
                RETURN NEW;
            END $$""")
        connection.exec_driver_sql("CREATE TRIGGER refuse_doomed BEFORE UPDATE ON processing_jobs "
                                   "FOR EACH ROW EXECUTE FUNCTION refuse_doomed()")
    try:
        yield "doomed"
    finally:
        with postgres_admin_engine.begin() as connection:
            connection.exec_driver_sql("DROP TRIGGER refuse_doomed ON processing_jobs")
            connection.exec_driver_sql("DROP FUNCTION refuse_doomed()")


def test_a_failed_first_use_does_not_prepare_twice(units: JobsUnitOfWorkFactory, one_connection: SqlDatabase,
                                                   doomed_worker: str) -> None:
    ids = _queue(units, 2)
    with pytest.raises(PortsideError):
        _step(units, [], worker=doomed_worker)  # the PREPARE ran, the EXECUTE failed: rolled back
    with units.system() as uow:
        assert uow.jobs.get_job_stats("default").queued == 2
    assert _executions(one_connection) == 1  # prepared, and it was executed once (and failed)
    done, claimed = _step(units, [])
    assert done == [] and [job.id for job in claimed] == ids
    assert all(job.status is JobStatus.RUNNING and job.worker_id == "w1" for job in claimed)
    assert _executions(one_connection) == 2


def test_a_batch_is_one_round_trip_and_its_commit(units: JobsUnitOfWorkFactory, one_connection: SqlDatabase) -> None:
    """BEGIN, the scope binding and the statement go as one query; then COMMIT."""
    _queue(units, 4)
    _done, held = _step(units, [])
    round_trips = counting_round_trips(one_connection)
    done, _more = _step(units, held)
    assert len(done) == 2 and round_trips() == 2


def test_committed_with_its_statement_a_batch_is_one_round_trip(units: JobsUnitOfWorkFactory,
                                                                one_connection: SqlDatabase) -> None:
    """No BEGIN, no COMMIT: the binding and the statement run as one transaction the server commits."""
    ids = _queue(units, 4)
    _done, held = _step(units, [])
    round_trips = counting_round_trips(one_connection)
    with units.system() as uow:
        done, more = uow.commit_with(lambda: uow.jobs.complete_and_claim([(job, None) for job in held], "w1",
                                                                         "default", limit=2))
    assert round_trips() == 1
    assert done == ids[:2] and [job.id for job in more] == ids[2:]
    with one_connection.engine.connect() as connection:  # the same pooled connection, nothing left open
        assert connection.exec_driver_sql("SELECT current_setting('app.system_scope', true)").scalar() in ("", None)
    with units.for_tenant(TENANT) as uow:
        assert [uow.jobs.get_by_id_or_raise(job_id).status for job_id in ids] == [
            JobStatus.COMPLETED, JobStatus.COMPLETED, JobStatus.RUNNING, JobStatus.RUNNING]


def test_a_failed_statement_committed_alone_leaves_nothing_open(units: JobsUnitOfWorkFactory,
                                                                one_connection: SqlDatabase,
                                                                doomed_worker: str) -> None:
    _queue(units, 2)
    round_trips = counting_round_trips(one_connection)
    with pytest.raises(PortsideError), units.system() as uow:
        uow.commit_with(lambda: uow.jobs.complete_and_claim([], doomed_worker, "default"))
    assert round_trips() == 1  # the statement; no ROLLBACK: the server had ended it
    with units.system() as uow:  # the connection is clean, the jobs still queued
        assert uow.jobs.get_job_stats("default").queued == 2
        _done, claimed = uow.jobs.complete_and_claim([], "w1", "default")
    assert len(claimed) == 2


def test_a_connection_keeps_a_bounded_number_of_prepared_statements(units: JobsUnitOfWorkFactory,
                                                                    one_connection: SqlDatabase) -> None:
    """Batch sizes past `MAX_PREPARED` still claim, planned each time, and prepare nothing more."""
    _queue(units, sum(range(1, MAX_PREPARED + 3)))  # each claim takes `limit` jobs
    claimed: list[Job] = []
    for limit in range(1, MAX_PREPARED + 3):
        with units.system() as uow:
            claimed += uow.jobs.complete_and_claim([], "w1", "default", limit=limit)[1][:1]
            uow.jobs.get_job_stats("default")
    assert len({job.id for job in claimed}) == MAX_PREPARED + 2
    with one_connection.engine.connect() as connection:
        names = connection.exec_driver_sql("SELECT count(*) FROM pg_prepared_statements "
                                           "WHERE name LIKE 'portside_complete_and_claim%%'").scalar_one()
    assert names == MAX_PREPARED


def test_committed_with_after_other_statements_it_joins_their_transaction(units: JobsUnitOfWorkFactory,
                                                                          one_connection: SqlDatabase) -> None:
    """Once the unit of work has sent a statement, the whole one runs inside its transaction."""
    _queue(units, 2)
    round_trips = counting_round_trips(one_connection)
    with pytest.raises(RuntimeError), units.system() as uow:
        assert uow.jobs.get_job_stats("default").queued == 2
        _done, claimed = uow.commit_with(lambda: uow.jobs.complete_and_claim([], "w1", "default"))
        assert len(claimed) == 2
        raise RuntimeError("after the commit")
    assert round_trips() == 3  # BEGIN, binding and the count; the statement; COMMIT
    with units.system() as uow:
        assert uow.jobs.get_job_stats("default").running == 2
