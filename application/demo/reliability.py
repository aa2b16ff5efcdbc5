"""The reliability scenario: a tenant's workflow fails, events group into an incident, a decision
and an action remediate it, a kill switch stops the workflow, a vendor's breaker opens and heals."""

from __future__ import annotations

from datetime import timedelta

from application.console import Report
from application.container import Container
from application.reliability.commands import (
    ActionOutcome,
    IncidentMove,
    IncomingEvent,
    KillSwitchActivation,
    KillSwitchRelease,
    NewAction,
    NewDecision,
    NewVendor,
    NewWorkflow,
)
from application.tenancy.use_cases import NewTenant
from domain.reliability.action import ActionType
from domain.reliability.errors import KillSwitchEngaged
from domain.reliability.incident import IncidentStatus
from domain.shared.errors import ValidationError
from domain.shared.ids import new_id
from ports.clock import AdjustableClock


def run(container: Container, report: Report) -> None:
    report.heading("reliability: events, incidents, decisions, actions, kill switches, vendors")
    suffix = new_id().hex[-6:]  # each run gets its own tenant and vendor, so the demo can run again
    tenant = container.create_tenant()(NewTenant.parse(name=f"Payments Co {suffix}"))
    workflow = container.register_workflow()(NewWorkflow.parse(tenant_id=tenant.id, name="nightly-settlement"))
    report.note(f"tenant '{tenant.slug}' runs workflow '{workflow.name}'")

    ingest = container.ingest_event()
    rows = []
    for number, (key, seconds) in enumerate((("run-1", 30), ("run-2", 45), ("run-2", 45), ("run-3", 12)), 1):
        result = ingest(IncomingEvent.parse(
            tenant_id=tenant.id, workflow_id=workflow.id, event_type="settlement.failed", idempotency_key=key,
            payload={"error": {"code": "TIMEOUT", "message": f"bank API timeout after {seconds}s"}},
            severity="high",
        ))
        incident = result.incident
        rows.append([number, key, "new" if result.created else "duplicate, ignored",
                     incident.title if incident else "-", incident.event_count if incident else "-"])
    report.table(["#", "idempotency key", "ingested", "incident", "events"], rows)

    incident = container.list_incidents()(tenant.id, IncidentStatus.NEW).items[0]
    decision = container.record_decision()(NewDecision.parse(
        tenant_id=tenant.id, incident_id=incident.id, decision_type="retry", confidence_score=0.87,
        reasoning="Transient upstream timeouts; the bank API recovered in previous incidents.", ai_model="gpt-4o",
    ))
    report.note(f"decision '{decision.decision_type}' recorded with confidence {decision.confidence_score}")
    try:
        container.record_decision()(NewDecision.parse(
            tenant_id=tenant.id, incident_id=incident.id, decision_type="retry", confidence_score=1.4,
            reasoning="overconfident", ai_model="gpt-4o"))
    except ValidationError as error:
        report.note(f"a confidence of 1.4 is refused: ValidationError on '{error.field}'")

    action = container.propose_action()(NewAction.parse(
        tenant_id=tenant.id, incident_id=incident.id, action_type=ActionType.RETRY, parameters={"delay_s": 60}))
    container.start_action()(tenant.id, action.id)
    done = container.finish_action()(ActionOutcome.parse(
        tenant_id=tenant.id, action_id=action.id, succeeded=True, result={"rerun": "ok"}))
    resolved = container.move_incident()(IncidentMove.parse(
        tenant_id=tenant.id, incident_id=incident.id, status=IncidentStatus.RESOLVED))
    report.note(f"action {done.action_type} -> {done.status}; incident -> {resolved.status}")
    counts = container.list_incidents().counts(tenant.id)
    report.table(["status", "incidents"], [[status.value, count] for status, count in counts.items()])

    switch = container.activate_kill_switch()(KillSwitchActivation.parse(
        tenant_id=tenant.id, workflow_id=workflow.id, reason="bank maintenance window", activated_by="ops@payments"))
    try:
        ingest(IncomingEvent.parse(tenant_id=tenant.id, workflow_id=workflow.id, event_type="settlement.started",
                                   idempotency_key="run-4"))
    except KillSwitchEngaged as error:
        report.note(f"while the kill switch is on, events are refused: {error}")
    container.release_kill_switch()(KillSwitchRelease.parse(
        tenant_id=tenant.id, kill_switch_id=switch.id, released_by="ops@payments"))
    after = ingest(IncomingEvent.parse(tenant_id=tenant.id, workflow_id=workflow.id, event_type="settlement.started",
                                       idempotency_key="run-4"))
    report.note(f"released: the next event is ingested (new: {after.created})")

    vendor = container.register_vendor()(NewVendor.parse(
        name=f"bank-api-{suffix}", failure_threshold=3, cool_down_seconds=30, rate_limit_per_minute=100))
    record, admit = container.record_vendor_call(), container.admit_vendor_call()
    clock = container.clock()
    if not isinstance(clock, AdjustableClock):
        raise TypeError("the demo needs a clock it can move past the breaker's cool-down")
    steps = []
    for outcome in ("failure", "failure", "failure"):
        state = record(vendor.id, succeeded=False).circuit_breaker_state
        steps.append([f"call {outcome}", state.value, "-"])
    refused = admit(vendor.id)
    steps.append(["ask to call", refused.state.value, f"{refused.allowed} ({refused.reason})"])
    clock.advance(timedelta(seconds=31))  # the demo's clock skips the cool-down instead of waiting
    trial = admit(vendor.id)
    steps.append(["ask after cool-down", trial.state.value, f"{trial.allowed} ({trial.reason})"])
    again = admit(vendor.id)
    steps.append(["ask again", again.state.value, f"{again.allowed} ({again.reason})"])
    healed = record(vendor.id, succeeded=True)
    steps.append(["trial call succeeds", healed.circuit_breaker_state.value, "-"])
    report.table(["vendor step", "breaker", "allowed"], steps)
