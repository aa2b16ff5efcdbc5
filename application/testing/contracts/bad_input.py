"""The bad-input contract: what a hostile caller sends to every repository of every context, and the
one answer every adapter gives, a `ValidationError` naming the real field, before any I/O.

Covered: NUL characters and lone surrogates in every text field of every aggregate and in every text
argument; NaN, infinities, NUL and surrogates inside JSON values, and nesting past `MAX_JSON_DEPTH`;
integers beyond 64 bits; ids, enums, datetimes and booleans of the wrong type, in arguments and in
filters; `expected_version` of the wrong type; sort directions other than "asc" and "desc"; cursors
malformed, oversized, deeply nested or carrying values no backend stores. Each test sends its probes
inside one unit of work, then makes a valid write in the same block: it must commit (a refusal never
aborts the transaction) and be the only change (nothing refused was written). Keyset pages over
nullable sort fields are walked both ways: NULL sorts lowest everywhere and every cursor comes back.

Bind with `tenancy_uow`, `reliability_uow` and `processing_uow` fixtures (unit-of-work factories on an
empty database); `BadInputContract` runs the three contexts, each context's class runs alone (the
processing one on BigQuery too). The probes themselves are in `bad_input_probes.py`.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from functools import partial
from typing import Any

from hypothesis import given

from application.testing.contracts.bad_input_probes import (
    BAD_DATETIMES,
    BAD_FLAGS,
    BAD_IDS,
    HOSTILE_TEXT,
    T0,
    Probe,
    any_cursor,
    argument_probes,
    assert_refused,
    crud_probes,
    cursor_of,
    cursor_probes,
    entity_probes,
    fuzzed,
    hostile_json,
    in_list,
    made,
    null_lowest,
    refuses_or_lists,
    walk,
)
from domain.control_plane.application import Application
from domain.control_plane.audit import AuditLog
from domain.control_plane.filters import (
    ApplicationFilter,
    AuditLogFilter,
    InferenceRequestFilter,
    PolicyFilter,
    UserFilter,
)
from domain.control_plane.inference import InferenceRequest
from domain.control_plane.policy import Policy
from domain.control_plane.user import User
from domain.processing.execution import ExecutionStatus
from domain.processing.filters import ExecutionFilter, PurchasedProcessorFilter, UnderwritingProcessorFilter
from domain.processing.subscriptions import PurchasedProcessor, UnderwritingProcessor
from domain.reliability.action import Action, ActionType
from domain.reliability.decision import Decision
from domain.reliability.event import Event
from domain.reliability.filters import (
    ActionFilter,
    DecisionFilter,
    EventFilter,
    IncidentFilter,
    KillSwitchFilter,
    VendorFilter,
    WorkflowFilter,
)
from domain.reliability.incident import Incident
from domain.reliability.kill_switch import KillSwitch
from domain.reliability.vendor import Vendor
from domain.reliability.workflow import Workflow
from domain.shared.pagination import CursorPageRequest, OffsetPageRequest
from domain.shared.sorting import Sort
from domain.tenancy.filters import TenantFilter
from domain.tenancy.tenant import Tenant
from ports.control_plane import ControlPlaneUnitOfWork, ControlPlaneUnitOfWorkFactory
from ports.processing import ProcessingUnitOfWorkFactory
from ports.reliability import ReliabilityUnitOfWork, ReliabilityUnitOfWorkFactory
from ports.tenancy import TenancyUnitOfWorkFactory

BANK = "p_bank_statement"
TEXT_ARGUMENTS: tuple[Any, ...] = (*HOSTILE_TEXT, 42, None)
STAMPS = {"created_at": T0, "updated_at": T0}


class TenancyBadInputContract:
    """Bind with a `tenancy_uow` fixture."""

    def test_every_tenant_method_refuses_hostile_input(self, tenancy_uow: TenancyUnitOfWorkFactory) -> None:
        acme = Tenant.register(name="Acme", slug="acme", at=T0, settings={"tier": "gold"})
        fresh = Tenant.register(name="Fresh", slug="fresh", at=T0)
        with tenancy_uow.system() as uow:
            uow.tenants.create(acme)
        with tenancy_uow.system() as uow:
            tenants = uow.tenants
            any_id = str(uuid.uuid4())
            ran = assert_refused([
                *crud_probes("tenants", tenants, acme, bad_filters=[
                    (made(TenantFilter, is_active="yes"), "is_active"),
                    (made(TenantFilter, is_active=1), "is_active"),
                    (made(TenantFilter, created_from="2020-01-01"), "created_from"),
                    (made(TenantFilter, created_before=BAD_DATETIMES[1]), "created_before"),
                    (made(TenantFilter, name_contains="\x00"), "name_contains"),
                    (made(TenantFilter, slugs="acme"), "slugs"),
                    (made(TenantFilter, slugs=("ok", "\ud800")), "slugs"),
                ]),
                *argument_probes("tenants.get_by_slug", tenants.get_by_slug, {}, {"slug": TEXT_ARGUMENTS}),
                # Text keys must be clean and NOT NULL keys never NULL, even in a well-formed cursor.
                *cursor_probes("tenants", tenants, Sort.parse("name,id"), [
                    cursor_of("name,id", ["\x00", any_id]), cursor_of("name,id", [None, any_id]),
                    cursor_of("name,id", [5, any_id]), cursor_of("name,id", ["Acme", "not-a-uuid"]),
                ]),
            ])
            assert ran >= 150  # the builders really produced the probes
            tenants.create(fresh)  # the refusals left the unit of work usable: this commits
        with tenancy_uow.system() as uow:
            assert uow.tenants.get_by_id(acme.id) == acme
            assert sorted(t.slug for t in uow.tenants.list_and_count().items) == ["acme", "fresh"]

    @fuzzed
    @given(cursor=any_cursor)
    def test_any_text_as_a_tenant_cursor_lists_or_is_refused(
        self, tenancy_uow: TenancyUnitOfWorkFactory, cursor: str
    ) -> None:
        with tenancy_uow.system() as uow:
            refuses_or_lists(uow.tenants, cursor)


def _reliability_records(tenant: uuid.UUID) -> dict[str, Any]:
    """One stored record per reliability repository, the events and kill switches with NULL keys."""
    workflow = Workflow.new(tenant_id=tenant, name="Checkout", **STAMPS)
    incident = Incident.new(tenant_id=tenant, workflow_id=workflow.id, signature="sig", title="Timeouts",
                            first_seen_at=T0, last_seen_at=T0, **STAMPS)
    return {
        "workflows": workflow,
        "vendors": Vendor.new(name=f"Stripe {uuid.uuid4()}", **STAMPS),
        "events": Event.new(tenant_id=tenant, workflow_id=workflow.id, event_type="payment.failed",
                            idempotency_key="key-0", payload={"error": "timeout"}, occurred_at=T0, **STAMPS),
        "incidents": incident,
        "decisions": Decision.new(tenant_id=tenant, incident_id=incident.id, decision_type="retry",
                                  reasoning="transient", confidence_score=0.5, ai_model="triage-1", **STAMPS),
        "actions": Action.new(tenant_id=tenant, incident_id=incident.id, action_type=ActionType.RETRY,
                              parameters={"attempts": 3}, **STAMPS),
        "kill_switches": KillSwitch.new(tenant_id=tenant, reason="runaway", activated_by="oncall",
                                        activated_at=T0, **STAMPS),
    }


RELIABILITY_FILTERS: dict[str, list[tuple[Any, str]]] = {
    "workflows": [(made(WorkflowFilter, is_active="yes"), "is_active"),
                  (made(WorkflowFilter, name_contains="\ud800"), "name_contains")],
    "vendors": [(made(VendorFilter, name_contains="\x00"), "name_contains"),
                (made(VendorFilter, name_contains=7), "name_contains")],
    "events": [(made(EventFilter, workflow_id="abc"), "workflow_id"),
               (made(EventFilter, occurred_from="2026-01-01"), "occurred_from"),
               (made(EventFilter, occurred_before=BAD_DATETIMES[1]), "occurred_before"),
               (made(EventFilter, correlation_id="\x00"), "correlation_id")],
    "incidents": [(made(IncidentFilter, statuses=("nope",)), "statuses"),
                  (made(IncidentFilter, statuses="NEW"), "statuses"),
                  (made(IncidentFilter, severity="extreme"), "severity"),
                  (made(IncidentFilter, signatures=("ok", "\x00")), "signatures")],
    "decisions": [(made(DecisionFilter, incident_id="x"), "incident_id"),
                  (made(DecisionFilter, decision_type=3), "decision_type")],
    "actions": [(made(ActionFilter, statuses=("DONE",)), "statuses"),
                (made(ActionFilter, incident_id=12), "incident_id")],
    "kill_switches": [(made(KillSwitchFilter, is_active=1), "is_active"),
                      (made(KillSwitchFilter, workflow_id="abc"), "workflow_id")],
}
APPEND_ONLY = {"events", "decisions"}


def _reliability_method_probes(uow: ReliabilityUnitOfWork, records: dict[str, Any]) -> list[Any]:
    event, workflow = records["events"], records["workflows"]
    bad_hours = (0, -1, 2**63, 2**70, "24", 1.5, True)  # None: the default window
    # None asks for the defaults where the specs allow leaving a value out (the clock's now, a title
    # taken from the event), so it is no hostile value there.
    given_datetimes = [bad for bad in BAD_DATETIMES if bad is not None]
    given_titles = [bad for bad in TEXT_ARGUMENTS if bad is not None]
    some_ids = [bad for bad in BAD_IDS if bad is not None]
    wrong_events: list[Any] = ["event", 42, workflow]
    return [
        *argument_probes("workflows.get_by_name", uow.workflows.get_by_name, {}, {"name": TEXT_ARGUMENTS}),
        *argument_probes("vendors.get_by_name", uow.vendors.get_by_name, {}, {"name": TEXT_ARGUMENTS}),
        *argument_probes("events.get_by_idempotency_key", uow.events.get_by_idempotency_key, {},
                         {"idempotency_key": TEXT_ARGUMENTS}),
        *entity_probes("events.append", event, uow.events.append),
        *entity_probes("events.append_many", event, partial(in_list, uow.events.append_many)),
        *(Probe(f"events.append({wrong!r})", partial(uow.events.append, wrong), "entity")
          for wrong in wrong_events),
        *argument_probes("events.get_recent_events", uow.events.get_recent_events,
                         {"workflow_id": workflow.id, "hours": 24, "now": T0},
                         {"workflow_id": BAD_IDS, "hours": bad_hours, "now": given_datetimes}),
        *argument_probes("events.count_events", uow.events.count_events, {}, {"workflow_id": some_ids}),
        *argument_probes("incidents.get_open_by_signature", uow.incidents.get_open_by_signature, {},
                         {"signature": TEXT_ARGUMENTS}),
        *argument_probes("incidents.create_from_event", uow.incidents.create_from_event,
                         {"event": event, "title": "Timeouts", "severity": "high"},
                         {"event": ["event", 42], "title": given_titles, "severity": ("extreme", "\x00", 5)}),
        *argument_probes("incidents.get_incidents_by_status", uow.incidents.get_incidents_by_status,
                         {"status": "NEW"},
                         {"status": ("nope", "\x00", 5, None), "limit": ("page", 0, -1, True, 2**70)}),
        *argument_probes("decisions.list_for_incident", uow.decisions.list_for_incident, {}, {"incident_id": BAD_IDS}),
        *argument_probes("actions.list_for_incident", uow.actions.list_for_incident, {}, {"incident_id": BAD_IDS}),
        *argument_probes("kill_switches.get_active_for", uow.kill_switches.get_active_for, {},
                         {"workflow_id": some_ids}),
        *cursor_probes("incidents", uow.incidents, Sort.parse("event_count,id"), [
            cursor_of("event_count,id", [value, str(uuid.uuid4())]) for value in (2**63, -(2**63) - 1, "1", True, 1.5)
        ]),
    ]


class ReliabilityBadInputContract:
    """Bind with a `reliability_uow` fixture."""

    def test_every_reliability_method_refuses_hostile_input(
        self, reliability_uow: ReliabilityUnitOfWorkFactory
    ) -> None:
        tenant = uuid.uuid4()
        records = _reliability_records(tenant)
        with reliability_uow.for_tenant(tenant) as uow:
            for name, record in records.items():
                getattr(uow, name).create(record)
            records = {name: getattr(uow, name).get_by_id_or_raise(record.id) for name, record in records.items()}
        fresh = Workflow.new(tenant_id=tenant, name="Fresh", **STAMPS)
        with reliability_uow.for_tenant(tenant) as uow:
            probes = [probe for name, record in records.items() for probe in crud_probes(
                name, getattr(uow, name), record, mutable=name not in APPEND_ONLY,
                bad_filters=RELIABILITY_FILTERS[name])]
            assert assert_refused([*probes, *_reliability_method_probes(uow, records)]) >= 1000
            uow.workflows.create(fresh)
        with reliability_uow.for_tenant(tenant) as uow:
            for name, record in records.items():
                assert getattr(uow, name).get_by_id(record.id) == record, name
                assert getattr(uow, name).count() == (2 if name == "workflows" else 1), name

    def test_nullable_sort_keys_sort_lowest_and_their_cursors_come_back(
        self, reliability_uow: ReliabilityUnitOfWorkFactory
    ) -> None:
        tenant, workflows = uuid.uuid4(), [uuid.uuid4(), uuid.uuid4()]
        events = [Event.new(tenant_id=tenant, workflow_id=workflows[index % 2], event_type="step.done",
                            idempotency_key=f"key-{index}", correlation_id=correlation, occurred_at=T0,
                            created_at=T0 + timedelta(seconds=index % 3), updated_at=T0)
                  for index, correlation in enumerate([None, "b", None, "a", "c", None, "b", "\u00e9"])]
        switches = [KillSwitch.new(tenant_id=tenant, workflow_id=workflow, reason="stop", activated_by="oncall",
                                   activated_at=T0, **STAMPS) for workflow in [None, workflows[0], None, workflows[1]]]
        with reliability_uow.for_tenant(tenant) as uow:
            uow.events.bulk_create(events)
            uow.kill_switches.bulk_create(switches)
        cases: list[tuple[str, list[Any], str]] = [
            ("events", events, "correlation_id"), ("events", events, "-correlation_id"),
            ("events", events, "correlation_id,-created_at"), ("events", events, "-correlation_id,created_at"),
            ("kill_switches", switches, "workflow_id"), ("kill_switches", switches, "-workflow_id"),
        ]
        with reliability_uow.for_tenant(tenant) as uow:
            for name, rows, text in cases:
                repository, sort = getattr(uow, name), Sort.parse(text)
                expected = null_lowest(rows, Sort.parse(f"{text},id"))

                def page(cursor: str | None, repository: Any = repository, sort: Sort = sort) -> tuple[list[Any], Any]:
                    found = repository.list_by_cursor(sort=sort, page=CursorPageRequest(limit=2, after=cursor))
                    return found.items, found.next_cursor

                assert [row.id for row in walk(page)] == expected, text
                offset = repository.list_and_count(sort=sort, page=OffsetPageRequest(limit=100)).items
                assert [row.id for row in offset] == expected, text

    @fuzzed
    @given(cursor=any_cursor)
    def test_any_text_as_an_event_cursor_lists_or_is_refused(
        self, reliability_uow: ReliabilityUnitOfWorkFactory, cursor: str
    ) -> None:
        with reliability_uow.for_tenant(uuid.UUID(int=1)) as uow:
            refuses_or_lists(uow.events, cursor)


class ProcessingBadInputContract:
    """Bind with a `processing_uow` fixture."""

    def test_every_processing_method_refuses_hostile_input(self, processing_uow: ProcessingUnitOfWorkFactory) -> None:
        org, underwriting = uuid.uuid4(), uuid.uuid4()
        purchased = PurchasedProcessor.new(organization_id=org, processor=BANK, name="Bank", purchased_at=T0,
                                           config={"currency": "EUR"}, **STAMPS)
        up = UnderwritingProcessor.new(organization_id=org, underwriting_id=underwriting, processor=BANK,
                                       purchased_processor_id=purchased.id, name="Bank", **STAMPS)
        with processing_uow.for_tenant(org) as uow:
            uow.processors.purchased.create(purchased)
            uow.processors.underwriting.create(up)
            pending = uow.executions.create_execution(underwriting, up.id, org, BANK, {"n": 1}, at=T0)
            running = uow.executions.create_execution(underwriting, up.id, org, BANK, {"n": 2}, at=T0)
            uow.executions.update_execution_status(running.id, ExecutionStatus.RUNNING, started_at=T0)
            running = uow.executions.get_by_id_or_raise(running.id)
            # As stored: a store may complete a record (the effective config is resolved on write).
            purchased = uow.processors.purchased.get_by_id_or_raise(purchased.id)
            up = uow.processors.underwriting.get_by_id_or_raise(up.id)
        with processing_uow.for_tenant(org) as uow:
            processors, executions = uow.processors, uow.executions
            ids = {"up_id": BAD_IDS}
            submission: dict[str, Any] = {
                "underwriting_id": underwriting, "underwriting_processor_id": up.id, "organization_id": org,
                "processor_name": BANK, "payload": {"n": 3}, "at": T0}
            ran = assert_refused([
                *crud_probes("purchased", processors.purchased, purchased, bad_filters=[
                    (made(PurchasedProcessorFilter, status="gone"), "status"),
                    (made(PurchasedProcessorFilter, auto="yes"), "auto"),
                    (made(PurchasedProcessorFilter, processor="\x00"), "processor")]),
                *crud_probes("underwriting", processors.underwriting, up, bad_filters=[
                    (made(UnderwritingProcessorFilter, enabled="yes"), "enabled"),
                    (made(UnderwritingProcessorFilter, underwriting_id="x"), "underwriting_id")]),
                *crud_probes("executions", executions, pending, bad_filters=[
                    (made(ExecutionFilter, status="nope"), "status"), (made(ExecutionFilter, enabled=1), "enabled"),
                    (made(ExecutionFilter, underwriting_id="abc"), "underwriting_id"),
                    (made(ExecutionFilter, payload_hash="\ud800"), "payload_hash")]),
                *argument_probes("get_purchased_processor_by_id", processors.get_purchased_processor_by_id, {},
                                 {"purchased_processor_id": BAD_IDS}),
                *argument_probes("get_purchased_processors_by_organization",
                                 processors.get_purchased_processors_by_organization, {"org_id": org},
                                 {"org_id": BAD_IDS, "enabled_only": BAD_FLAGS, "auto_only": BAD_FLAGS}),
                *argument_probes("get_processor_by_name", processors.get_processor_by_name,
                                 {"processor_name": BANK, "org_id": org},
                                 {"processor_name": TEXT_ARGUMENTS, "org_id": BAD_IDS}),
                *argument_probes("get_underwriting_processor_by_id", processors.get_underwriting_processor_by_id, {},
                                 ids),
                *argument_probes("get_underwriting_processors", processors.get_underwriting_processors,
                                 {"underwriting_id": underwriting},
                                 {"underwriting_id": BAD_IDS, "enabled_only": BAD_FLAGS, "auto_only": BAD_FLAGS}),
                *argument_probes("update_current_executions_list", processors.update_current_executions_list,
                                 {"up_id": up.id, "execution_ids": []},
                                 {**ids, "execution_ids": ("abc", None, ["\x00"], [pending.id, 42])}),
                *argument_probes("get_effective_config", processors.get_effective_config, {}, ids),
                *argument_probes("create_execution", executions.create_execution, submission, {
                    "underwriting_id": BAD_IDS, "underwriting_processor_id": BAD_IDS, "organization_id": BAD_IDS,
                    "processor_name": TEXT_ARGUMENTS, "payload": [*hostile_json(), "{}", None],
                    "payload_hash": (*HOSTILE_TEXT, "f" * 63, "F" * 64, 42),
                    "document_revision_ids": ("rev_1", [*HOSTILE_TEXT], [42]),
                    "document_ids_hash": (*HOSTILE_TEXT, "zz"), "at": BAD_DATETIMES}),
                *argument_probes("find_execution_by_hash", executions.find_execution_by_hash,
                                 {"up_id": up.id, "payload_hash": pending.payload_hash},
                                 {**ids, "payload_hash": (*HOSTILE_TEXT, "f" * 63, None)}),
                *argument_probes("update_execution_status", executions.update_execution_status,
                                 {"exec_id": running.id, "status": ExecutionStatus.FAILED},
                                 {"exec_id": BAD_IDS, "status": ("nope", "\x00", 3, None),
                                  "completed_at": BAD_DATETIMES, "failed_code": (*HOSTILE_TEXT, 5),
                                  "failed_reason": (*HOSTILE_TEXT, 5)}),
                *argument_probes("save_execution_result", executions.save_execution_result,
                                 {"exec_id": running.id, "output": {}, "factors_delta": {}, "run_cost_cents": 1,
                                  "completed_at": T0},
                                 {"exec_id": BAD_IDS, "output": [*hostile_json(), None, "{}"],
                                  "factors_delta": [*hostile_json(), [1]],
                                  "run_cost_cents": (-1, 2**63, 2**70, True, 1.0, "1"), "completed_at": BAD_DATETIMES}),
                *(probe for method in ("get_execution_by_id", "get_execution_chain", "activate_execution",
                                       "deactivate_execution")
                  for probe in argument_probes(method, getattr(executions, method), {}, {"exec_id": BAD_IDS})),
                *argument_probes("get_active_executions", executions.get_active_executions, {}, ids),
                *argument_probes("get_executions_by_underwriting", executions.get_executions_by_underwriting,
                                 {"uw_id": underwriting},
                                 {"uw_id": BAD_IDS, "processor": HOSTILE_TEXT, "status": ("nope", "\x00", 3)}),
                *argument_probes("mark_execution_superseded", executions.mark_execution_superseded,
                                 {"old_id": pending.id, "new_id": running.id}, {"old_id": BAD_IDS, "new_id": BAD_IDS}),
                *argument_probes("get_execution_count", executions.get_execution_count, {"uw_id": underwriting},
                                 {"uw_id": BAD_IDS, "processor": HOSTILE_TEXT}),
            ])
            assert ran >= 900
            fresh = executions.create_execution(**{**submission, "payload": {"n": "fresh"}})
        with processing_uow.for_tenant(org) as uow:
            assert uow.processors.purchased.get_by_id(purchased.id) == purchased
            assert uow.processors.underwriting.get_by_id(up.id) == up
            assert uow.executions.get_by_id(running.id) == running
            assert {e.id for e in uow.executions.list_and_count().items} == {pending.id, running.id, fresh.id}


# -- control plane ----------------------------------------------------------------------------------
def _control_plane_records(tenant: uuid.UUID) -> dict[str, Any]:
    """One stored record per control-plane repository."""
    application, _ = Application.register(tenant_id=tenant, name="Chat", at=T0)
    user = User.register(tenant_id=tenant, email="ann@acme.test", subject=f"sub-{uuid.uuid4()}", at=T0)
    return {
        "applications": application,
        "users": user,
        "policies": Policy.define(tenant_id=tenant, policy_type="rate_limit", config={"requests_per_minute": 60},
                                  at=T0, application_id=application.id),
        "audit_logs": AuditLog.record(tenant_id=tenant, action="policy.created", resource_type="policy", at=T0,
                                      details={"why": "limits"}),
        "inference_requests": InferenceRequest.record(tenant_id=tenant, application_id=application.id,
                                                      provider="openai", model="gpt-4o", status="completed", at=T0),
    }


CONTROL_PLANE_FILTERS: dict[str, list[tuple[Any, str]]] = {
    "applications": [(made(ApplicationFilter, is_active="yes"), "is_active"),
                     (made(ApplicationFilter, name_contains="\x00"), "name_contains")],
    "users": [(made(UserFilter, is_active=1), "is_active"),
              (made(UserFilter, email_contains="\ud800"), "email_contains")],
    "policies": [(made(PolicyFilter, policy_type="speed_limit"), "policy_type"),
                 (made(PolicyFilter, scope="galaxy"), "scope"),
                 (made(PolicyFilter, application_id="x"), "application_id")],
    "audit_logs": [(made(AuditLogFilter, action="\x00"), "action"),
                   (made(AuditLogFilter, occurred_from="2026-01-01"), "occurred_from"),
                   (made(AuditLogFilter, user_id=12), "user_id")],
    "inference_requests": [(made(InferenceRequestFilter, status="lost"), "status"),
                           (made(InferenceRequestFilter, requested_before=BAD_DATETIMES[1]), "requested_before")],
}
CONTROL_PLANE_APPEND_ONLY = {"audit_logs", "inference_requests"}
BAD_LIMITS: tuple[Any, ...] = (0, -1, "10", True, 2**70)


def _control_plane_method_probes(uow: ControlPlaneUnitOfWork, tenant: uuid.UUID) -> list[Any]:
    some_ids = [bad for bad in BAD_IDS if bad is not None]
    given_datetimes = [bad for bad in BAD_DATETIMES if bad is not None]
    page = {"limit": BAD_LIMITS, "offset": (-1, "1", 2**70)}
    probes: list[Any] = []
    for name in ("applications", "users", "policies", "audit_logs", "inference_requests"):
        repository = getattr(uow, name)
        probes += argument_probes(f"{name}.get_by_org_id", repository.get_by_org_id, {"org_id": tenant},
                                  {"org_id": some_ids, **page})
    return [
        *probes,
        *argument_probes("applications.get_by_api_key_hash", uow.applications.get_by_api_key_hash, {},
                         {"api_key_hash": (*TEXT_ARGUMENTS, "f" * 63)}),
        *argument_probes("users.get_by_email", uow.users.get_by_email, {}, {"email": TEXT_ARGUMENTS}),
        *argument_probes("users.get_by_subject", uow.users.get_by_subject, {}, {"subject": TEXT_ARGUMENTS}),
        *argument_probes("policies.get_by_app_id", uow.policies.get_by_app_id, {}, {"app_id": BAD_IDS}),
        *argument_probes("policies.get_by_user_id", uow.policies.get_by_user_id, {}, {"user_id": BAD_IDS}),
        *argument_probes("policies.get_applicable_policies", uow.policies.get_applicable_policies,
                         {"org_id": tenant, "app_id": uuid.uuid4(), "user_id": None},
                         {"org_id": some_ids, "app_id": BAD_IDS, "user_id": some_ids}),
        *argument_probes("audit_logs.get_by_app_id", uow.audit_logs.get_by_app_id, {"app_id": uuid.uuid4()},
                         {"app_id": BAD_IDS, **page}),
        *argument_probes("audit_logs.get_by_user_id", uow.audit_logs.get_by_user_id, {"user_id": uuid.uuid4()},
                         {"user_id": BAD_IDS}),
        *argument_probes("audit_logs.get_by_action", uow.audit_logs.get_by_action, {"action": "policy.created"},
                         {"action": TEXT_ARGUMENTS, **page}),
        *argument_probes("audit_logs.get_by_date_range", uow.audit_logs.get_by_date_range,
                         {"start": T0, "end": T0 + timedelta(days=1)},
                         {"start": BAD_DATETIMES, "end": (*BAD_DATETIMES, T0 - timedelta(seconds=1)), **page}),
        *entity_probes("audit_logs.insert", _control_plane_records(tenant)["audit_logs"], uow.audit_logs.insert),
        *argument_probes("inference_requests.get_by_status", uow.inference_requests.get_by_status,
                         {"status": "completed"}, {"status": ("lost", "\x00", 5, None), **page}),
        *argument_probes("inference_requests.get_by_app_id", uow.inference_requests.get_by_app_id,
                         {"app_id": uuid.uuid4()}, {"app_id": BAD_IDS}),
        *argument_probes("inference_requests.get_metrics", uow.inference_requests.get_metrics,
                         {"org_id": tenant, "start": T0, "end": T0 + timedelta(days=1)},
                         {"org_id": some_ids, "start": BAD_DATETIMES, "end": (*given_datetimes, None)}),
    ]


class ControlPlaneBadInputContract:
    """Bind with `tenancy_uow` and `control_plane_uow` fixtures."""

    def test_every_control_plane_method_refuses_hostile_input(
        self, tenancy_uow: TenancyUnitOfWorkFactory, control_plane_uow: ControlPlaneUnitOfWorkFactory
    ) -> None:
        organization = Tenant.register(name="Acme", slug=f"acme-{uuid.uuid4().hex[:8]}", at=T0)
        with tenancy_uow.system() as tenancy:
            tenancy.tenants.create(organization)
        tenant = organization.id
        records = _control_plane_records(tenant)
        with control_plane_uow.for_tenant(tenant) as uow:
            for name, record in records.items():
                getattr(uow, name).create(record)
        fresh = Application.register(tenant_id=tenant, name="Fresh", at=T0)[0]
        with control_plane_uow.for_tenant(tenant) as uow:
            probes = [probe for name, record in records.items() for probe in crud_probes(
                name, getattr(uow, name), record, mutable=name not in CONTROL_PLANE_APPEND_ONLY,
                bad_filters=CONTROL_PLANE_FILTERS[name])]
            assert assert_refused([*probes, *_control_plane_method_probes(uow, tenant)]) >= 800
            uow.applications.create(fresh)  # the refusals left the unit of work usable: this commits
        with control_plane_uow.for_tenant(tenant) as uow:
            for name, record in records.items():
                assert getattr(uow, name).get_by_id(record.id) == record, name
                assert getattr(uow, name).count() == (2 if name == "applications" else 1), name


class BadInputContract(TenancyBadInputContract, ReliabilityBadInputContract, ProcessingBadInputContract,
                       ControlPlaneBadInputContract):
    """Every context: bind with `tenancy_uow`, `reliability_uow`, `processing_uow` and `control_plane_uow`
    fixtures."""
