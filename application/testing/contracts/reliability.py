"""The reliability ports' contract: what every adapter of the seven reliability repositories does.

The generic CRUD behaviour (filters, keyset pages, savepoints...) is pinned down by the tenancy
contract on the same base classes; this suite covers each reliability method, the append-only and
uniqueness rules, tenant isolation of every repository, and the behaviour under concurrency.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from domain.reliability.action import Action, ActionStatus, ActionType
from domain.reliability.decision import Decision
from domain.reliability.event import Event
from domain.reliability.filters import EventFilter, IncidentFilter, WorkflowFilter
from domain.reliability.incident import Incident, IncidentStatus, Severity
from domain.reliability.kill_switch import KillSwitch
from domain.reliability.vendor import BreakerState, Vendor
from domain.reliability.workflow import Workflow
from domain.shared.entity import Entity
from domain.shared.errors import (
    ConcurrencyConflict,
    Conflict,
    NotFound,
    TenantScopeRequired,
    UnitOfWorkInactive,
    Unsupported,
    ValidationError,
)
from domain.shared.pagination import OffsetPageRequest
from domain.shared.sorting import Sort
from domain.tenancy.tenant import Tenant
from ports.reliability import ReliabilityUnitOfWork, ReliabilityUnitOfWorkFactory
from ports.tenancy import TenancyUnitOfWorkFactory

T0 = datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)
RACE_WINDOW_SECONDS = 0.02
"""Concurrency tests keep their unit of work open this long after writing, as a use case doing more
work would, so that the racing transactions really overlap."""
FAILURE: dict[str, Any] = {"error": {"code": "timeout", "message": "gateway timed out after 30s"}}

Units = ReliabilityUnitOfWorkFactory
"""The unit-of-work factory of the context under test."""


def at(minutes: float = 0) -> datetime:
    return T0 + timedelta(minutes=minutes)


def _stamped(minutes: float, extra: dict[str, Any]) -> dict[str, Any]:
    return {"created_at": at(minutes), "updated_at": at(minutes), **extra}


def new_workflow(tenant_id: uuid.UUID, name: str = "Checkout", minutes: float = 0, **extra: Any) -> Workflow:
    return Workflow.new(tenant_id=tenant_id, name=name, **_stamped(minutes, extra))


def new_vendor(name: str = "Stripe", minutes: float = 0, **extra: Any) -> Vendor:
    return Vendor.new(name=name, **_stamped(minutes, extra))


def new_event(tenant_id: uuid.UUID, workflow_id: uuid.UUID, key: str, minutes: float = 0, **extra: Any) -> Event:
    extra.setdefault("event_type", "payment.failed")
    extra.setdefault("payload", FAILURE)
    extra.setdefault("occurred_at", at(minutes))
    return Event.new(tenant_id=tenant_id, workflow_id=workflow_id, idempotency_key=key, **_stamped(minutes, extra))


def new_incident(tenant_id: uuid.UUID, workflow_id: uuid.UUID, signature: str, minutes: float = 0,
                 **extra: Any) -> Incident:
    extra.setdefault("title", f"Failure {signature}")
    return Incident.new(tenant_id=tenant_id, workflow_id=workflow_id, signature=signature, first_seen_at=at(minutes),
                        last_seen_at=at(minutes), **_stamped(minutes, extra))


def new_decision(tenant_id: uuid.UUID, incident_id: uuid.UUID, minutes: float = 0, **extra: Any) -> Decision:
    extra.setdefault("decision_type", "retry")
    extra.setdefault("reasoning", "transient gateway timeout")
    extra.setdefault("confidence_score", 0.87)
    extra.setdefault("ai_model", "triage-1")
    return Decision.new(tenant_id=tenant_id, incident_id=incident_id, **_stamped(minutes, extra))


def new_action(tenant_id: uuid.UUID, incident_id: uuid.UUID, minutes: float = 0, **extra: Any) -> Action:
    extra.setdefault("action_type", ActionType.RETRY)
    return Action.new(tenant_id=tenant_id, incident_id=incident_id, **_stamped(minutes, extra))


def new_kill_switch(tenant_id: uuid.UUID, workflow_id: uuid.UUID | None = None, minutes: float = 0,
                    **extra: Any) -> KillSwitch:
    extra.setdefault("reason", "runaway retries")
    extra.setdefault("activated_by", "oncall@acme.test")
    return KillSwitch.new(tenant_id=tenant_id, workflow_id=workflow_id, activated_at=at(minutes),
                          **_stamped(minutes, extra))


@dataclass(frozen=True, slots=True)
class World:
    acme: uuid.UUID
    globex: uuid.UUID
    checkout: Workflow
    """Acme's."""
    billing: Workflow
    """Acme's."""
    globex_flow: Workflow


def seed_world(reliability_uow: Units, tenancy_uow: TenancyUnitOfWorkFactory) -> World:
    acme = Tenant.register(name="Acme", slug="acme", at=T0)
    globex = Tenant.register(name="Globex", slug="globex", at=T0)
    with tenancy_uow.system() as uow:
        uow.tenants.bulk_create([acme, globex])
    checkout, billing = new_workflow(acme.id, "Checkout"), new_workflow(acme.id, "Billing", 1)
    globex_flow = new_workflow(globex.id, "Checkout")
    with reliability_uow.for_tenant(acme.id) as uow:
        uow.workflows.bulk_create([checkout, billing])
    with reliability_uow.for_tenant(globex.id) as uow:
        uow.workflows.create(globex_flow)
    return World(acme.id, globex.id, checkout, billing, globex_flow)


Repository = Callable[[ReliabilityUnitOfWork], Any]

