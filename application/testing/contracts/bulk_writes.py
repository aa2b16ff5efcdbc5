"""What a bulk write stores, value for value: the awkward values of every column type of every table,
written many rows at a time and read back equal, and the semantics of a bulk write (all or nothing,
the taken key named, replays told apart, savepoints) on whatever path a backend takes for it.

Bind with `tenancy_uow`, `reliability_uow` and `processing_uow` fixtures on an empty database. A
backend with more than one bulk path (PostgreSQL: `execute_values` below a row count, COPY from it)
binds the suite once per path.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, TypeVar

import pytest

from application.testing.contracts.processing_world import new_execution, new_purchase, new_underwriting_processor
from application.testing.contracts.reliability import (
    new_action,
    new_decision,
    new_event,
    new_incident,
    new_kill_switch,
    new_vendor,
    new_workflow,
)
from domain.processing.execution import ExecutionStatus
from domain.processing.subscriptions import PriceUnit, SubscriptionStatus
from domain.reliability.action import ActionStatus, ActionType
from domain.reliability.incident import IncidentStatus, Severity
from domain.reliability.vendor import BreakerState
from domain.shared.entity import Entity
from domain.shared.errors import Conflict, TenantScopeRequired
from domain.tenancy.tenant import Tenant
from ports.processing import ProcessingUnitOfWorkFactory
from ports.reliability import ReliabilityUnitOfWorkFactory
from ports.tenancy import TenancyUnitOfWorkFactory

E = TypeVar("E", bound=Entity)

AWKWARD = [
    "tab\there", "line\nbreak", "carriage\rreturn", "crlf\r\nend", "back\\slash", "ends with a backslash\\",
    "\\N", "\\.", "\\t is no tab", "quote ' and \"double\"", "NULL", "é✓ 日本語 🚀 \u2028", "comma, {braces} [x] (y)",
    "  inner  spaces  ",
]
"""Text that COPY's text format, an array literal or JSON would each misread if not escaped."""

ROWS = len(AWKWARD)
"""Rows per bulk write: one per awkward text."""

BIG = 2**63 - 1
"""The largest BIGINT (and JSON integer every backend keeps)."""

AWKWARD_DOCUMENT: dict[str, Any] = {
    "text": "tab\t newline\n cr\r backslash\\ quote\" apostrophe' \\N",
    "unicode": "é✓ 日本語 🚀", "empty": "", "null": None, "empty list": [], "empty object": {},
    "list": ["\\N", "NULL", "", None, 1.5, True, False, -BIG - 1, BIG], "float": 0.1, "zero": 0,
    "nested": {"deeper": [{"backslashes": "\\\\", "braces": "{}", "quotes": '"'}]},
    "key\twith\nbreaks\\": "value",
}

T0 = datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)


def awkward(index: int) -> str:
    return AWKWARD[index % ROWS]


def document(index: int) -> dict[str, Any]:
    return {**AWKWARD_DOCUMENT, "row": index, "awkward": awkward(index)}


def optional_text(index: int) -> str | None:
    """NULL, the empty string and awkward text in turn: the three must stay apart."""
    return (None, "", awkward(index))[index % 3]


def stamp(index: int) -> datetime:
    """Microseconds, and the instant given at another offset (stored and read back as UTC)."""
    moment = T0 + timedelta(days=index * 400, microseconds=index)
    return moment.astimezone(timezone(timedelta(hours=5, minutes=30))) if index % 2 else moment


def optional_stamp(index: int) -> datetime | None:
    return None if index % 2 else stamp(index)


def _read_back(rows: Sequence[E], get: Callable[[uuid.UUID], E | None]) -> None:
    assert [get(row.id) for row in rows] == list(rows)


