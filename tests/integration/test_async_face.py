"""The async face awaited directly, on memory, SQLite (aiosqlite) and PostgreSQL (asyncpg): joining in
one task, rollback, cancellation, the pool given back, tenants apart, row-level security, real
concurrency on one loop, awaited use cases, and the thread lanes BigQuery runs on."""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import pytest
import sqlalchemy as sa
from sqlalchemy.util import await_

from adapters.asynchronous.runners import DirectRunner, GreenletRunner, ThreadLaneRunner
from adapters.asynchronous.sql import AsyncSqlDatabase, async_database_url
from adapters.asynchronous.unit_of_work import AsyncContextFactory
from adapters.memory.backend import MemoryBackend
from adapters.rules.jobs import jobs_units
from adapters.rules.tenancy import tenancy_units
from adapters.sql.database import SqlDatabase
from adapters.sql.engine import PoolSettings
from adapters.transactions import Backend, ContextUnitOfWork
from application.async_use_cases import AwaitableUseCase
from application.testing.contracts.tenancy import tenant
from application.testing.contracts.unit_of_work import InjectedFailure
from domain.shared.errors import TenantScopeRequired, UnitOfWorkInactive, UnitOfWorkNotOwned
from ports.async_unit_of_work import SyncRunner
from ports.jobs import JOB_SCHEMA, JobsUnitOfWork
from ports.tenancy import TenancyUnitOfWork
from tests.conftest import storage_on

T = TypeVar("T")
POOL = PoolSettings(size=4, max_overflow=0, timeout_seconds=5)


@dataclass
class Face:
    storage: Backend[Any, Any]
    runner: SyncRunner
    database: AsyncSqlDatabase | None

    @property
    def jobs(self) -> AsyncContextFactory[JobsUnitOfWork]:
        return AsyncContextFactory(jobs_units(self.storage), self.runner)

    @property
    def tenancy(self) -> AsyncContextFactory[TenancyUnitOfWork]:
        return AsyncContextFactory(tenancy_units(self.storage), self.runner)

    def checked_out(self) -> int:
        if self.database is None:
            return 0
        return self.database.checked_out()

    def run(self, scenario: Callable[[], Awaitable[T]]) -> T:
        """`scenario` on a loop of its own; the async engine's connections are closed on it after."""

        async def main() -> T:
            try:
                return await scenario()
            finally:
                assert self.checked_out() == 0
                if self.database is not None:
                    await self.database.dispose()

        return asyncio.run(main())


@pytest.fixture
def face(backend: str, request: pytest.FixtureRequest) -> Iterator[Face]:
    yield from _face(backend, request)


@pytest.fixture
def postgres_face(request: pytest.FixtureRequest) -> Iterator[Face]:
    yield from _face("postgres", request)


def _face(backend: str, request: pytest.FixtureRequest) -> Iterator[Face]:
    databases: list[AsyncSqlDatabase] = []

    def async_database(name: str) -> SqlDatabase:
        session: SqlDatabase = request.getfixturevalue(f"{name}_database")
        databases.append(AsyncSqlDatabase.from_url(session.engine.url.render_as_string(hide_password=False), POOL))
        return databases[0].database

    storages = storage_on(backend, request, async_database)
    storage = next(storages)
    runner = DirectRunner() if backend == "memory" else GreenletRunner()
    yield Face(storage, runner, databases[0] if databases else None)
    next(storages, None)


async def _job_types(face: Face, tenant_id: uuid.UUID) -> list[str]:
    async with face.jobs.for_tenant(tenant_id) as uow:
        return sorted(job.job_type for job in (await uow.jobs.list_and_count()).items)


def test_a_clean_block_commits_and_a_failing_one_rolls_back(face: Face) -> None:
    acme = uuid.uuid4()

    async def scenario() -> list[str]:
        async with face.jobs.for_tenant(acme) as uow:
            await uow.jobs.create_job("kept")
        with pytest.raises(InjectedFailure):
            async with face.jobs.for_tenant(acme) as uow:
                await uow.jobs.create_job("lost")
                raise InjectedFailure
        return await _job_types(face, acme)

    assert face.run(scenario) == ["kept"]


