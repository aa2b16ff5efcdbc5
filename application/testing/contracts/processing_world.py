"""What the processing contract suites share (spec 000): builders of records, a seeded world of two
organizations, and its fixture.

Conventions the suites pin down: getters return None or [] for a missing id or another organization's;
mutators raise `NotFound`; a bool says whether something was written (False: it already was so).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from domain.processing.execution import Execution, ExecutionStatus
from domain.processing.hashing import payload_hash
from domain.processing.processors import BankStatementProcessor
from domain.processing.subscriptions import PurchasedProcessor, UnderwritingProcessor
from ports.processing import ProcessingUnitOfWork, ProcessingUnitOfWorkFactory

T0 = datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)
RACE_WINDOW_SECONDS = 0.02
"""Racing units of work stay open this long after writing, so that they really overlap."""
BANK = BankStatementProcessor.name
CREDIT = "p_credit_report"
BANK_CONFIG: dict[str, Any] = dict(BankStatementProcessor.CONFIG)
TRICKY_REVISIONS = ["rev_1", 'quote " inside', "comma, inside", "{braces}", "back\\slash", "NULL", " spaced ", "é✓"]
"""Document revision ids that an array literal must quote and escape to keep."""

Units = ProcessingUnitOfWorkFactory
"""The unit-of-work factory of the context under test."""


def at(minutes: float = 0) -> datetime:
    return T0 + timedelta(minutes=minutes)


def new_purchase(org: uuid.UUID, processor: str = BANK, minutes: float = 0, **extra: Any) -> PurchasedProcessor:
    extra.setdefault("name", f"{processor} of {str(org)[:8]}")
    return PurchasedProcessor.new(organization_id=org, processor=processor, purchased_at=at(minutes),
                                  created_at=at(minutes), updated_at=at(minutes), **extra)


def new_underwriting_processor(purchased: PurchasedProcessor, underwriting_id: uuid.UUID, minutes: float = 0,
                               **extra: Any) -> UnderwritingProcessor:
    extra.setdefault("processor", purchased.processor)
    extra.setdefault("name", purchased.name)
    return UnderwritingProcessor.new(organization_id=purchased.organization_id, underwriting_id=underwriting_id,
                                     purchased_processor_id=purchased.id, created_at=at(minutes),
                                     updated_at=at(minutes), **extra)


def new_execution(up: UnderwritingProcessor, payload: dict[str, Any], minutes: float = 0,
                  **extra: Any) -> Execution:
    """An execution built directly, for the generic CRUD methods (`create_execution` builds its own)."""
    return Execution.new(organization_id=up.organization_id, underwriting_id=up.underwriting_id,
                         underwriting_processor_id=up.id, processor=up.processor, payload=payload,
                         payload_hash=payload_hash(payload), created_at=at(minutes), updated_at=at(minutes), **extra)


def submit(uow: ProcessingUnitOfWork, up: UnderwritingProcessor, payload: dict[str, Any], minutes: float = 0,
           documents: list[str] | None = None) -> Execution:
    return uow.executions.create_execution(up.underwriting_id, up.id, up.organization_id, up.processor, payload,
                                           document_revision_ids=documents or [], at=at(minutes))


def complete(uow: ProcessingUnitOfWork, execution: Execution, output: dict[str, Any], minutes: float = 0) -> Execution:
    """Run a pending execution to completion; the stored result."""
    uow.executions.update_execution_status(execution.id, ExecutionStatus.RUNNING, started_at=at(minutes))
    uow.executions.save_execution_result(execution.id, output, {"f_seen": True}, 25, at(minutes + 1))
    return uow.executions.get_by_id_or_raise(execution.id)


def fail(uow: ProcessingUnitOfWork, execution: Execution, minutes: float = 0) -> Execution:
    uow.executions.update_execution_status(execution.id, ExecutionStatus.RUNNING, started_at=at(minutes))
    uow.executions.update_execution_status(execution.id, ExecutionStatus.FAILED, completed_at=at(minutes + 1),
                                           failed_code="timeout", failed_reason="vendor timed out")
    return uow.executions.get_by_id_or_raise(execution.id)


@dataclass(frozen=True, slots=True)
class World:
    acme: uuid.UUID
    globex: uuid.UUID
    underwriting: uuid.UUID
    """An Acme underwriting case using both processors."""
    bank: PurchasedProcessor
    credit: PurchasedProcessor
    bank_up: UnderwritingProcessor
    credit_up: UnderwritingProcessor
    their_bank: PurchasedProcessor
    """Globex's."""
    their_up: UnderwritingProcessor
    """Globex's, on an underwriting id of its own."""


