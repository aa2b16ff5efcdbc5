"""Reliability rules found by the specs' authors: trial calls that never report back, actions on
closed incidents, kill switches of unknown tenants."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from application.container import Container
from application.reliability.commands import IncidentMove, IncomingEvent, KillSwitchActivation, NewAction, NewWorkflow
from application.tenancy.use_cases import NewTenant
from domain.reliability.action import ActionStatus
from domain.reliability.vendor import BreakerState, Vendor
from domain.shared.errors import InvalidTransition, NotFound

T0 = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)


def test_a_trial_that_never_reports_back_is_replaced_after_another_cool_down() -> None:
    vendor = Vendor.new(name="bank", failure_threshold=1, cool_down_seconds=30, created_at=T0, updated_at=T0)
    vendor = vendor.record_failure(T0)
    allowed, vendor = vendor.admit(T0 + timedelta(seconds=30))
    assert allowed and vendor.circuit_breaker_state is BreakerState.HALF_OPEN
    assert vendor.admit(T0 + timedelta(seconds=59))[0] is False
    allowed, again = vendor.admit(T0 + timedelta(seconds=60))
    assert allowed and again.circuit_breaker_state is BreakerState.HALF_OPEN


def test_no_action_starts_on_a_closed_incident(portside_container: Container) -> None:
    tenant = portside_container.create_tenant()(NewTenant.parse(name="Acme"))
    flow = portside_container.register_workflow()(NewWorkflow.parse(tenant_id=tenant.id, name="flow"))
    incident = portside_container.ingest_event()(IncomingEvent.parse(
        tenant_id=tenant.id, workflow_id=flow.id, event_type="x.failed", idempotency_key="k")).incident
    assert incident is not None
    action = portside_container.propose_action()(NewAction.parse(
        tenant_id=tenant.id, incident_id=incident.id, action_type="retry"))
    portside_container.move_incident()(IncidentMove.parse(tenant_id=tenant.id, incident_id=incident.id,
                                                          status="RESOLVED"))
    with pytest.raises(InvalidTransition) as refused:
        portside_container.start_action()(tenant.id, action.id)
    assert (refused.value.from_state, refused.value.to_state) == ("RESOLVED", "ACTIONED")
    with portside_container.reliability_unit_of_work().for_tenant(tenant.id) as uow:
        assert uow.actions.get_by_id_or_raise(action.id).status is ActionStatus.PENDING


def test_a_kill_switch_needs_an_existing_tenant(portside_container: Container) -> None:
    with pytest.raises(NotFound):
        portside_container.activate_kill_switch()(KillSwitchActivation.parse(
            tenant_id=uuid.uuid4(), reason="r", activated_by="ops"))