def test_nested_blocks_join_and_a_failing_inner_one_rolls_back_to_its_savepoint(face: Face) -> None:
    acme = uuid.uuid4()

    async def scenario() -> list[str]:
        async with face.jobs.for_tenant(acme) as outer:
            job = await outer.jobs.create_job("outer")
            async with face.jobs.for_tenant(acme) as inner:
                assert await inner.jobs.get_by_id(job.id) == job  # the outer block's uncommitted write
                await inner.jobs.create_job("inner")
            with pytest.raises(InjectedFailure):
                async with face.jobs.for_tenant(acme) as inner:
                    await inner.jobs.create_job("lost")
                    raise InjectedFailure
            assert face.checked_out() <= 1  # one transaction, one connection
        return await _job_types(face, acme)

    assert face.run(scenario) == ["inner", "outer"]


def test_two_contexts_in_one_task_share_one_transaction(face: Face) -> None:
    acme = tenant("Acme", "acme")

    async def scenario() -> tuple[list[str], list[str]]:
        with pytest.raises(InjectedFailure):
            async with face.tenancy.for_tenant(acme.id) as tenancy, face.jobs.for_tenant(acme.id) as jobs:
                await tenancy.tenants.create(acme)
                await jobs.jobs.create_job("lost")
                raise InjectedFailure
        async with face.tenancy.for_tenant(acme.id) as tenancy, face.jobs.for_tenant(acme.id) as jobs:
            await tenancy.tenants.create(acme)
            await jobs.jobs.create_job("kept")
            assert face.checked_out() <= 1
        async with face.tenancy.system() as tenancy:
            names = [t.name for t in (await tenancy.tenants.list_and_count()).items]
        return names, await _job_types(face, acme.id)

    assert face.run(scenario) == (["Acme"], ["kept"])


def test_blocks_of_two_tenants_do_not_join(face: Face) -> None:
    async def scenario() -> None:
        async with face.jobs.for_tenant(uuid.uuid4()):
            with pytest.raises(TenantScopeRequired):
                async with face.jobs.for_tenant(uuid.uuid4()):
                    pass

    face.run(scenario)


def test_another_tenant_sees_nothing(face: Face) -> None:
    acme, globex = uuid.uuid4(), uuid.uuid4()

    async def scenario() -> None:
        async with face.jobs.for_tenant(acme) as uow:
            job = await uow.jobs.create_job("private")
        async with face.jobs.for_tenant(globex) as uow:
            assert await uow.jobs.get_by_id(job.id) is None
            assert (await uow.jobs.list_and_count()).total == 0
        assert await _job_types(face, globex) == []

    face.run(scenario)


async def _cancelled(face: Face, writer: Callable[[], Coroutine[Any, Any, None]], moment: Awaitable[Any],
                     tenant_id: uuid.UUID) -> list[str]:
    """Cancel a task running `writer` at `moment`; the pool then holds every connection again, and
    what the tenant's jobs are."""
    task = asyncio.create_task(writer())
    await moment
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert face.checked_out() == 0
    return await _job_types(face, tenant_id)


def test_a_cancelled_task_rolls_back_and_gives_its_connection_back(face: Face) -> None:
    acme = uuid.uuid4()
    written = asyncio.Event()

    async def writer() -> None:
        async with face.jobs.for_tenant(acme) as uow:
            await uow.jobs.create_job("half-written")
            written.set()
            await asyncio.sleep(30)  # cancelled here, inside the block
            await uow.jobs.create_job("never")

    assert face.run(lambda: _cancelled(face, writer, written.wait(), acme)) == []


@pytest.mark.postgres
def test_a_task_cancelled_during_a_statement_rolls_back_on_postgres(postgres_face: Face) -> None:
    face = postgres_face
    acme = uuid.uuid4()

    def slow_statement(unit: JobsUnitOfWork) -> Any:
        return _connection(unit).execute(sa.text("SELECT pg_sleep(30)"))

    async def writer() -> None:
        async with face.jobs.for_tenant(acme) as uow:
            await uow.jobs.create_job("half-written")
            await uow.run(slow_statement)

    assert face.run(lambda: _cancelled(face, writer, asyncio.sleep(0.5), acme)) == []