TENANT_REPOSITORIES = ["workflows", "events", "incidents", "decisions", "actions", "kill_switches"]
APPEND_ONLY = {"events", "decisions"}


def record_of(name: str, tenant_id: uuid.UUID, workflow_id: uuid.UUID, minutes: float = 0) -> Entity:
    """A fresh record of the tenant-scoped repository `name`."""
    incident_id = uuid.UUID(int=7)  # references are not checked by the repositories
    builders: dict[str, Callable[[], Entity]] = {
        "workflows": lambda: new_workflow(tenant_id, f"Flow {uuid.uuid4()}", minutes),
        "events": lambda: new_event(tenant_id, workflow_id, f"key-{uuid.uuid4()}", minutes),
        "incidents": lambda: new_incident(tenant_id, workflow_id, uuid.uuid4().hex, minutes),
        "decisions": lambda: new_decision(tenant_id, incident_id, minutes),
        "actions": lambda: new_action(tenant_id, incident_id, minutes),
        "kill_switches": lambda: new_kill_switch(tenant_id, workflow_id, minutes),
    }
    return builders[name]()


class ReliabilityContract:
    """Bind with a `reliability_uow` fixture on an empty database."""

    @pytest.fixture
    def world(self, reliability_uow: Units, tenancy_uow: TenancyUnitOfWorkFactory) -> World:
        return seed_world(reliability_uow, tenancy_uow)

    # -- the specs' repository calls ----------------------------------------------------------
    def test_spec_001_create_from_a_dict_and_get_by_id_with_the_tenant(self, reliability_uow: Units,
                                                                      world: World) -> None:
        with reliability_uow.for_tenant(world.acme) as uow:
            created = uow.workflows.create({"tenant_id": world.acme, "name": "From a dict"})
            assert created.created_at.tzinfo is not None and created.version == 1
            assert uow.workflows.get_by_id(created.id, world.acme) == created
            with pytest.raises(TenantScopeRequired):  # another tenant named: refused, nothing read
                uow.workflows.get_by_id(created.id, world.globex)
            with pytest.raises(ValidationError) as raised:  # a dict is validated as the aggregate is
                uow.workflows.create({"tenant_id": world.acme, "name": "x" * 300})
            assert raised.value.field == "name"
            with pytest.raises(TenantScopeRequired):
                uow.workflows.create({"tenant_id": world.globex, "name": "Theirs"})
        with reliability_uow.for_tenant(world.acme) as uow:
            assert uow.workflows.get_by_name("From a dict") == created
            assert uow.workflows.get_by_name("Theirs") is None

    def test_spec_002_save_load_delete(self, reliability_uow: Units, world: World) -> None:
        fresh = new_workflow(world.acme, "Saved")
        with reliability_uow.for_tenant(world.acme) as uow:
            assert uow.workflows.save(fresh) == fresh  # new: inserted
            renamed = uow.workflows.save(fresh.evolve(description="changed"))  # stored: updated
            assert renamed.version == 2
            with pytest.raises(ConcurrencyConflict):
                uow.workflows.save(fresh.evolve(description="stale"))
            assert uow.workflows.load(fresh.id) == renamed
            uow.workflows.delete(fresh.id)
            assert uow.workflows.load(fresh.id) is None

    # -- workflows ----------------------------------------------------------------------------
    def test_workflow_round_trip_and_lookup_by_name(self, reliability_uow: Units, world: World) -> None:
        with reliability_uow.for_tenant(world.acme) as uow:
            assert uow.workflows.get_by_id(world.checkout.id) == world.checkout
            assert uow.workflows.get_by_name("Checkout") == world.checkout
            assert uow.workflows.get_by_name("checkout") is None  # names compare exactly
            assert uow.workflows.get_by_name("Nothing") is None
        with reliability_uow.for_tenant(world.globex) as uow:
            assert uow.workflows.get_by_name("Checkout") == world.globex_flow

    def test_workflow_name_is_unique_per_tenant(self, reliability_uow: Units, world: World) -> None:
        with reliability_uow.for_tenant(world.acme) as uow:
            with pytest.raises(Conflict, match="name"):
                uow.workflows.create(new_workflow(world.acme, "Checkout"))
            with pytest.raises(Conflict):
                uow.workflows.update(world.billing.rename("Checkout", at(5)))
            uow.workflows.create(new_workflow(world.acme, "Refunds"))  # the unit of work goes on
        with reliability_uow.for_tenant(world.acme) as uow:
            names = [w.name for w in uow.workflows.list_and_count(sort=Sort.parse("name")).items]
        assert names == ["Billing", "Checkout", "Refunds"]

    def test_workflow_listing_sorts_by_code_point_and_filters(self, reliability_uow: Units,
                                                              world: World) -> None:
        names = ["beta", "Alpha", "alpha", "Ärger", "zeta", "Zulu", "a_b"]
        with reliability_uow.for_tenant(world.acme) as uow:
            uow.workflows.bulk_create([new_workflow(world.acme, n, i, is_active=i % 2 == 0)
                                       for i, n in enumerate(names)])
            listed = [w.name for w in uow.workflows.list_and_count(sort=Sort.parse("-name")).items]
            assert listed == sorted([*names, "Checkout", "Billing"], reverse=True)
            assert uow.workflows.count(WorkflowFilter(name_contains="ALPHA")) == 2
            assert uow.workflows.count(WorkflowFilter(name_contains="_")) == 1
            assert uow.workflows.count(WorkflowFilter(is_active=False)) == 3

    # -- vendors ------------------------------------------------------------------------------
    def test_vendors_are_global(self, reliability_uow: Units, world: World) -> None:
        stripe = new_vendor("Stripe")
        with reliability_uow.for_tenant(world.acme) as uow:
            uow.vendors.create(stripe)
        with reliability_uow.system() as uow:
            uow.vendors.create(new_vendor("Adyen", 1))
            assert uow.vendors.get_by_name("Stripe") == stripe
        with reliability_uow.for_tenant(world.globex) as uow:
            assert uow.vendors.get_by_id(stripe.id) == stripe
            assert [v.name for v in uow.vendors.list_and_count(sort=Sort.parse("name")).items] == ["Adyen", "Stripe"]
            assert uow.vendors.get_by_name("stripe") is None
            with pytest.raises(Conflict, match="name"):
                uow.vendors.create(new_vendor("Stripe"))
            assert uow.vendors.count() == 2

    def test_vendor_breaker_state_round_trips(self, reliability_uow: Units) -> None:
        vendor = new_vendor("Stripe", failure_threshold=2)
        with reliability_uow.system() as uow:
            uow.vendors.create(vendor)
            opened = uow.vendors.update(vendor.record_failure(at(1)).record_failure(at(2)))
        with reliability_uow.system() as uow:
            found = uow.vendors.get_by_id_or_raise(vendor.id)
        assert found == opened and found.version == 2
        assert found.circuit_breaker_state is BreakerState.OPEN and found.opened_at == at(2)
        allowed, half_open = found.admit(at(10))
        assert allowed and half_open.circuit_breaker_state is BreakerState.HALF_OPEN

    # -- events -------------------------------------------------------------------------------
    def test_append_is_idempotent_per_tenant_key(self, reliability_uow: Units, world: World) -> None:
        first = new_event(world.acme, world.checkout.id, "order-1", payload={"nested": {"list": [1, 2.5, None]}})
        retry = new_event(world.acme, world.checkout.id, "order-1", 3, payload={"other": True})
        elsewhere = new_event(world.globex, world.globex_flow.id, "order-1")
        with reliability_uow.for_tenant(world.acme) as uow:
            assert uow.events.append(first) == (first, True)
            assert uow.events.append(retry) == (first, False)  # in the same unit of work
        with reliability_uow.for_tenant(world.acme) as uow:
            assert uow.events.append(retry) == (first, False)  # and after commit
            assert uow.events.get_by_idempotency_key("order-1") == first
            assert uow.events.get_by_id(first.id) == first
            assert uow.events.get_by_idempotency_key("ORDER-1") is None
        with reliability_uow.for_tenant(world.globex) as uow:
            assert uow.events.get_by_idempotency_key("order-1") is None
            assert uow.events.append(elsewhere) == (elsewhere, True)
        with reliability_uow.for_tenant(world.acme) as uow:
            assert uow.events.count() == 1

    def test_a_plain_create_of_a_taken_key_is_a_conflict(self, reliability_uow: Units,
                                                         world: World) -> None:
        with reliability_uow.for_tenant(world.acme) as uow:
            uow.events.create(new_event(world.acme, world.checkout.id, "k"))
            with pytest.raises(Conflict):
                uow.events.create(new_event(world.acme, world.checkout.id, "k"))
            assert uow.events.count() == 1

    def test_events_are_append_only(self, reliability_uow: Units, world: World) -> None:
        event = new_event(world.acme, world.checkout.id, "k")
        with reliability_uow.for_tenant(world.acme) as uow:
            uow.events.append(event)
            with pytest.raises(Unsupported):
                uow.events.update(event.evolve(event_type="payment.succeeded"))
            with pytest.raises(Unsupported):
                uow.events.delete(event.id)
        with reliability_uow.for_tenant(world.acme) as uow:
            assert uow.events.get_by_id(event.id) == event

    def test_append_many_reports_in_input_order(self, reliability_uow: Units, world: World) -> None:
        def event(key: str, minutes: float = 0) -> Event:
            return new_event(world.acme, world.checkout.id, key, minutes)

        stored_a = event("a")
        with reliability_uow.for_tenant(world.acme) as uow:
            uow.events.append(stored_a)
        b, a_again, c, b_again, d = event("b", 1), event("a", 2), event("c", 3), event("b", 4), event("d", 5)
        with reliability_uow.for_tenant(world.acme) as uow:
            results = uow.events.append_many([b, a_again, c, b_again, d])
            assert uow.events.append_many([]) == []
        assert results == [(b, True), (stored_a, False), (c, True), (b, False), (d, True)]
        with reliability_uow.for_tenant(world.acme) as uow:
            assert uow.events.count() == 4
            assert uow.events.get_by_idempotency_key("b") == b

    def test_append_many_across_batches(self, reliability_uow: Units, world: World) -> None:
        existing = [new_event(world.acme, world.checkout.id, f"key-{i:05d}") for i in range(0, 2400, 48)]
        with reliability_uow.for_tenant(world.acme) as uow:
            uow.events.append_many(existing)
        batch = [new_event(world.acme, world.checkout.id, f"key-{i:05d}", i / 100) for i in range(2400)]
        batch += [new_event(world.acme, world.checkout.id, f"key-{i:05d}") for i in range(0, 2400, 97)]
        with reliability_uow.for_tenant(world.acme) as uow:
            results = uow.events.append_many(batch)
            assert uow.events.count() == 2400
        assert [new for _, new in results] == [i % 48 != 0 for i in range(2400)] + [False] * 25
        assert [stored.idempotency_key for stored, _ in results] == [e.idempotency_key for e in batch]

    def test_a_failing_batch_writes_nothing(self, reliability_uow: Units, world: World) -> None:
        taken = new_event(world.acme, world.checkout.id, "taken")
        with reliability_uow.for_tenant(world.acme) as uow:
            uow.events.append(taken)
            clash = new_event(world.acme, world.checkout.id, "new-key").model_copy(update={"id": taken.id})
            with pytest.raises(Conflict):
                uow.events.append_many([new_event(world.acme, world.checkout.id, "fresh"), clash])
            assert uow.events.count() == 1
            assert uow.events.append(new_event(world.acme, world.checkout.id, "after"))[1] is True
        with reliability_uow.for_tenant(world.acme) as uow:
            assert uow.events.count() == 2

    def test_concurrent_appends_of_one_key_store_one_event(self, reliability_uow: Units,
                                                          world: World) -> None:
        barrier = threading.Barrier(32)
        outcomes: list[tuple[uuid.UUID, bool]] = []
        failures: list[BaseException] = []

        def append(index: int) -> None:
            event = new_event(world.acme, world.checkout.id, "racing-key", index)
            try:
                barrier.wait(10)
                with reliability_uow.for_tenant(world.acme) as uow:
                    stored, new = uow.events.append(event)
                    time.sleep(RACE_WINDOW_SECONDS)
                outcomes.append((stored.id, new))
            except BaseException as error:  # reported below, not lost in the thread
                failures.append(error)

        threads = [threading.Thread(target=append, args=(i,)) for i in range(32)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert failures == []
        assert sum(new for _, new in outcomes) == 1 and len(outcomes) == 32
        assert len({stored for stored, _ in outcomes}) == 1
        with reliability_uow.for_tenant(world.acme) as uow:
            assert uow.events.count() == 1

    def test_recent_events_window_newest_first(self, reliability_uow: Units, world: World) -> None:
        now = T0 + timedelta(days=2)

        def event(key: str, before: timedelta, workflow: Workflow = world.checkout) -> Event:
            return new_event(workflow.tenant_id, workflow.id, key, occurred_at=now - before)

        # An event from a source whose clock runs ahead is recent too: spec 001 bounds the cutoff only.
        inside = [event("future", -timedelta(minutes=1)), event("1h", timedelta(hours=1)),
                  event("23h", timedelta(hours=23)), event("24h", timedelta(hours=24))]
        outside = [event("25h", timedelta(hours=25)), event("billing", timedelta(hours=2), world.billing)]
        with reliability_uow.for_tenant(world.acme) as uow:
            uow.events.append_many([inside[2], outside[0], inside[3], inside[0], inside[1], outside[1]])
        with reliability_uow.for_tenant(world.globex) as uow:
            uow.events.append(event("globex", timedelta(hours=1), world.globex_flow))
        with reliability_uow.for_tenant(world.acme) as uow:
            assert uow.events.get_recent_events(world.checkout.id, now=now) == inside
            assert uow.events.get_recent_events(world.checkout.id, 2, now=now) == inside[:2]
            elsewhere = now.astimezone(timezone(timedelta(hours=-5)))  # the same instant, another offset
            assert uow.events.get_recent_events(world.checkout.id, 1, now=elsewhere) == inside[:2]
            # Spec 001's call: the tenant first, `now` from the clock.
            decade = uow.events.get_recent_events(world.acme, world.checkout.id, hours=24 * 365 * 10)
            assert decade == [*inside, outside[0]]
            assert uow.events.count_events(world.acme, world.checkout.id) == 5
            assert uow.events.get_by_idempotency_key("1h", world.acme) == inside[1]
            for spec_call in (lambda: uow.events.get_recent_events(world.globex, world.checkout.id),
                              lambda: uow.events.count_events(world.globex, world.checkout.id),
                              lambda: uow.events.get_by_idempotency_key("1h", world.globex)):
                with pytest.raises(TenantScopeRequired):
                    spec_call()
            assert uow.events.get_recent_events(world.globex_flow.id, now=now) == []
            assert uow.events.count_events() == 6
            assert uow.events.count_events(world.checkout.id) == 5
            assert uow.events.count_events(world.billing.id) == 1
            assert uow.events.count_events(world.globex_flow.id) == 0
            assert uow.events.count(EventFilter(occurred_from=now - timedelta(hours=24))) == 5

    # -- incidents ----------------------------------------------------------------------------
    def test_create_from_event(self, reliability_uow: Units, world: World) -> None:
        event = new_event(world.acme, world.checkout.id, "k", 5, correlation_id="req-9",
                          occurred_at=at(3))
        with reliability_uow.for_tenant(world.acme) as uow:
            incident = uow.incidents.create_from_event(event, title="Gateway timeouts", severity="high")
        assert (incident.signature, incident.title, incident.severity) == (event.signature, "Gateway timeouts",
                                                                           Severity.HIGH)
        assert (incident.first_seen_at, incident.last_seen_at, incident.event_count) == (at(3), at(3), 1)
        assert (incident.status, incident.workflow_id, incident.tenant_id) == (
            IncidentStatus.NEW, world.checkout.id, world.acme)
        assert incident.correlation_id == "req-9" and incident.created_at == event.created_at
        with reliability_uow.for_tenant(world.acme) as uow:
            found = uow.incidents.get_by_id_or_raise(incident.id)
            assert found == incident and found.status is IncidentStatus.NEW and found.severity is Severity.HIGH
            assert uow.incidents.get_open_by_signature(event.signature) == incident

    def test_one_open_incident_per_signature(self, reliability_uow: Units, world: World) -> None:
        first = new_event(world.acme, world.checkout.id, "1", 1)
        again = new_event(world.acme, world.checkout.id, "2", 2, payload={"error": {
            "code": "timeout", "message": "gateway timed out after 45s"}})
        other = new_event(world.acme, world.checkout.id, "3", 3, payload={"error_code": "card_declined"})
        assert again.signature == first.signature != other.signature
        with reliability_uow.for_tenant(world.acme) as uow:
            opened = uow.incidents.create_from_event(first, title="Timeouts")
            with pytest.raises(Conflict, match="signature"):
                uow.incidents.create_from_event(again, title="Timeouts again")
            uow.incidents.create_from_event(other, title="Declines")  # the unit of work goes on
            assert uow.incidents.update(opened.record_event(at(2))).event_count == 2
        with reliability_uow.for_tenant(world.acme) as uow:
            assert uow.incidents.count() == 2
            with pytest.raises(Conflict):
                uow.incidents.create_from_event(again, title="Timeouts again")
        with reliability_uow.for_tenant(world.globex) as uow:  # another tenant has its own incidents
            uow.incidents.create_from_event(new_event(world.globex, world.checkout.id, "1", 1), title="Timeouts")

    @pytest.mark.parametrize("closing", [IncidentStatus.RESOLVED, IncidentStatus.IGNORED])
    def test_a_closed_incident_does_not_block_a_new_one(self, reliability_uow: Units, world: World,
                                                        closing: IncidentStatus) -> None:
        first, later = (new_event(world.acme, world.checkout.id, key, minutes) for key, minutes in (("1", 1), ("2", 9)))
        with reliability_uow.for_tenant(world.acme) as uow:
            old = uow.incidents.create_from_event(first, title="Timeouts")
            uow.incidents.update(old.move_to(closing, at(5)))
            assert uow.incidents.get_open_by_signature(first.signature) is None
            new = uow.incidents.create_from_event(later, title="Timeouts, again")
        with reliability_uow.for_tenant(world.acme) as uow:
            assert uow.incidents.get_open_by_signature(first.signature) == new
            assert uow.incidents.get_by_id_or_raise(old.id).status is closing
            assert uow.incidents.get_open_by_signature("no-such-signature") is None

    def test_concurrent_incidents_of_one_signature(self, reliability_uow: Units, world: World) -> None:
        barrier = threading.Barrier(8)
        outcomes: list[str] = []

        def open_incident(index: int) -> None:
            event = new_event(world.acme, world.checkout.id, f"k{index}", index)
            barrier.wait(10)
            try:
                with reliability_uow.for_tenant(world.acme) as uow:
                    uow.incidents.create_from_event(event, title=f"Racer {index}")
                    time.sleep(RACE_WINDOW_SECONDS)
                outcomes.append("created")
            except Conflict:
                outcomes.append("conflict")

        threads = [threading.Thread(target=open_incident, args=(i,)) for i in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert sorted(outcomes) == ["conflict"] * 7 + ["created"]
        with reliability_uow.for_tenant(world.acme) as uow:
            assert uow.incidents.count() == 1

    def _incidents(self, reliability_uow: Units, world: World) -> list[Incident]:
        statuses = [IncidentStatus.NEW, IncidentStatus.ANALYZING, IncidentStatus.NEW, IncidentStatus.RESOLVED,
                    IncidentStatus.NEW, IncidentStatus.NEW, IncidentStatus.IGNORED]
        rows = [new_incident(world.acme, world.checkout.id, f"sig-{i}", i % 4, status=s)
                for i, s in enumerate(statuses)]
        with reliability_uow.for_tenant(world.acme) as uow:
            uow.incidents.bulk_create(rows)
        with reliability_uow.for_tenant(world.globex) as uow:
            uow.incidents.create(new_incident(world.globex, world.globex_flow.id, "sig-0"))
        return rows

    def test_incidents_by_status_newest_first_with_total(self, reliability_uow: Units,
                                                         world: World) -> None:
        rows = self._incidents(reliability_uow, world)
        new = sorted((r for r in rows if r.status is IncidentStatus.NEW), key=lambda r: (r.created_at, r.id),
                     reverse=True)
        with reliability_uow.for_tenant(world.acme) as uow:
            first = uow.incidents.get_incidents_by_status(IncidentStatus.NEW, 3)
            everything = uow.incidents.get_incidents_by_status(IncidentStatus.NEW)
            none = uow.incidents.get_incidents_by_status(IncidentStatus.ACTIONED)
            paged = uow.incidents.list_and_count(IncidentFilter(statuses=(IncidentStatus.NEW,)),
                                                 Sort.parse("-created_at,-id"), OffsetPageRequest(limit=3))
        assert first == new[:3]
        assert everything == new and none == []  # every match: a spec list method never truncates
        assert list(paged) == new[:3] and len(paged) == 3 and paged.total == 4 and paged.has_next

    def test_record_events_counts_with_the_version_check(self, reliability_uow: Units, world: World) -> None:
        incident = new_incident(world.acme, world.checkout.id, "sig-count")
        with reliability_uow.for_tenant(world.acme) as uow:
            uow.incidents.create(incident)
            counted = uow.incidents.record_events(incident, [at(5), at(-5)])
            assert (counted.event_count, counted.version) == (incident.event_count + 2, 2)
            assert counted.first_seen_at == at(-5) and counted.last_seen_at >= at(5)
            assert uow.incidents.record_events(counted, []) == counted
            with pytest.raises(ConcurrencyConflict):
                uow.incidents.record_events(incident, [at(6)])  # read before the first count
        with reliability_uow.for_tenant(world.acme) as uow:
            assert uow.incidents.get_by_id(incident.id) == counted

    def test_record_events_many_is_all_or_nothing(self, reliability_uow: Units, world: World) -> None:
        incidents = [new_incident(world.acme, world.checkout.id, f"sig-many-{i}", i) for i in range(4)]
        with reliability_uow.for_tenant(world.acme) as uow:
            uow.incidents.bulk_create(incidents)
            counted = uow.incidents.record_events_many([(incident, [at(9)] * (i + 1))
                                                        for i, incident in enumerate(incidents)])
            assert [c.event_count - i.event_count for c, i in zip(counted, incidents, strict=True)] == [1, 2, 3, 4]
            assert {c.version for c in counted} == {2}
            assert uow.incidents.record_events_many([(counted[0], [])]) == counted[:1]  # nothing to count
            with pytest.raises(ConcurrencyConflict):  # one stale incident: none of them is counted
                uow.incidents.record_events_many([(counted[1], [at(10)]), (incidents[2], [at(10)]),
                                                  (counted[3], [at(10)])])
        with reliability_uow.for_tenant(world.acme) as uow:
            assert [uow.incidents.get_by_id(i.id) for i in incidents] == counted

    def test_count_by_status_has_every_status(self, reliability_uow: Units, world: World) -> None:
        with reliability_uow.for_tenant(world.acme) as uow:
            assert uow.incidents.count_by_status() == dict.fromkeys(IncidentStatus, 0)
        self._incidents(reliability_uow, world)
        with reliability_uow.for_tenant(world.acme) as uow:
            counts = uow.incidents.count_by_status()
        assert counts == {IncidentStatus.NEW: 4, IncidentStatus.ANALYZING: 1, IncidentStatus.ACTIONED: 0,
                          IncidentStatus.RESOLVED: 1, IncidentStatus.IGNORED: 1}
        assert list(counts) == list(IncidentStatus)

    # -- decisions and actions ----------------------------------------------------------------
    def test_decisions_are_an_append_only_trail(self, reliability_uow: Units, world: World) -> None:
        incident, other = new_incident(world.acme, world.checkout.id, "a"), new_incident(world.acme,
                                                                                         world.checkout.id, "b")
        trail = [new_decision(world.acme, incident.id, minutes) for minutes in (3, 1, 2)]
        with reliability_uow.for_tenant(world.acme) as uow:
            uow.incidents.bulk_create([incident, other])
            uow.decisions.bulk_create(trail)
            uow.decisions.create(new_decision(world.acme, other.id, confidence_score=0.1))
            with pytest.raises(Unsupported):
                uow.decisions.update(trail[0].evolve(reasoning="rewritten"))
            with pytest.raises(Unsupported):
                uow.decisions.delete(trail[0].id)
        with reliability_uow.for_tenant(world.acme) as uow:
            assert uow.decisions.list_for_incident(incident.id) == sorted(trail, key=lambda d: d.created_at)
            assert uow.decisions.get_by_id(trail[0].id) == trail[0]
            assert uow.decisions.list_for_incident(uuid.uuid4()) == []

    def test_actions_lifecycle_and_listing(self, reliability_uow: Units, world: World) -> None:
        incident = new_incident(world.acme, world.checkout.id, "a")
        retry = new_action(world.acme, incident.id, 2, parameters={"attempts": 3})
        escalate = new_action(world.acme, incident.id, 1, action_type=ActionType.ESCALATE, is_reversible=True)
        with reliability_uow.for_tenant(world.acme) as uow:
            uow.actions.bulk_create([retry, escalate])
            uow.actions.create(new_action(world.acme, uuid.uuid4()))
            started = uow.actions.update(retry.start(at(3)))
            done = uow.actions.update(started.finish(True, {"charge": "ch_1", "ok": True}, at(4)))
        with reliability_uow.for_tenant(world.acme) as uow:
            assert uow.actions.list_for_incident(incident.id) == [escalate, done]
            found = uow.actions.get_by_id_or_raise(retry.id)
            assert found == done and found.version == 3
            assert found.status is ActionStatus.SUCCEEDED and found.action_type is ActionType.RETRY
            uow.actions.delete(escalate.id, expected_version=1)
            assert uow.actions.list_for_incident(incident.id) == [done]
            with pytest.raises(NotFound):
                uow.actions.delete(escalate.id)

    # -- kill switches ------------------------------------------------------------------------
    def test_active_kill_switches_cover_the_tenant_and_the_workflow(self, reliability_uow: Units,
                                                                    world: World) -> None:
        tenant_wide = new_kill_switch(world.acme, None, 1)
        checkout = new_kill_switch(world.acme, world.checkout.id, 2)
        billing = new_kill_switch(world.acme, world.billing.id, 3)
        released = new_kill_switch(world.acme, world.checkout.id, 0).release("oncall", at(4))
        with reliability_uow.for_tenant(world.acme) as uow:
            uow.kill_switches.bulk_create([checkout, released, tenant_wide, billing])
        with reliability_uow.for_tenant(world.globex) as uow:
            uow.kill_switches.create(new_kill_switch(world.globex))
        with reliability_uow.for_tenant(world.acme) as uow:
            assert uow.kill_switches.get_active_for(world.checkout.id) == [tenant_wide, checkout]
            assert uow.kill_switches.get_active_for(world.billing.id) == [tenant_wide, billing]
            assert uow.kill_switches.get_active_for(None) == [tenant_wide]
            lifted = uow.kill_switches.update(tenant_wide.release("oncall", at(6)))
            assert uow.kill_switches.get_active_for(world.checkout.id) == [checkout]
            assert uow.kill_switches.get_by_id(tenant_wide.id) == lifted
        with reliability_uow.for_tenant(world.globex) as uow:
            assert uow.kill_switches.get_active_for(world.checkout.id) != []  # Globex's own tenant-wide one

    # -- versions -----------------------------------------------------------------------------
    def test_stale_updates_are_concurrency_conflicts(self, reliability_uow: Units, world: World) -> None:
        incident = new_incident(world.acme, world.checkout.id, "a")
        action = new_action(world.acme, incident.id)
        switch = new_kill_switch(world.acme)
        vendor = new_vendor()
        with reliability_uow.for_tenant(world.acme) as uow:
            uow.incidents.create(incident)
            uow.actions.create(action)
            uow.kill_switches.create(switch)
            uow.vendors.create(vendor)
        changes: list[tuple[Any, Callable[[], Entity]]] = [
            (lambda u: u.workflows, lambda: world.checkout.deactivate(at(1))),
            (lambda u: u.incidents, lambda: incident.move_to(IncidentStatus.ANALYZING, at(1))),
            (lambda u: u.actions, lambda: action.start(at(1))),
            (lambda u: u.kill_switches, lambda: switch.release("x", at(1))),
            (lambda u: u.vendors, lambda: vendor.record_failure(at(1))),
        ]
        for repository, change in changes:
            with reliability_uow.for_tenant(world.acme) as uow:
                assert repository(uow).update(change()).version == 2
            with reliability_uow.for_tenant(world.acme) as uow, pytest.raises(ConcurrencyConflict):
                repository(uow).update(change())
            with reliability_uow.for_tenant(world.acme) as uow, pytest.raises(NotFound):
                repository(uow).update(change().model_copy(update={"id": uuid.uuid4()}))

    # -- tenant isolation ---------------------------------------------------------------------
    @pytest.mark.parametrize("name", TENANT_REPOSITORIES)
    def test_another_tenants_records_are_out_of_reach(self, reliability_uow: Units, world: World,
                                                      name: str) -> None:
        theirs = record_of(name, world.globex, world.globex_flow.id)
        with reliability_uow.for_tenant(world.globex) as uow:
            getattr(uow, name).create(theirs)
        with reliability_uow.for_tenant(world.acme) as uow:
            repository = getattr(uow, name)
            assert repository.get_by_id(theirs.id) is None
            assert repository.exists(theirs.id) is False
            with pytest.raises(NotFound):
                repository.get_by_id_or_raise(theirs.id)
            assert theirs.id not in {r.id for r in repository.list_and_count().items}
            assert theirs.id not in {r.id for r in repository.list_by_cursor().items}
            with pytest.raises(TenantScopeRequired):
                repository.create(record_of(name, world.globex, world.globex_flow.id))
            with pytest.raises(TenantScopeRequired):
                repository.bulk_create([record_of(name, world.acme, world.checkout.id),
                                        record_of(name, world.globex, world.globex_flow.id)])
            if name not in APPEND_ONLY:
                with pytest.raises(TenantScopeRequired):
                    repository.update(theirs)
                with pytest.raises(NotFound):
                    repository.delete(theirs.id)
            mine = repository.create(record_of(name, world.acme, world.checkout.id))
            assert repository.get_by_id(mine.id) == mine
        with reliability_uow.for_tenant(world.globex) as uow:
            assert getattr(uow, name).get_by_id(theirs.id) == theirs
            assert getattr(uow, name).get_by_id(mine.id) is None

    def test_reliability_queries_stay_in_the_tenant(self, reliability_uow: Units, world: World) -> None:
        event = new_event(world.globex, world.globex_flow.id, "k", occurred_at=T0)
        with reliability_uow.for_tenant(world.globex) as uow:
            uow.events.append(event)
            incident = uow.incidents.create_from_event(event, title="Theirs")
            uow.decisions.create(new_decision(world.globex, incident.id))
            uow.actions.create(new_action(world.globex, incident.id))
            uow.kill_switches.create(new_kill_switch(world.globex, world.globex_flow.id))
        with reliability_uow.for_tenant(world.acme) as uow:
            assert uow.events.get_by_idempotency_key("k") is None
            assert uow.events.get_recent_events(world.globex_flow.id, now=T0) == []
            assert uow.events.count_events(world.globex_flow.id) == 0
            assert uow.incidents.get_open_by_signature(event.signature) is None
            assert uow.incidents.count_by_status()[IncidentStatus.NEW] == 0
            assert uow.incidents.get_incidents_by_status(IncidentStatus.NEW) == []
            assert uow.decisions.list_for_incident(incident.id) == []
            assert uow.actions.list_for_incident(incident.id) == []
            assert uow.kill_switches.get_active_for(world.globex_flow.id) == []
            # Acme's own key and signature are independent of Globex's.
            assert uow.events.append(new_event(world.acme, world.checkout.id, "k", occurred_at=T0))[1] is True

    @pytest.mark.parametrize("call", [
        lambda uow: uow.workflows.count(),
        lambda uow: uow.workflows.get_by_id(uuid.uuid4()),
        lambda uow: uow.workflows.get_by_name("Checkout"),
        lambda uow: uow.events.list_and_count(),
        lambda uow: uow.events.get_by_idempotency_key("k"),
        lambda uow: uow.events.get_recent_events(uuid.uuid4(), now=T0),
        lambda uow: uow.events.count_events(),
        lambda uow: uow.events.append(new_event(uuid.uuid4(), uuid.uuid4(), "k")),
        lambda uow: uow.incidents.exists(uuid.uuid4()),
        lambda uow: uow.incidents.get_open_by_signature("s"),
        lambda uow: uow.incidents.count_by_status(),
        lambda uow: uow.incidents.get_incidents_by_status(IncidentStatus.NEW),
        lambda uow: uow.incidents.create_from_event(new_event(uuid.uuid4(), uuid.uuid4(), "k"), title="t"),
        lambda uow: uow.decisions.list_for_incident(uuid.uuid4()),
        lambda uow: uow.actions.list_by_cursor(),
        lambda uow: uow.actions.list_for_incident(uuid.uuid4()),
        lambda uow: uow.kill_switches.get_active_for(None),
        lambda uow: uow.kill_switches.delete(uuid.uuid4()),
    ])
    def test_tenant_repositories_refuse_system_scope(self, reliability_uow: Units,
                                                     call: Callable[[ReliabilityUnitOfWork], object]) -> None:
        with reliability_uow.system() as uow, pytest.raises(TenantScopeRequired):
            call(uow)

    # -- the unit of work ---------------------------------------------------------------------
    def test_a_failing_unit_of_work_leaves_nothing(self, reliability_uow: Units, world: World) -> None:
        event = new_event(world.acme, world.checkout.id, "k")
        with pytest.raises(RuntimeError), reliability_uow.for_tenant(world.acme) as uow:
            uow.workflows.create(new_workflow(world.acme, "Refunds"))
            uow.events.append_many([event, new_event(world.acme, world.checkout.id, "k2")])
            incident = uow.incidents.create_from_event(event, title="Timeouts")
            uow.decisions.create(new_decision(world.acme, incident.id))
            uow.actions.create(new_action(world.acme, incident.id))
            uow.kill_switches.create(new_kill_switch(world.acme))
            uow.vendors.create(new_vendor())
            raise RuntimeError("the use case fails")
        with reliability_uow.for_tenant(world.acme) as uow:
            assert uow.workflows.count() == 2
            for repository in (uow.events, uow.incidents, uow.decisions, uow.actions, uow.kill_switches, uow.vendors):
                assert repository.count() == 0
            assert uow.events.append(event) == (event, True)  # the key is free again

    def test_rollback_and_savepoints_undo_appends(self, reliability_uow: Units, world: World) -> None:
        with reliability_uow.for_tenant(world.acme) as uow:
            uow.events.append(new_event(world.acme, world.checkout.id, "kept"))
            uow.commit()
            uow.events.append(new_event(world.acme, world.checkout.id, "dropped"))
            uow.rollback()
            with pytest.raises(RuntimeError), uow:
                uow.events.append(new_event(world.acme, world.checkout.id, "inner"))
                raise RuntimeError("the nested part fails")
            assert uow.events.append(new_event(world.acme, world.checkout.id, "inner"))[1] is True
        with reliability_uow.for_tenant(world.acme) as uow:
            keys = sorted(e.idempotency_key for e in uow.events.list_and_count().items)
        assert keys == ["inner", "kept"]

    def test_repositories_outside_the_block_fail_loudly(self, reliability_uow: Units) -> None:
        uow = reliability_uow.system()
        for name in ("workflows", "vendors", "events", "incidents", "decisions", "actions", "kill_switches"):
            with pytest.raises(UnitOfWorkInactive):
                getattr(uow, name).count()
        with uow:
            uow.vendors.count()
        with pytest.raises(UnitOfWorkInactive):
            uow.vendors.count()

    # -- bad input ----------------------------------------------------------------------------
    def test_bad_input_names_the_field(self, reliability_uow: Units, world: World) -> None:
        event = new_event(world.acme, world.checkout.id, "k")
        naive = datetime(2026, 3, 1, 12, 0)
        with reliability_uow.for_tenant(world.acme) as uow:
            bad: Any = uow  # the calls below pass wrong types on purpose
            cases: list[tuple[str, Callable[[], object]]] = [
                ("id", lambda: bad.workflows.get_by_id("not-a-uuid")),
                ("id", lambda: bad.events.exists(42)),
                ("id", lambda: bad.actions.delete("x")),
                ("sort", lambda: bad.events.list_and_count(sort=Sort.parse("payload"))),
                ("sort", lambda: bad.incidents.list_by_cursor(sort=Sort.parse("title"))),
                ("name", lambda: bad.workflows.get_by_name(42)),
                ("name", lambda: bad.vendors.get_by_name(None)),
                ("idempotency_key", lambda: bad.events.get_by_idempotency_key(b"k")),
                ("workflow_id", lambda: bad.events.get_recent_events("nope", now=T0)),
                ("hours", lambda: bad.events.get_recent_events(world.checkout.id, 0, now=T0)),
                ("hours", lambda: bad.events.get_recent_events(world.checkout.id, True, now=T0)),
                ("now", lambda: bad.events.get_recent_events(world.checkout.id, now=naive)),
                ("now", lambda: bad.events.get_recent_events(world.checkout.id, now="today")),
                ("workflow_id", lambda: bad.events.count_events("nope")),
                ("entity", lambda: bad.events.append(world.checkout)),
                ("entity", lambda: bad.events.append_many([event, "event"])),
                ("signature", lambda: bad.incidents.get_open_by_signature(7)),
                ("event", lambda: bad.incidents.create_from_event("event", title="t")),
                ("title", lambda: bad.incidents.create_from_event(event, title="")),
                ("severity", lambda: bad.incidents.create_from_event(event, title="t", severity="apocalyptic")),
                ("status", lambda: bad.incidents.get_incidents_by_status("DONE")),
                ("limit", lambda: bad.incidents.get_incidents_by_status(IncidentStatus.NEW, 0)),
                ("incident_id", lambda: bad.decisions.list_for_incident("nope")),
                ("incident_id", lambda: bad.actions.list_for_incident(None)),
                ("workflow_id", lambda: bad.kill_switches.get_active_for(3.5)),
            ]
            for field, call in cases:
                with pytest.raises(ValidationError) as raised:
                    call()
                assert raised.value.field == field, (field, raised.value)
            assert uow.events.count() == 0 and uow.incidents.count() == 0
