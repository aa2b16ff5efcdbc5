"""The repository layer's own metrics: off by default, counted and timed per method when on, and
stored by a metrics repository like any collector."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from adapters.instrumentation import RepositoryInstrumentation, instrument_repositories
from adapters.memory.backend import MemoryBackend
from adapters.memory.metrics import MemoryMetricsStore
from adapters.rules.metrics import metrics_repositories
from adapters.rules.tenancy import Tenants, tenancy_units
from domain.metrics.collector import MetricsCollector
from domain.metrics.platform import REPOSITORY_LATENCY as LATENCY
from domain.metrics.platform import REPOSITORY_OPERATIONS as OPERATIONS
from domain.metrics.time_range import TimeRange
from domain.shared.errors import NotFound
from domain.shared.ids import new_id
from domain.tenancy.tenant import Tenant


@pytest.fixture
def collector() -> Iterator[MetricsCollector]:
    collector = MetricsCollector()
    instrument_repositories(RepositoryInstrumentation(collector))
    yield collector
    instrument_repositories(None)


def _totals(collector: MetricsCollector) -> dict[frozenset[tuple[str, str]], float]:
    return {frozenset(reading.key.labels): reading.value for reading in collector.readings()
            if reading.key.name == OPERATIONS}


def test_off_by_default_the_repository_is_the_repository_itself() -> None:
    with tenancy_units(MemoryBackend()).system() as uow:
        assert type(uow.tenants) is Tenants


def test_each_method_call_is_counted_by_outcome_and_timed(collector: MetricsCollector) -> None:
    units = tenancy_units(MemoryBackend())
    with units.system() as uow:
        tenants = uow.tenants
        assert isinstance(tenants, Tenants)
        tenants.create(Tenant.register(name="Acme", slug="acme", at=datetime.now(UTC)))
        tenants.get_by_slug("acme")
        tenants.get_by_slug("nobody")
        with pytest.raises(NotFound):
            tenants.get_by_id_or_raise(new_id())

    tags = (("context", "tenancy"), ("repository", "tenants"))
    assert _totals(collector) == {
        frozenset({*tags, ("method", "create"), ("outcome", "ok")}): 1.0,
        frozenset({*tags, ("method", "get_by_slug"), ("outcome", "ok")}): 2.0,
        frozenset({*tags, ("method", "get_by_id_or_raise"), ("outcome", "NotFound")}): 1.0,
    }
    latency = {frozenset(reading.key.labels): reading for reading in collector.readings()
               if reading.key.name == LATENCY}
    assert latency[frozenset({*tags, ("method", "get_by_slug")})].buckets[-1][1] == 2
    assert all(reading.value >= 0 for reading in latency.values())


def test_the_operations_are_stored_by_a_metrics_repository(collector: MetricsCollector) -> None:
    with tenancy_units(MemoryBackend()).system() as uow:
        for _ in range(3):
            uow.tenants.get_by_slug("acme")
    platform = metrics_repositories(MemoryMetricsStore()).system()
    platform.save(collector.drain())

    assert platform.query_latest(OPERATIONS, {"method": "get_by_slug", "outcome": "ok"}) == 3.0
    now = datetime.now(UTC)
    window = TimeRange.of(now - timedelta(minutes=5), now + timedelta(minutes=1), timedelta(minutes=1))
    assert platform.get_percentile(LATENCY, 50, window) is not None  # type: ignore[arg-type]