def test_another_task_cannot_use_an_active_unit_of_work(face: Face) -> None:
    async def scenario() -> None:
        async with face.jobs.for_tenant(uuid.uuid4()) as uow:
            jobs = uow.jobs

            async def intruder() -> None:
                await jobs.create_job("intruder")

            with pytest.raises(UnitOfWorkNotOwned):
                await asyncio.create_task(intruder())
        with pytest.raises(UnitOfWorkInactive):
            await jobs.create_job("after the block")

    face.run(scenario)


def test_a_task_started_inside_a_block_has_a_transaction_of_its_own(face: Face) -> None:
    acme = uuid.uuid4()

    async def child() -> None:
        async with face.jobs.for_tenant(acme) as uow:
            await uow.jobs.create_job("child")

    async def scenario() -> list[str]:
        with pytest.raises(InjectedFailure):
            async with face.jobs.for_tenant(acme) as uow:
                await uow.jobs.create_job("parent")
                if face.database is None or face.database.engine.dialect.name == "postgresql":
                    await asyncio.create_task(child())  # SQLite would wait for the parent's write lock
                raise InjectedFailure
        return await _job_types(face, acme)

    expected = [] if face.database is not None and face.database.engine.dialect.name == "sqlite" else ["child"]
    assert face.run(scenario) == expected


def test_concurrent_tasks_on_one_loop_each_commit_their_own(face: Face) -> None:
    acme = uuid.uuid4()

    async def one(index: int) -> None:
        async with face.jobs.for_tenant(acme) as uow:
            await uow.jobs.create_job(f"job-{index:02d}")

    async def scenario() -> list[str]:
        await asyncio.gather(*(one(index) for index in range(16)))
        return await _job_types(face, acme)

    assert face.run(scenario) == [f"job-{index:02d}" for index in range(16)]


def test_an_awaited_use_case_joins_the_block_it_is_awaited_in(face: Face) -> None:
    acme = uuid.uuid4()
    units = jobs_units(face.storage)

    def enqueue(job_type: str) -> uuid.UUID:
        with units.for_tenant(acme) as uow:
            return uow.jobs.create_job(job_type).id

    use_case = AwaitableUseCase(enqueue, face.runner)

    async def scenario() -> list[str]:
        await use_case("alone")
        with pytest.raises(InjectedFailure):
            async with face.jobs.for_tenant(acme):
                await use_case("joined")
                raise InjectedFailure
        return await _job_types(face, acme)

    assert face.run(scenario) == ["alone"]


def _connection(unit: JobsUnitOfWork) -> sa.Connection:
    assert isinstance(unit, ContextUnitOfWork)
    store: Any = unit.store(JOB_SCHEMA)
    connection: sa.Connection = store.connection
    return connection


@pytest.mark.postgres
def test_row_level_security_binds_the_async_connection(postgres_face: Face) -> None:
    face = postgres_face
    acme, globex = uuid.uuid4(), uuid.uuid4()

    def unfiltered(unit: JobsUnitOfWork) -> tuple[str, int]:
        connection = _connection(unit)
        setting = connection.execute(sa.text("SELECT current_setting('app.tenant_id', true)")).scalar_one()
        return setting, connection.execute(sa.text("SELECT count(*) FROM processing_jobs")).scalar_one()

    async def scenario() -> tuple[str, int]:
        for owner, count in ((acme, 2), (globex, 3)):
            async with face.jobs.for_tenant(owner) as uow:
                for _ in range(count):
                    await uow.jobs.create_job("x")
        async with face.jobs.for_tenant(acme) as uow:
            found: tuple[str, int] = await uow.run(unfiltered)
            return found

    assert face.run(scenario) == (str(acme), 2)  # no WHERE: the policy alone hides Globex's rows


