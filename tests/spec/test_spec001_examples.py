"""Spec 001's repository examples, transcribed as close to the letter as Portside's rules allow, on
memory, SQLite and PostgreSQL (the `backend` fixture's parameter).

What differs from the spec's text, and why: the spec's code is async over a SQLAlchemy session;
Portside's sync face is a unit of work per context, whose `with` block is the session and whose
clean exit is the commit (spec 001's "services control transaction boundaries"). Datetimes are
timezone-aware (`datetime.now(UTC)`; `utcnow()` is naive and refused, with a message saying why).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from application.testing.contracts.reliability import new_workflow
from application.testing.contracts.tenancy import tenant
from domain.reliability.incident import IncidentStatus
from domain.shared.errors import TenantScopeRequired, ValidationError
from ports.reliability import ReliabilityUnitOfWorkFactory
from ports.tenancy import TenancyUnitOfWorkFactory


@pytest.fixture
def ids(tenancy_uow: TenancyUnitOfWorkFactory, reliability_uow: ReliabilityUnitOfWorkFactory) -> tuple[uuid.UUID,
                                                                                                       uuid.UUID]:
    acme = tenant("Acme", "acme")
    with tenancy_uow.system() as uow:
        uow.tenants.create(acme)
    with reliability_uow.for_tenant(acme.id) as uow:
        workflow = uow.workflows.create(new_workflow(acme.id, "Payments"))
    return acme.id, workflow.id


def test_event_create_persists_to_database(reliability_uow: ReliabilityUnitOfWorkFactory,
                                           ids: tuple[uuid.UUID, uuid.UUID]) -> None:
    test_tenant_id, test_workflow_id = ids
    with reliability_uow.for_tenant(test_tenant_id) as db_session:
        repo = db_session.events
        event = repo.create({
            "tenant_id": test_tenant_id,
            "workflow_id": test_workflow_id,
            "event_type": "payment.failed",
            "payload": {},
            "idempotency_key": "test-001",
            "occurred_at": datetime.now(UTC),
        })
        db_session.commit()
        # Verify persisted
        retrieved = repo.get_by_id(event.id, test_tenant_id)
        assert retrieved is not None
        assert retrieved.event_type == "payment.failed"


def test_a_naive_datetime_is_refused_with_the_reason(reliability_uow: ReliabilityUnitOfWorkFactory,
                                                     ids: tuple[uuid.UUID, uuid.UUID]) -> None:
    test_tenant_id, test_workflow_id = ids
    with reliability_uow.for_tenant(test_tenant_id) as db_session, pytest.raises(ValidationError) as raised:
        db_session.events.create({
            "tenant_id": test_tenant_id, "workflow_id": test_workflow_id, "event_type": "payment.failed",
            "payload": {}, "idempotency_key": "naive", "occurred_at": datetime.now(UTC).replace(tzinfo=None),
        })
    assert raised.value.field == "occurred_at" and "timezone" in raised.value.message


def test_transaction_control_one_commit_for_event_and_incident(reliability_uow: ReliabilityUnitOfWorkFactory,
                                                               ids: tuple[uuid.UUID, uuid.UUID]) -> None:
    tenant_id, workflow_id = ids
    event_data = {"tenant_id": tenant_id, "workflow_id": workflow_id, "event_type": "payment.failed",
                  "payload": {"error": "timeout"}, "idempotency_key": "evt-1", "occurred_at": datetime.now(UTC)}

    def ingest_event(event_data: dict[str, object]) -> None:
        with reliability_uow.for_tenant(tenant_id) as session:
            event_repo = session.events
            incident_repo = session.incidents
            event = event_repo.create(event_data)
            incident_repo.create_from_event(event)
            session.commit()  # Single commit for both

    ingest_event(event_data)
    with reliability_uow.for_tenant(tenant_id) as session:
        assert session.events.get_by_idempotency_key("evt-1", tenant_id) is not None
        [incident] = session.incidents.get_incidents_by_status(IncidentStatus.NEW)
        assert incident.title == "payment.failed"


def test_event_repository_queries(reliability_uow: ReliabilityUnitOfWorkFactory,
                                  ids: tuple[uuid.UUID, uuid.UUID]) -> None:
    tenant_id, workflow_id = ids
    now = datetime.now(UTC)
    with reliability_uow.for_tenant(tenant_id) as session:
        repo = session.events
        for key, age in (("a", 1), ("b", 30)):
            repo.create({"tenant_id": tenant_id, "workflow_id": workflow_id, "event_type": "payment.failed",
                         "payload": {}, "idempotency_key": key, "occurred_at": now - timedelta(hours=age)})
    with reliability_uow.for_tenant(tenant_id) as session:
        repo = session.events
        assert repo.get_by_idempotency_key("a", tenant_id) is not None
        assert [e.idempotency_key for e in repo.get_recent_events(tenant_id, workflow_id, hours=24)] == ["a"]
        assert repo.count_events(tenant_id, workflow_id) == 2
        # Tenant isolation: another tenant's id is refused, never answered.
        other = uuid.uuid4()
        with pytest.raises(TenantScopeRequired):
            repo.get_by_id(uuid.uuid4(), other)
        with pytest.raises(TenantScopeRequired):
            repo.count_events(other, workflow_id)


def test_filtering_incidents_by_status(reliability_uow: ReliabilityUnitOfWorkFactory,
                                       ids: tuple[uuid.UUID, uuid.UUID]) -> None:
    tenant_id, workflow_id = ids
    with reliability_uow.for_tenant(tenant_id) as session:
        for index in range(60):  # more than one default page: a spec list method returns them all
            event = session.events.create({
                "tenant_id": tenant_id, "workflow_id": workflow_id, "event_type": f"failure.kind{index}",
                "payload": {}, "idempotency_key": f"k{index}", "occurred_at": datetime.now(UTC)})
            session.incidents.create_from_event(event)
    with reliability_uow.for_tenant(tenant_id) as session:
        found = session.incidents.get_incidents_by_status(IncidentStatus.NEW)
    assert len(found) == 60
    assert [i.created_at for i in found] == sorted((i.created_at for i in found), reverse=True)