class BulkWriteContract:
    """Bind with `tenancy_uow`, `reliability_uow` and `processing_uow` fixtures on an empty database."""

    @pytest.fixture
    def tenants(self, tenancy_uow: TenancyUnitOfWorkFactory) -> tuple[uuid.UUID, uuid.UUID]:
        acme, globex = Tenant.register(name="Acme", slug="acme", at=T0), Tenant.register(name="Globex", slug="globex",
                                                                                         at=T0)
        with tenancy_uow.system() as uow:
            uow.tenants.create(acme)
            uow.tenants.create(globex)
        return acme.id, globex.id

    # -- every column type of every table, read back equal -----------------------------------
    def test_tenants_keep_every_value(self, tenancy_uow: TenancyUnitOfWorkFactory) -> None:
        rows = [Tenant.register(name=f"{awkward(i)} {i}", slug=f"t-{i}", at=stamp(i), is_active=i % 2 == 0,
                                settings=document(i)) for i in range(ROWS)]
        with tenancy_uow.system() as uow:
            uow.tenants.bulk_create(rows)
        with tenancy_uow.system() as uow:
            _read_back(rows, uow.tenants.get_by_id)

    def test_reliability_tables_keep_every_value(self, reliability_uow: ReliabilityUnitOfWorkFactory,
                                                 tenants: tuple[uuid.UUID, uuid.UUID]) -> None:
        acme, _ = tenants
        workflows = [new_workflow(acme, f"{awkward(i)} {i}", i, description=("", awkward(i))[i % 2],
                                  is_active=i % 2 == 0) for i in range(ROWS)]
        flow = workflows[0].id
        vendors = [new_vendor(f"{awkward(i)} {i}", i, circuit_breaker_state=list(BreakerState)[i % len(BreakerState)],
                              circuit_breaker_failure_count=i, failure_threshold=2**31 - 1, cool_down_seconds=1 + i,
                              opened_at=optional_stamp(i), rate_limit_per_minute=1 + i) for i in range(ROWS)]
        incidents = [new_incident(acme, flow, f"{awkward(i)}{i}", i, title=awkward(i),
                                  status=list(IncidentStatus)[i % len(IncidentStatus)],
                                  severity=list(Severity)[i % len(Severity)], event_count=(1, 2**31 - 1)[i % 2],
                                  correlation_id=optional_text(i)) for i in range(ROWS)]
        decisions = [new_decision(acme, incidents[i].id, i, decision_type=awkward(i), reasoning=awkward(i),
                                  confidence_score=(0.0, 1.0, 1 / 3)[i % 3], ai_model=awkward(i))
                     for i in range(ROWS)]
        actions = [new_action(acme, incidents[i].id, i, action_type=list(ActionType)[i % len(ActionType)],
                              status=list(ActionStatus)[i % len(ActionStatus)], parameters=document(i),
                              result=(None, {}, document(i))[i % 3], is_reversible=i % 2 == 1,
                              started_at=optional_stamp(i), finished_at=optional_stamp(i + 1)) for i in range(ROWS)]
        switches = [new_kill_switch(acme, (None, flow)[i % 2], i, is_active=i % 2 == 0, reason=awkward(i),
                                    activated_by=awkward(i), released_by=optional_text(i),
                                    released_at=optional_stamp(i)) for i in range(ROWS)]
        events = [new_event(acme, flow, f"{awkward(i)}{i}", i, event_type=f"type.{i}:x_y-z", payload=document(i),
                            correlation_id=optional_text(i), occurred_at=stamp(i)) for i in range(ROWS)]
        with reliability_uow.for_tenant(acme) as uow:
            uow.workflows.bulk_create(workflows)
            uow.vendors.bulk_create(vendors)
            uow.incidents.bulk_create(incidents)
            uow.decisions.bulk_create(decisions)
            uow.actions.bulk_create(actions)
            uow.kill_switches.bulk_create(switches)
            assert uow.events.append_many(events) == [(event, True) for event in events]
        with reliability_uow.for_tenant(acme) as uow:
            _read_back(workflows, uow.workflows.get_by_id)
            _read_back(vendors, uow.vendors.get_by_id)
            _read_back(incidents, uow.incidents.get_by_id)
            _read_back(decisions, uow.decisions.get_by_id)
            _read_back(actions, uow.actions.get_by_id)
            _read_back(switches, uow.kill_switches.get_by_id)
            _read_back(events, uow.events.get_by_id)
            assert [uow.events.get_by_idempotency_key(e.idempotency_key) for e in events] == events

    @pytest.mark.parametrize("shared", [False, True], ids=["values differ", "values shared"])
    def test_a_bulk_update_keeps_every_value(self, reliability_uow: ReliabilityUnitOfWorkFactory,
                                             tenants: tuple[uuid.UUID, uuid.UUID], shared: bool) -> None:
        """Many rows updated in one call, each with its own values or all with the same ones (a backend
        may send a value the rows share once): awkward text, `%` and braces included, read back equal."""
        acme, _ = tenants
        flow = new_workflow(acme, "flow", 0)
        texts = [*AWKWARD, "100% sure", "%s and %(name)s", "{0} {} {{x}}", "%%", "ends with %"]
        incidents = [new_incident(acme, flow.id, f"sig {i}", i, title="100% %s {0} \\ 'x'" if shared else texts[i],
                                  correlation_id=None if shared else optional_text(i),
                                  severity=list(Severity)[0 if shared else i % len(Severity)])
                     for i in range(len(texts))]
        with reliability_uow.for_tenant(acme) as uow:
            uow.workflows.create(flow)
            uow.incidents.bulk_create(incidents)
        times = [[stamp(0)] * (1 if shared else 1 + i % 3) for i in range(len(incidents))]
        with reliability_uow.for_tenant(acme) as uow:
            counted = uow.incidents.record_events_many(list(zip(incidents, times, strict=True)))
        assert [incident.event_count for incident in counted] == [1 + len(found) for found in times]
        with reliability_uow.for_tenant(acme) as uow:
            _read_back(counted, uow.incidents.get_by_id)

    def test_processing_tables_keep_every_value(self, processing_uow: ProcessingUnitOfWorkFactory) -> None:
        org = uuid.uuid4()
        purchases = [new_purchase(org, f"p_kind_{i}", i, name=f"{awkward(i)} {i}", auto=i % 2 == 0,
                                  status=list(SubscriptionStatus)[i % len(SubscriptionStatus)], config=document(i),
                                  price_amount=(0, BIG)[i % 2], price_unit=list(PriceUnit)[i % len(PriceUnit)],
                                  purchased_by=(None, uuid.uuid4())[i % 2]) for i in range(ROWS)]
        ups = [new_underwriting_processor(purchases[i], uuid.uuid4(), i, auto=i % 2 == 1, enabled=i % 2 == 0,
                                          config_override=document(i), effective_config=(document(i), {})[i % 2],
                                          current_executions_list=[uuid.uuid4() for _ in range(i % 3)])
               for i in range(ROWS)]
        executions = [new_execution(ups[i], document(i), i, status=list(ExecutionStatus)[i % len(ExecutionStatus)],
                                    enabled=i % 2 == 0, output=(None, {}, document(i))[i % 3],
                                    factors_delta=(document(i), None)[i % 2],
                                    document_revision_ids=AWKWARD[:i] if i % 4 else [],
                                    document_ids_hash=(None, "f" * 64)[i % 2], run_cost_cents=(None, 0, BIG)[i % 3],
                                    started_at=optional_stamp(i), completed_at=optional_stamp(i + 1),
                                    failed_code=optional_text(i), failed_reason=optional_text(i + 1),
                                    updated_execution_id=(None, uuid.uuid4())[i % 2],
                                    disabled_at=optional_stamp(i)) for i in range(ROWS)]
        with processing_uow.for_tenant(org) as uow:
            uow.processors.purchased.bulk_create(purchases)
            uow.processors.underwriting.bulk_create(ups)
            uow.executions.bulk_create(executions)
        with processing_uow.for_tenant(org) as uow:
            _read_back(purchases, uow.processors.purchased.get_by_id)
            _read_back(ups, uow.processors.underwriting.get_by_id)
            _read_back(executions, uow.executions.get_by_id)

    # -- the semantics of a bulk write --------------------------------------------------------
    @pytest.mark.parametrize("clash", ["slug of a stored tenant", "id of a stored tenant", "slug within the batch"])
    def test_a_taken_key_is_a_conflict_naming_it_and_nothing_is_written(
        self, tenancy_uow: TenancyUnitOfWorkFactory, clash: str
    ) -> None:
        stored = Tenant.register(name="Stored", slug="stored", at=T0)
        with tenancy_uow.system() as uow:
            uow.tenants.create(stored)
        rows = [Tenant.register(name=f"New {i}", slug=f"new-{i}", at=T0) for i in range(ROWS)]
        clashing = {
            "slug of a stored tenant": ("slug", rows[-1].model_copy(update={"slug": "stored"})),
            "id of a stored tenant": ("id", rows[-1].model_copy(update={"id": stored.id})),
            "slug within the batch": ("slug", rows[-1].model_copy(update={"slug": rows[0].slug})),
        }
        key, rows[-1] = clashing[clash]
        with tenancy_uow.system() as uow:
            with pytest.raises(Conflict) as raised:
                uow.tenants.bulk_create(rows)
            assert "already taken" in str(raised.value) and str(raised.value).count(key) >= 1
            assert uow.tenants.count() == 1  # and the unit of work goes on
            uow.tenants.create(Tenant.register(name="After", slug="after", at=T0))
        with tenancy_uow.system() as uow:
            assert sorted(t.slug for t in uow.tenants.list_and_count().items) == ["after", "stored"]

    def test_replays_are_told_from_new_events(self, reliability_uow: ReliabilityUnitOfWorkFactory,
                                              tenancy_uow: TenancyUnitOfWorkFactory,
                                              tenants: tuple[uuid.UUID, uuid.UUID]) -> None:
        acme, _ = tenants
        flow = new_workflow(acme, "Flow")
        first = [new_event(acme, flow.id, f"{awkward(i)}{i}", i) for i in range(ROWS)]
        with reliability_uow.for_tenant(acme) as uow:
            uow.workflows.create(flow)
            assert uow.events.append_many(first[::2]) == [(event, True) for event in first[::2]]
        retried = [new_event(acme, flow.id, event.idempotency_key, 99) for event in first]
        with reliability_uow.for_tenant(acme) as uow:
            results = uow.events.append_many(retried)
        # The stored event comes back for a replay; the new ones are stored as given.
        assert results == [(first[i], False) if i % 2 == 0 else (retried[i], True) for i in range(ROWS)]
        with reliability_uow.for_tenant(acme) as uow:
            assert uow.events.count() == ROWS

    def test_another_tenants_row_is_refused_before_anything_is_written(
        self, reliability_uow: ReliabilityUnitOfWorkFactory, tenants: tuple[uuid.UUID, uuid.UUID]
    ) -> None:
        acme, globex = tenants
        rows = [new_workflow(acme, f"Flow {i}") for i in range(ROWS - 1)] + [new_workflow(globex, "Theirs")]
        events = [new_event(acme, uuid.uuid4(), f"k{i}") for i in range(ROWS - 1)] + [
            new_event(globex, uuid.uuid4(), "theirs")]
        with reliability_uow.for_tenant(acme) as uow:
            with pytest.raises(TenantScopeRequired):
                uow.workflows.bulk_create(rows)
            with pytest.raises(TenantScopeRequired):
                uow.events.append_many(events)
            assert uow.workflows.count() == 0 and uow.events.count() == 0
        with reliability_uow.for_tenant(globex) as uow:
            assert uow.workflows.count() == 0 and uow.events.count() == 0

    def test_a_bulk_write_in_a_nested_unit_of_work_is_a_savepoint(
        self, tenancy_uow: TenancyUnitOfWorkFactory
    ) -> None:
        dropped = [Tenant.register(name=f"Dropped {i}", slug=f"dropped-{i}", at=T0) for i in range(ROWS)]
        kept = [Tenant.register(name=f"Kept {i}", slug=f"kept-{i}", at=T0) for i in range(ROWS)]
        with tenancy_uow.system() as outer:
            outer.tenants.bulk_create(kept[:ROWS // 2])
            with pytest.raises(RuntimeError), tenancy_uow.system() as inner:
                inner.tenants.bulk_create(dropped)
                assert inner.tenants.count() == ROWS + ROWS // 2
                raise RuntimeError("the nested block fails")
            assert outer.tenants.count() == ROWS // 2
            with outer:
                outer.tenants.bulk_create(kept[ROWS // 2:])
        with tenancy_uow.system() as uow:
            assert sorted(t.slug for t in uow.tenants.list_and_count().items) == sorted(t.slug for t in kept)