def seed_world(processing_uow: Units) -> World:
    acme, globex, underwriting = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    bank = new_purchase(acme, BANK, 0, auto=True, config={"currency": "EUR", "thresholds": {"nsf": 5}})
    credit = new_purchase(acme, CREDIT, 1)
    bank_up = new_underwriting_processor(bank, underwriting, 2, auto=True, config_override={"min_months": 6})
    credit_up = new_underwriting_processor(credit, underwriting, 3)
    their_bank = new_purchase(globex, BANK, 0)
    their_up = new_underwriting_processor(their_bank, uuid.uuid4(), 1)
    with processing_uow.for_tenant(acme) as uow:
        uow.processors.purchased.bulk_create([bank, credit])
        uow.processors.underwriting.bulk_create([bank_up, credit_up])
    with processing_uow.for_tenant(globex) as uow:
        uow.processors.purchased.create(their_bank)
        uow.processors.underwriting.create(their_up)
    return World(acme, globex, underwriting, bank, credit, bank_up, credit_up, their_bank, their_up)


EFFECTIVE_CONFIG_CASES: list[tuple[str, dict[str, Any], dict[str, Any], dict[str, Any]]] = [
    ("defaults only", {}, {}, BANK_CONFIG),
    ("mappings merge key by key", {"thresholds": {"nsf": 5}}, {"thresholds": {"negative_days": 2}},
     {**BANK_CONFIG, "thresholds": {"nsf": 5, "negative_days": 2}}),
    ("the right side wins", {"currency": "EUR"}, {"currency": "GBP"}, {**BANK_CONFIG, "currency": "GBP"}),
    ("an absent key keeps the left value", {"min_months": 6}, {"thresholds": {"nsf": 1}},
     {"min_months": 6, "currency": "USD", "thresholds": {"nsf": 1, "negative_days": 5}}),
    ("lists replace, never merge", {"banks": ["a", "b"], "rules": [{"a": 1}]}, {"banks": ["c"], "rules": [{"b": 2}]},
     {**BANK_CONFIG, "banks": ["c"], "rules": [{"b": 2}]}),
    ("null replaces and keeps the key", {}, {"currency": None, "thresholds": {"nsf": None}},
     {"min_months": 3, "currency": None, "thresholds": {"nsf": None, "negative_days": 5}}),
    ("a scalar replaces a mapping", {"thresholds": 7}, {}, {**BANK_CONFIG, "thresholds": 7}),
    ("a mapping replaces a scalar whole", {"thresholds": 7}, {"thresholds": {"nsf": 1}},
     {**BANK_CONFIG, "thresholds": {"nsf": 1}}),
    ("new keys at any depth", {"vendor": {"name": "plaid"}}, {"vendor": {"retry": {"max": 3}}, "x": 0},
     {**BANK_CONFIG, "vendor": {"name": "plaid", "retry": {"max": 3}}, "x": 0}),
    ("an empty mapping on the right changes nothing", {"thresholds": {"nsf": 9}}, {"thresholds": {}},
     {**BANK_CONFIG, "thresholds": {"nsf": 9, "negative_days": 5}}),
]


class WithWorld:
    """Bind with a `processing_uow` fixture on an empty database whose units of work use the default
    catalog (`domain.processing.processors.default_catalog()`)."""

    @pytest.fixture
    def world(self, processing_uow: Units) -> World:
        return seed_world(processing_uow)