def test_thread_lanes_run_a_unit_of_work_off_the_loop_on_one_thread() -> None:
    lanes = ThreadLaneRunner(2)
    storage = MemoryBackend()
    jobs = AsyncContextFactory(jobs_units(storage), lanes)
    acme = uuid.uuid4()
    threads: set[int] = set()

    def where(unit: JobsUnitOfWork) -> None:
        threads.add(threading.get_ident())

    async def scenario() -> list[str]:
        async with jobs.for_tenant(acme) as outer:
            await outer.jobs.create_job("outer")
            await outer.run(where)
            async with jobs.for_tenant(acme) as inner:
                await inner.jobs.create_job("inner")
                await inner.run(where)
        async with jobs.for_tenant(acme) as uow:
            return sorted(job.job_type for job in (await uow.jobs.list_and_count()).items)

    try:
        assert asyncio.run(scenario()) == ["inner", "outer"]
    finally:
        lanes.close()
    assert len(threads) == 1 and threading.get_ident() not in threads


def test_async_urls_follow_the_sync_ones() -> None:
    assert async_database_url("postgresql://u:p@h/db") == "postgresql+asyncpg://u:p@h/db"
    assert async_database_url("postgresql+psycopg2://u:p@h/db") == "postgresql+asyncpg://u:p@h/db"
    assert async_database_url("postgresql+psycopg://u:p@h/db") == "postgresql+psycopg://u:p@h/db"
    assert async_database_url("sqlite:///x.db") == "sqlite+aiosqlite:///x.db"
    with pytest.raises(ValueError, match="no async driver"):
        async_database_url("mysql://h/db")


@pytest.fixture(params=[pytest.param("sqlite", marks=pytest.mark.sqlite),
                        pytest.param("postgres", marks=pytest.mark.postgres)])
def sql_face(request: pytest.FixtureRequest) -> Iterator[Face]:
    yield from _face(str(request.param), request)


def _slowed(face: Face, event_name: str) -> asyncio.Event:
    """Every `event_name` ("commit", "rollback") of the face's engine takes 0.3 s, awaited on the loop
    from inside the greenlet; the event returned is set when one begins."""
    began = asyncio.Event()

    def slow(_connection: sa.Connection) -> None:
        began.set()
        await_(asyncio.sleep(0.3))

    assert face.database is not None
    sa.event.listen(face.database.engine.sync_engine, event_name, slow)
    return began


@pytest.mark.parametrize(("moment", "fails", "kept"), [("commit", False, ["written"]), ("rollback", True, [])])
def test_a_cancellation_during_the_end_of_a_block_waits_for_it_then_is_raised(
    sql_face: Face, moment: str, fails: bool, kept: list[str]
) -> None:
    """Cancelled while its commit (or, for a failed block, its rollback) is under way, the task
    finishes it first: the commit lands, the rollback completes, the connection is back."""
    acme = uuid.uuid4()
    began = _slowed(sql_face, moment)

    async def writer() -> None:
        async with sql_face.jobs.for_tenant(acme) as uow:
            await uow.jobs.create_job("written")
            if fails:
                raise InjectedFailure

    assert sql_face.run(lambda: _cancelled(sql_face, writer, began.wait(), acme)) == kept


@pytest.mark.parametrize("where", ["memory", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_the_container_awaits_the_metrics_repositories(where: str, request: pytest.FixtureRequest) -> None:
    """`container.async_metrics_repository()`: spec 002's repository awaited, on the async engine
    for SQL (the sync pool is never opened), tenant-labelled as on the sync face."""
    from application.container import build_container, shutdown_async
    from application.settings import Settings
    from domain.metrics.collector import MetricsCollector

    url = "memory://" if where == "memory" else request.getfixturevalue("postgres_server").app_url
    if where == "postgres":
        request.getfixturevalue("postgres_database")  # the session's schema, migrated
    container = build_container(Settings(database_url=url))
    acme, globex = uuid.uuid4(), uuid.uuid4()

    async def scenario() -> tuple[float | None, float | None, bool]:
        metrics = container.async_metrics_repository()
        collector = MetricsCollector()
        collector.set_gauge("queue_depth", 3.0, {"queue": "jobs"})
        await metrics.for_tenant(acme).save(collector)
        mine = await metrics.for_tenant(acme).query_latest("queue_depth", {"queue": "jobs"})
        theirs = await metrics.for_tenant(globex).query_latest("queue_depth", {"queue": "jobs"})
        sync_pool_opened = bool(container.sql_database.initialized)
        await shutdown_async(container)
        return mine, theirs, sync_pool_opened

    assert asyncio.run(scenario()) == (3.0, None, False)
