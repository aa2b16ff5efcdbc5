"""The analytics part of the control-plane contract with the audit log and inference requests in
BigQuery (the emulator, a fresh dataset per test) and the rest of the control plane in memory, as a
deployment wires it: `control_plane_units(relational, analytics=BigQueryAnalyticsBackend(...))`."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from adapters.bigquery.analytics import (
    BigQueryAnalyticsBackend,
    BigQueryInferenceMetrics,
    ensure_analytics_schema,
    purge_organization,
)
from adapters.bigquery.client import BigQuerySettings, create_bigquery_client
from adapters.bigquery.database import BigQueryDatabase
from adapters.memory.backend import MemoryBackend
from adapters.rules.control_plane import control_plane_units
from adapters.rules.reliability import reliability_units
from adapters.transactions import Backend
from application.testing.contracts.control_plane import (
    AnalyticsContract,
    new_entry,
    new_request,
    seed_world,
)
from domain.shared.errors import Unsupported
from ports.control_plane import ControlPlaneUnitOfWorkFactory
from ports.tenancy import TenancyUnitOfWorkFactory
from tests.servers import BigQueryEmulator

pytestmark = pytest.mark.bigquery


@pytest.fixture
def analytics_database(bigquery_emulator: BigQueryEmulator) -> Iterator[BigQueryDatabase]:
    from adapters.bigquery.schema import drop_schema

    settings = BigQuerySettings(project=bigquery_emulator.project, dataset=f"control_{uuid.uuid4().hex[:12]}",
                                endpoint=bigquery_emulator.endpoint)
    client = create_bigquery_client(settings)
    ensure_analytics_schema(client, settings)
    yield BigQueryDatabase(client, settings)
    drop_schema(client, settings)
    client.close()  # type: ignore[no-untyped-call]


@pytest.fixture
def storage() -> Backend[Any, Any]:
    """The relational part (organizations, applications, users, policies) in memory."""
    return MemoryBackend()


@pytest.fixture
def control_plane_uow(storage: Backend[Any, Any],
                      analytics_database: BigQueryDatabase) -> ControlPlaneUnitOfWorkFactory:
    return control_plane_units(storage, analytics=BigQueryAnalyticsBackend(analytics_database),
                               metrics=BigQueryInferenceMetrics)


class TestControlPlaneAnalyticsOnBigQuery(AnalyticsContract):
    pass


def test_the_organizations_history_stays_until_purged(control_plane_uow: ControlPlaneUnitOfWorkFactory,
                                                      tenancy_uow: TenancyUnitOfWorkFactory,
                                                      analytics_database: BigQueryDatabase) -> None:
    """BigQuery has no foreign keys: deleting the organization in the relational database cannot reach
    its BigQuery rows; `purge_organization` does."""
    world = seed_world(control_plane_uow, tenancy_uow)
    with control_plane_uow.for_tenant(world.acme) as uow:
        uow.audit_logs.insert(new_entry(world.acme))
        uow.inference_requests.create(new_request(world.acme, world.chat.id))
    with tenancy_uow.system() as uow:
        uow.tenants.delete(world.acme)
    with control_plane_uow.for_tenant(world.acme) as uow:
        assert (uow.audit_logs.count(), uow.inference_requests.count()) == (1, 1)
    purge_organization(analytics_database, world.acme)
    with control_plane_uow.for_tenant(world.acme) as uow:
        assert (uow.audit_logs.count(), uow.inference_requests.count()) == (0, 0)


def test_a_failed_relational_block_sends_nothing_to_bigquery(control_plane_uow: ControlPlaneUnitOfWorkFactory,
                                                             tenancy_uow: TenancyUnitOfWorkFactory) -> None:
    world = seed_world(control_plane_uow, tenancy_uow)
    with pytest.raises(RuntimeError), control_plane_uow.for_tenant(world.acme) as uow:
        uow.audit_logs.insert(new_entry(world.acme))
        assert uow.audit_logs.count() == 1  # its own buffered entry is visible to it
        raise RuntimeError("the change failed")
    with control_plane_uow.for_tenant(world.acme) as uow:
        assert uow.audit_logs.count() == 0


def test_other_contexts_are_refused_by_the_analytics_backend(analytics_database: BigQueryDatabase) -> None:
    with pytest.raises(Unsupported, match="cannot serve the reliability context"):
        reliability_units(BigQueryAnalyticsBackend(analytics_database))
