"""The shipped contract suites on the async face, on memory, SQLite (aiosqlite) and PostgreSQL (asyncpg
and psycopg 3).

Every factory a suite is handed is a `BridgedFactory` (`application/testing/async_bridge.py`): the
suite's sync calls are awaited on the async units of work and repositories, run by the runner each
backend gets in the container (memory: on the loop; SQL: greenlets over the async driver). The SQL
backends are the session's databases reached through an async engine.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, cast

import pytest

from adapters.asynchronous.runners import DirectRunner, GreenletRunner
from adapters.asynchronous.sql import AsyncSqlDatabase
from adapters.asynchronous.transaction_manager import AsyncBackendTransactionManager
from adapters.asynchronous.unit_of_work import AsyncContextFactory
from adapters.rules.control_plane import control_plane_units
from adapters.rules.reliability import reliability_units
from adapters.rules.tenancy import tenancy_units
from adapters.sql.backend import SqlBackend
from adapters.sql.control_plane import SqlInferenceMetrics
from adapters.sql.database import SqlDatabase
from adapters.transactions import Backend
from application.testing.async_bridge import BridgedFactory, BridgedTransactionManager, SyncBridge
from application.testing.contracts.bad_input import BadInputContract
from application.testing.contracts.control_plane import ControlPlaneContract
from application.testing.contracts.jobs import JobsContract
from application.testing.contracts.processing import ProcessingContract
from application.testing.contracts.reliability import ReliabilityContract
from application.testing.contracts.tenancy import TenancyContract
from application.testing.contracts.unit_of_work import UnitOfWorkContract
from domain.jobs.backoff import Backoff
from ports.async_unit_of_work import SyncRunner
from ports.control_plane import ControlPlaneUnitOfWorkFactory
from ports.jobs import JobsUnitOfWorkFactory
from ports.processing import ProcessingUnitOfWorkFactory
from ports.reliability import ReliabilityUnitOfWorkFactory
from ports.tenancy import TenancyUnitOfWorkFactory
from ports.transactions import TransactionManager
from ports.unit_of_work import UnitOfWork, UnitOfWorkFactory
from tests.conftest import jobs_units_on, processing_units_on, storage_on

ASYNC_BACKENDS = {"memory": "memory", "sqlite": "sqlite", "postgres": "postgres", "postgres_psycopg": "postgres"}
"""Each parameter of the async contracts and the server it runs on: PostgreSQL on both async drivers."""


@pytest.fixture(params=[pytest.param(name, marks=getattr(pytest.mark, server))
                        for name, server in ASYNC_BACKENDS.items()])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def storage(backend: str, request: pytest.FixtureRequest) -> Iterator[Backend[Any, Any]]:
    """The backend under test on an empty database, built on the async engine for SQL; every pooled
    connection back in the pool after the test."""
    databases: list[AsyncSqlDatabase] = []

    def async_database(name: str) -> SqlDatabase:
        databases.append(request.getfixturevalue(f"async_{name}_database"))
        return databases[-1].database

    yield from storage_on(ASYNC_BACKENDS[backend], request, lambda _server: async_database(backend))
    for database in databases:
        assert database.checked_out() == 0


@pytest.fixture
def runner(backend: str) -> SyncRunner:
    return DirectRunner() if backend == "memory" else GreenletRunner()


@pytest.fixture
def bridge(backend: str, request: pytest.FixtureRequest) -> Iterator[SyncBridge]:
    shared = None if backend == "memory" else request.getfixturevalue("async_loop")
    bridge = SyncBridge(shared)
    yield bridge
    bridge.close()


def bridged(units: UnitOfWorkFactory[UnitOfWork], runner: SyncRunner, bridge: SyncBridge) -> Any:
    """`units` on the async face, seen through the bridge (typed as the factory the suites take)."""
    return BridgedFactory(AsyncContextFactory(units, runner), bridge)


@pytest.fixture
def tenancy_uow(storage: Backend[Any, Any], runner: SyncRunner, bridge: SyncBridge) -> TenancyUnitOfWorkFactory:
    return cast(TenancyUnitOfWorkFactory, bridged(tenancy_units(storage), runner, bridge))


@pytest.fixture
def reliability_uow(storage: Backend[Any, Any], runner: SyncRunner,
                    bridge: SyncBridge) -> ReliabilityUnitOfWorkFactory:
    return cast(ReliabilityUnitOfWorkFactory, bridged(reliability_units(storage), runner, bridge))


@pytest.fixture
def processing_uow(storage: Backend[Any, Any], runner: SyncRunner,
                   bridge: SyncBridge) -> ProcessingUnitOfWorkFactory:
    return cast(ProcessingUnitOfWorkFactory, bridged(processing_units_on(storage), runner, bridge))


@pytest.fixture
def jobs_uow(storage: Backend[Any, Any], jobs_clock: Any, runner: SyncRunner,
             bridge: SyncBridge) -> JobsUnitOfWorkFactory:
    units = jobs_units_on(storage, clock=jobs_clock, backoff=Backoff(random=lambda: 1.0))
    return cast(JobsUnitOfWorkFactory, bridged(units, runner, bridge))


@pytest.fixture
def control_plane_uow(storage: Backend[Any, Any], runner: SyncRunner,
                      bridge: SyncBridge) -> ControlPlaneUnitOfWorkFactory:
    units = (control_plane_units(storage, metrics=SqlInferenceMetrics) if isinstance(storage, SqlBackend)
             else control_plane_units(storage))
    return cast(ControlPlaneUnitOfWorkFactory, bridged(units, runner, bridge))


@pytest.fixture
def transaction_manager(storage: Backend[Any, Any], runner: SyncRunner, bridge: SyncBridge) -> TransactionManager:
    return BridgedTransactionManager(AsyncBackendTransactionManager(storage, runner), bridge)


class TestAsyncTenancy(TenancyContract):
    pass


class TestAsyncReliability(ReliabilityContract):
    pass


class TestAsyncProcessing(ProcessingContract):
    pass


class TestAsyncJobs(JobsContract):
    pass


class TestAsyncControlPlane(ControlPlaneContract):
    pass


class TestAsyncUnitOfWork(UnitOfWorkContract):
    pass


class TestAsyncBadInput(BadInputContract):
    pass
