"""The metrics contract on memory, SQLite, PostgreSQL and Prometheus."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from application.testing.contracts.metrics import MetricsContract
from ports.metrics import MetricsRepositoryFactory
from tests.conftest import METRICS_BACKENDS, backend_param


@pytest.fixture(params=[backend_param(name) for name in METRICS_BACKENDS])
def metrics_repositories(request: pytest.FixtureRequest) -> Iterator[MetricsRepositoryFactory]:
    factory: MetricsRepositoryFactory = request.getfixturevalue(f"{request.param}_metrics")
    yield factory


class TestMetrics(MetricsContract):
    pass
