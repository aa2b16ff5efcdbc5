"""The metrics contract on the async face: the awaited repositories (`AwaitedMetricsFactory`) on
the runner each store needs, seen through the sync bridge. The same bindings as the sync contract:
memory on the loop, SQLite and PostgreSQL (asyncpg and psycopg 3) on the async engine through
greenlets, Prometheus on the thread lanes."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from adapters.asynchronous.awaited import AwaitedMetricsFactory
from adapters.asynchronous.runners import DirectRunner, GreenletRunner, ThreadLaneRunner
from adapters.asynchronous.sql import AsyncSqlDatabase
from adapters.memory.metrics import MemoryMetricsStore
from adapters.metrics import MetricsStore
from adapters.rules.metrics import metrics_repositories as repositories_on
from adapters.sql.metrics import SqlMetricsStore
from application.testing.async_bridge import BridgedMetricsFactory, EventLoopThread, SyncBridge
from application.testing.contracts.metrics import MetricsContract
from ports.async_unit_of_work import SyncRunner
from ports.metrics import MetricsRepositoryFactory
from tests.conftest import METRICS_BACKENDS, backend_param
from tests.servers import PrometheusServer

ASYNC_DATABASES = {"sqlite": "async_sqlite_database", "postgres": "async_postgres_database",
                   "psycopg": "async_postgres_psycopg_database"}


@pytest.fixture(params=[backend_param(name) for name in METRICS_BACKENDS])
def metrics_repositories_fixture(request: pytest.FixtureRequest,
                                 async_loop: EventLoopThread) -> Iterator[MetricsRepositoryFactory]:
    name: str = request.param
    store: MetricsStore
    runner: SyncRunner
    lanes: ThreadLaneRunner | None = None
    http = None
    if name == "memory":
        store, runner = MemoryMetricsStore(), DirectRunner()
    elif name == "prometheus":
        from adapters.prometheus.client import PrometheusHttp, PrometheusSettings
        from adapters.prometheus.metrics import PrometheusMetricsStore

        server: PrometheusServer = request.getfixturevalue("prometheus_server")
        http = PrometheusHttp(PrometheusSettings(url=server.url))
        lanes = ThreadLaneRunner(2)
        store, runner = PrometheusMetricsStore(http), lanes
    else:
        request.getfixturevalue(f"{name}_metrics")  # the sync binding's own set-up (its database, migrated)
        database: AsyncSqlDatabase = request.getfixturevalue(ASYNC_DATABASES[name])
        store, runner = SqlMetricsStore(database.database), GreenletRunner()
    # Memory's store is not shared between loops; the SQL engines keep their connections on one.
    bridge = SyncBridge(None if name in ("memory", "prometheus") else async_loop)
    yield BridgedMetricsFactory(AwaitedMetricsFactory(repositories_on(store), runner), bridge)
    bridge.close()
    if lanes is not None:
        lanes.close()
    if http is not None:
        http.close()
    if name in ASYNC_DATABASES:
        assert database.checked_out() == 0


@pytest.fixture
def metrics_repositories(metrics_repositories_fixture: MetricsRepositoryFactory) -> MetricsRepositoryFactory:
    return metrics_repositories_fixture


class TestAsyncMetrics(MetricsContract):
    pass
