"""The reliability use cases on every backend: idempotent ingestion under concurrency, atomicity,
kill switches and bad input."""

from __future__ import annotations

import threading
import uuid
from typing import Any

import pytest

from application import container as composition
from application.container import Container
from application.reliability import ingestion
from application.reliability.commands import (
    IncidentMove,
    IncomingEvent,
    KillSwitchActivation,
    NewDecision,
    NewWorkflow,
)
from application.tenancy.use_cases import NewTenant
from domain.reliability.errors import KillSwitchEngaged
from domain.reliability.incident import IncidentStatus
from domain.reliability.workflow import Workflow
from domain.shared.errors import InvalidTransition, NotFound, ValidationError


@pytest.fixture
def workflow(container: Container) -> Workflow:
    tenant = container.create_tenant()(NewTenant.parse(name="Payments"))
    return container.register_workflow()(NewWorkflow.parse(tenant_id=tenant.id, name="settlement"))


def failure(workflow: Workflow, key: str, seconds: int = 30, **extra: Any) -> IncomingEvent:
    return IncomingEvent.parse(
        tenant_id=workflow.tenant_id, workflow_id=workflow.id, event_type="settlement.failed", idempotency_key=key,
        payload={"error": {"code": "TIMEOUT", "message": f"timeout after {seconds}s"}}, **extra,
    )


def totals(container: Container, workflow: Workflow) -> tuple[int, int, int]:
    """(events, open incidents, events recorded on incidents) of the workflow's tenant."""
    with container.reliability_unit_of_work().for_tenant(workflow.tenant_id) as uow:
        counts = uow.incidents.count_by_status()
        recorded = sum(i.event_count for i in uow.incidents.list_and_count().items)
        return uow.events.count_events(workflow.id), counts[IncidentStatus.NEW], recorded


def test_32_concurrent_ingests_of_one_key_store_one_event(container: Container, workflow: Workflow) -> None:
    ingest = container.ingest_event()
    barrier = threading.Barrier(32)
    results: list[tuple[uuid.UUID, bool]] = []
    errors: list[BaseException] = []

    def one(index: int) -> None:
        barrier.wait(10)
        try:
            done = ingest(failure(workflow, "the-key", seconds=index))
            results.append((done.event.id, done.created))
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(32)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert len({event_id for event_id, _ in results}) == 1
    assert sorted(created for _, created in results) == [False] * 31 + [True]
    assert totals(container, workflow) == (1, 1, 1)


def test_concurrent_failures_of_one_signature_share_one_incident(container: Container, workflow: Workflow) -> None:
    ingest = container.ingest_event()
    errors: list[BaseException] = []

    def one(index: int) -> None:
        try:
            ingest(failure(workflow, f"key-{index}", seconds=index))
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert totals(container, workflow) == (12, 1, 12)


def test_a_failure_inside_ingestion_leaves_nothing_behind(
    container: Container, workflow: Workflow, monkeypatch: pytest.MonkeyPatch
) -> None:
    ingest = container.ingest_event()
    ingest(failure(workflow, "first"))

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("the incident store failed after the event was written")

    monkeypatch.setattr(ingestion, "_group_into_incident", broken)
    with pytest.raises(RuntimeError):
        ingest(failure(workflow, "second"))
    assert totals(container, workflow) == (1, 1, 1)


def test_ingestion_refuses_what_it_must_and_writes_nothing(container: Container, workflow: Workflow) -> None:
    ingest = container.ingest_event()
    with pytest.raises(NotFound):
        ingest(failure(workflow, "a").model_copy(update={"workflow_id": uuid.uuid4()}))
    switch = container.activate_kill_switch()(KillSwitchActivation.parse(
        tenant_id=workflow.tenant_id, reason="maintenance", activated_by="ops"))
    with pytest.raises(KillSwitchEngaged) as raised:
        ingest(failure(workflow, "b"))
    assert raised.value.switch_id == switch.id
    container.set_workflow_active()(workflow.tenant_id, workflow.id, False)
    with pytest.raises(ValidationError) as invalid:
        container.ingest_events()([failure(workflow, "c")])
    assert invalid.value.field == "workflow_id"
    for bad in ({"idempotency_key": "  "}, {"event_type": "has spaces"}, {"occurred_at": "yesterday"}):
        with pytest.raises(ValidationError) as refused:
            IncomingEvent.parse(**{**failure(workflow, "d").model_dump(), **bad})
        assert refused.value.field == next(iter(bad))
    assert totals(container, workflow) == (0, 0, 0)


def test_decisions_and_incident_moves_refuse_bad_input(container: Container, workflow: Workflow) -> None:
    incident = container.ingest_event()(failure(workflow, "a")).incident
    assert incident is not None
    for confidence in (-0.1, 1.01, float("nan")):
        with pytest.raises(ValidationError) as raised:
            container.record_decision()(NewDecision.parse(
                tenant_id=workflow.tenant_id, incident_id=incident.id, decision_type="retry",
                reasoning="r", confidence_score=confidence, ai_model="m"))
        assert raised.value.field == "confidence_score"
    move = container.move_incident()
    move(IncidentMove.parse(tenant_id=workflow.tenant_id, incident_id=incident.id, status="RESOLVED"))
    with pytest.raises(InvalidTransition) as illegal:
        move(IncidentMove.parse(tenant_id=workflow.tenant_id, incident_id=incident.id, status="ANALYZING"))
    assert (illegal.value.from_state, illegal.value.to_state) == ("RESOLVED", "ANALYZING")
    with container.reliability_unit_of_work().for_tenant(workflow.tenant_id) as uow:
        assert uow.incidents.get_by_id_or_raise(incident.id).status is IncidentStatus.RESOLVED
        assert uow.decisions.count() == 0


def test_the_container_serves_every_use_case(container: Container) -> None:
    names = [name for name in dir(composition.Container) if not name.startswith("_")]
    assert {"ingest_event", "ingest_events", "admit_vendor_call", "rate_counter"} <= set(names)
    # One factory per context, on one shared backend: their units of work join one transaction.
    assert container.reliability_unit_of_work() is not container.tenancy_unit_of_work()
    assert container.reliability_unit_of_work().backend is container.tenancy_unit_of_work().backend
