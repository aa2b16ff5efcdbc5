"""The processing ports' contract (spec 000): what every adapter of `ProcessorRepository` and
`ExecutionRepository` does.

The generic CRUD behaviour is pinned down by the tenancy contract on the same base classes; this suite
covers every spec method, the catalog, effective configuration, deduplication (also between racing
units of work), the execution lifecycle, supersession chains, activation, tenant isolation, versions,
rollback and bad input. Nothing here assumes SQL: an adapter that only keeps the promises passes.

Conventions the suite pins down: getters return None or [] for a missing id or another organization's;
mutators raise `NotFound`; a bool says whether something was written (False: it already was so).
"""

from __future__ import annotations

import copy
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from domain.processing.execution import Execution, ExecutionStatus
from domain.processing.filters import ExecutionFilter, PurchasedProcessorFilter, UnderwritingProcessorFilter
from domain.processing.hashing import document_set_hash, payload_hash
from domain.processing.processors import BankStatementProcessor, default_catalog
from domain.processing.subscriptions import PriceUnit, PurchasedProcessor, SubscriptionStatus, UnderwritingProcessor
from domain.shared.errors import (
    ConcurrencyConflict,
    Conflict,
    InvalidTransition,
    NotFound,
    TenantScopeRequired,
    UnitOfWorkInactive,
    ValidationError,
)
from domain.shared.pagination import CursorPageRequest
from domain.shared.sorting import Sort
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


class ProcessingContract:
    """Bind with a `processing_uow` fixture on an empty database whose units of work use the default
    catalog (`domain.processing.processors.default_catalog()`)."""

    @pytest.fixture
    def world(self, processing_uow: Units) -> World:
        return seed_world(processing_uow)

    # -- catalog ------------------------------------------------------------------------------
    def test_the_catalog_is_the_code(self, processing_uow: Units, world: World) -> None:
        expected = default_catalog().entries()
        with processing_uow.for_tenant(world.acme) as uow:
            entries = uow.processors.get_processor_catalog()
            assert BANK in uow.processors.catalog and "p_unknown" not in uow.processors.catalog
        assert entries == expected
        assert [entry.name for entry in entries] == [BANK, CREDIT]
        assert entries[0].config == BANK_CONFIG
        with processing_uow.system() as uow:  # code, not tenant data: any scope reads it
            assert uow.processors.get_processor_catalog() == expected

    # -- purchased processors -----------------------------------------------------------------
    def test_purchased_processor_round_trip(self, processing_uow: Units, world: World) -> None:
        buyer = uuid.uuid4()
        bought = new_purchase(world.acme, CREDIT, 5, price_amount=12_345_678_901, price_unit=PriceUnit.PAGE,
                              purchased_by=buyer, config={"nested": {"list": [1, 2.5, None, "x"]}, "flag": False})
        with processing_uow.for_tenant(world.acme) as uow:
            uow.processors.purchased.create(bought)
        with processing_uow.for_tenant(world.acme) as uow:
            found = uow.processors.get_purchased_processor_by_id(bought.id)
            assert found == bought
            assert found is not None and found.status is SubscriptionStatus.ACTIVE
            assert found.price_unit is PriceUnit.PAGE and found.purchased_at == at(5)
            assert uow.processors.get_purchased_processor_by_id(uuid.uuid4()) is None
            assert uow.processors.get_purchased_processor_by_id(world.bank.id) == world.bank

    def test_purchased_processors_by_organization(self, processing_uow: Units, world: World) -> None:
        manual = new_purchase(world.acme, "p_manual", 4)
        disabled_auto = new_purchase(world.acme, "p_disabled", 3, auto=True, status=SubscriptionStatus.DISABLED)
        deleted_auto = new_purchase(world.acme, "p_deleted", 2, auto=True, status=SubscriptionStatus.DELETED)
        with processing_uow.for_tenant(world.acme) as uow:
            uow.processors.purchased.bulk_create([manual, disabled_auto, deleted_auto])
        with processing_uow.for_tenant(world.acme) as uow:
            repository = uow.processors

            def names(enabled_only: bool = False, auto_only: bool = False) -> list[str]:
                found = repository.get_purchased_processors_by_organization(world.acme, enabled_only, auto_only)
                return [p.processor for p in found]

            assert names() == [BANK, CREDIT, "p_disabled", "p_manual"]  # oldest first, never deleted
            assert names(enabled_only=True) == [BANK, CREDIT, "p_manual"]
            assert names(auto_only=True) == [BANK, "p_disabled"]
            assert names(enabled_only=True, auto_only=True) == [BANK]
            assert repository.get_purchased_processors_by_organization(world.globex) == []
            assert repository.get_purchased_processors_by_organization(uuid.uuid4()) == []
            assert repository.purchased.count(PurchasedProcessorFilter(status=SubscriptionStatus.DELETED)) == 1
            assert repository.purchased.count(PurchasedProcessorFilter(auto=True)) == 3
        with processing_uow.for_tenant(world.globex) as uow:
            assert uow.processors.get_purchased_processors_by_organization(world.globex) == [world.their_bank]

    def test_processor_by_name(self, processing_uow: Units, world: World) -> None:
        old_disabled = new_purchase(world.acme, "p_flaky", 1, status=SubscriptionStatus.DISABLED)
        newer_active = new_purchase(world.acme, "p_flaky", 2)
        only_disabled = new_purchase(world.acme, "p_paused", 1, status=SubscriptionStatus.DISABLED)
        only_deleted = new_purchase(world.acme, "p_gone", 1, status=SubscriptionStatus.DELETED)
        with processing_uow.for_tenant(world.acme) as uow:
            uow.processors.purchased.bulk_create([old_disabled, newer_active, only_disabled, only_deleted])
        with processing_uow.for_tenant(world.acme) as uow:
            repository = uow.processors
            assert repository.get_processor_by_name(BANK, world.acme) == world.bank
            assert repository.get_processor_by_name("p_flaky", world.acme) == newer_active  # active first
            assert repository.get_processor_by_name("p_paused", world.acme) == only_disabled
            assert repository.get_processor_by_name("p_gone", world.acme) is None
            assert repository.get_processor_by_name("p_nothing", world.acme) is None
            assert repository.get_processor_by_name(BANK, world.globex) is None
            assert repository.get_processor_by_name(BANK.upper(), world.acme) is None  # names compare exactly

    # -- underwriting processors --------------------------------------------------------------
    def test_underwriting_processors(self, processing_uow: Units, world: World) -> None:
        paused = new_purchase(world.acme, "p_paused", 1)
        disabled_auto = new_underwriting_processor(paused, world.underwriting, 1, auto=True, enabled=False,
                                                   current_executions_list=[uuid.uuid4()])
        elsewhere = new_underwriting_processor(world.bank, uuid.uuid4(), 0)
        with processing_uow.for_tenant(world.acme) as uow:
            uow.processors.purchased.create(paused)
            uow.processors.underwriting.bulk_create([elsewhere, disabled_auto])
        with processing_uow.for_tenant(world.acme) as uow:
            repository = uow.processors

            def ids(enabled_only: bool = False, auto_only: bool = False) -> list[uuid.UUID]:
                return [up.id for up in repository.get_underwriting_processors(world.underwriting, enabled_only,
                                                                                auto_only)]

            assert ids() == [disabled_auto.id, world.bank_up.id, world.credit_up.id]  # oldest first
            assert ids(enabled_only=True) == [world.bank_up.id, world.credit_up.id]
            assert ids(auto_only=True) == [disabled_auto.id, world.bank_up.id]
            assert ids(True, True) == [world.bank_up.id]
            assert repository.get_underwriting_processors(world.their_up.underwriting_id) == []
            assert repository.get_underwriting_processors(uuid.uuid4()) == []
            assert repository.get_underwriting_processor_by_id(disabled_auto.id) == disabled_auto
            assert repository.get_underwriting_processor_by_id(world.their_up.id) is None
            assert repository.underwriting.count(UnderwritingProcessorFilter(underwriting_id=world.underwriting)) == 3
            with pytest.raises(Conflict, match="processor"):  # one per underwriting and processor
                repository.underwriting.create(new_underwriting_processor(world.bank, world.underwriting, 9))
            repository.underwriting.create(new_underwriting_processor(world.bank, uuid.uuid4(), 9))  # goes on
        with processing_uow.for_tenant(world.globex) as uow:  # another organization has its own key space
            uow.processors.underwriting.create(new_underwriting_processor(world.their_bank, world.underwriting))

    # -- effective configuration --------------------------------------------------------------
    @pytest.mark.parametrize(("case", "tenant", "override", "expected"), EFFECTIVE_CONFIG_CASES,
                             ids=[case[0] for case in EFFECTIVE_CONFIG_CASES])
    def test_effective_config_merges_catalog_tenant_and_override(
        self, processing_uow: Units, world: World, case: str, tenant: dict[str, Any],
        override: dict[str, Any], expected: dict[str, Any],
    ) -> None:
        # The parameters are shared between backends: copies go in, so nothing can alter them.
        bought = new_purchase(world.acme, BANK, 5, config=copy.deepcopy(tenant))
        up = new_underwriting_processor(bought, uuid.uuid4(), 6, config_override=copy.deepcopy(override),
                                        effective_config={"stale": "the stored value is not the answer"})
        with processing_uow.for_tenant(world.acme) as uow:
            uow.processors.purchased.create(bought)
            uow.processors.underwriting.create(up)
        with processing_uow.for_tenant(world.acme) as uow:
            resolved = uow.processors.get_effective_config(up.id)
            assert resolved == expected, case
            resolved["min_months"] = "mutated"  # the answer is a fresh value...
            if isinstance(resolved.get("thresholds"), dict):
                resolved["thresholds"]["nsf"] = "mutated"
            assert uow.processors.get_effective_config(up.id) == expected
            # ...and no layer was modified by the merge.
            assert uow.processors.get_purchased_processor_by_id(bought.id) == bought
            assert uow.processors.get_underwriting_processor_by_id(up.id) == up
        assert default_catalog().get(BANK).CONFIG == BANK_CONFIG

    def test_effective_config_of_the_world(self, processing_uow: Units, world: World) -> None:
        with processing_uow.for_tenant(world.acme) as uow:
            assert uow.processors.get_effective_config(world.bank_up.id) == {
                "min_months": 6, "currency": "EUR", "thresholds": {"nsf": 5, "negative_days": 5}}
            assert uow.processors.get_effective_config(world.credit_up.id) == {"bureau": "experian", "min_score": 600}

    def test_effective_config_needs_every_layer(self, processing_uow: Units, world: World) -> None:
        orphan = new_underwriting_processor(new_purchase(world.acme, BANK), uuid.uuid4())  # purchase never stored
        retired = new_purchase(world.acme, "p_retired")
        retired_up = new_underwriting_processor(retired, uuid.uuid4())
        with processing_uow.for_tenant(world.acme) as uow:
            uow.processors.purchased.create(retired)
            uow.processors.underwriting.bulk_create([orphan, retired_up])
        with processing_uow.for_tenant(world.acme) as uow:
            with pytest.raises(NotFound) as missing_purchase:
                uow.processors.get_effective_config(orphan.id)
            assert missing_purchase.value.key == orphan.purchased_processor_id
            with pytest.raises(NotFound) as not_in_catalog:
                uow.processors.get_effective_config(retired_up.id)
            assert not_in_catalog.value.key == "p_retired"
            with pytest.raises(NotFound):
                uow.processors.get_effective_config(uuid.uuid4())
            with pytest.raises(NotFound):
                uow.processors.get_effective_config(world.their_up.id)

    # -- current executions list --------------------------------------------------------------
    def test_update_current_executions_list(self, processing_uow: Units, world: World) -> None:
        with processing_uow.for_tenant(world.acme) as uow:
            first, second = submit(uow, world.bank_up, {"n": 1}, 1), submit(uow, world.bank_up, {"n": 2}, 2)
            credit = submit(uow, world.credit_up, {"n": 1}, 3)
        with processing_uow.for_tenant(world.globex) as uow:
            theirs = submit(uow, world.their_up, {"n": 1})
        with processing_uow.for_tenant(world.acme) as uow:
            processors = uow.processors
            assert processors.update_current_executions_list(world.bank_up.id, [second.id, first.id, second.id])
            stored = processors.get_underwriting_processor_by_id(world.bank_up.id)
            assert stored is not None and stored.current_executions_list == [second.id, first.id]  # order kept
            assert stored.version == 2 and stored.updated_at is not None
            assert processors.update_current_executions_list(world.bank_up.id, (second.id, first.id)) is False
            for foreign in (credit.id, theirs.id, uuid.uuid4()):
                with pytest.raises(ValidationError) as raised:
                    processors.update_current_executions_list(world.bank_up.id, [first.id, foreign])
                assert raised.value.field == "execution_ids" and str(foreign) in raised.value.message
            unchanged = processors.get_underwriting_processor_by_id(world.bank_up.id)
            assert unchanged is not None and unchanged.version == 2  # nothing written
            assert unchanged.current_executions_list == [second.id, first.id]
            assert processors.update_current_executions_list(world.bank_up.id, [])
            with pytest.raises(NotFound):
                processors.update_current_executions_list(uuid.uuid4(), [])
            with pytest.raises(NotFound):
                processors.update_current_executions_list(world.their_up.id, [])
        with processing_uow.for_tenant(world.acme) as uow:
            cleared = uow.processors.get_underwriting_processor_by_id(world.bank_up.id)
            assert cleared is not None and cleared.current_executions_list == [] and cleared.version == 3

    def test_a_long_current_executions_list(self, processing_uow: Units, world: World) -> None:
        executions = [new_execution(world.bank_up, {"n": i}, i / 100) for i in range(1200)]
        with processing_uow.for_tenant(world.acme) as uow:
            uow.executions.bulk_create(executions)
        wanted = [execution.id for execution in reversed(executions)]
        with processing_uow.for_tenant(world.acme) as uow:
            assert uow.processors.update_current_executions_list(world.bank_up.id, wanted)
        with processing_uow.for_tenant(world.acme) as uow:
            stored = uow.processors.get_underwriting_processor_by_id(world.bank_up.id)
            assert stored is not None and stored.current_executions_list == wanted

    # -- creation and deduplication -----------------------------------------------------------
    def test_create_execution(self, processing_uow: Units, world: World) -> None:
        payload = {"documents": [{"type": "bank_statement", "id": "d1"}], "z": 1, "a": [1.5, None]}
        with processing_uow.for_tenant(world.acme) as uow:
            created = submit(uow, world.bank_up, payload, 5, TRICKY_REVISIONS)
            plain = submit(uow, world.credit_up, {"ssn_last4": "1234"}, 6)
            given = uow.executions.create_execution(
                world.underwriting, world.credit_up.id, world.acme, CREDIT, {"x": 1}, "ab" * 32, ["r"], "cd" * 32,
                at=at(7),
            )
        assert created.payload_hash == payload_hash(payload) == payload_hash(dict(reversed(payload.items())))
        assert created.document_ids_hash == document_set_hash(TRICKY_REVISIONS)
        assert (created.status, created.enabled, created.version) == (ExecutionStatus.PENDING, True, 1)
        assert (created.created_at, created.updated_at, created.organization_id) == (at(5), at(5), world.acme)
        assert (created.processor, created.underwriting_id) == (BANK, world.underwriting)
        assert plain.document_revision_ids == [] and plain.document_ids_hash is None
        assert (given.payload_hash, given.document_ids_hash) == ("ab" * 32, "cd" * 32)  # given hashes are kept
        with processing_uow.for_tenant(world.acme) as uow:
            found = uow.executions.get_execution_by_id(created.id)
            assert found == created
            assert found is not None and found.status is ExecutionStatus.PENDING
            assert found.document_revision_ids == TRICKY_REVISIONS
            assert uow.executions.get_execution_by_id(plain.id) == plain
            assert uow.executions.get_execution_by_id(given.id) == given
            assert uow.executions.get_execution_by_id(uuid.uuid4()) is None

    def test_an_unknown_processor_is_the_catalogs_not_found(self, processing_uow: Units,
                                                            world: World) -> None:
        with processing_uow.for_tenant(world.acme) as uow:
            with pytest.raises(NotFound) as raised:
                uow.executions.create_execution(world.underwriting, world.bank_up.id, world.acme, "p_unknown",
                                                {"n": 1}, at=at())
            assert (raised.value.entity, raised.value.key) == ("Processor", "p_unknown")
            assert uow.executions.count() == 0

    @pytest.mark.parametrize("blocking", ["pending", "running", "completed"])
    def test_a_live_execution_of_the_payload_blocks_another(self, processing_uow: Units, world: World,
                                                            blocking: str) -> None:
        payload = {"documents": ["d1", "d2"]}
        with processing_uow.for_tenant(world.acme) as uow:
            first = submit(uow, world.bank_up, payload, 1)
            if blocking != "pending":
                uow.executions.update_execution_status(first.id, ExecutionStatus.RUNNING, started_at=at(2))
            if blocking == "completed":
                uow.executions.save_execution_result(first.id, {"ok": True}, {}, 1, at(3))
        with processing_uow.for_tenant(world.acme) as uow:
            with pytest.raises(Conflict) as raised:
                submit(uow, world.bank_up, {"documents": ["d1", "d2"]}, 4)
            assert raised.value.entity == "Execution"
            assert uow.executions.count() == 1
            # The unit of work goes on: the same payload elsewhere, and another payload here, are new.
            submit(uow, world.credit_up, payload, 5)
            submit(uow, world.bank_up, {"documents": ["d1"]}, 6)
        with processing_uow.for_tenant(world.globex) as uow:
            submit(uow, world.their_up, payload, 7)  # another organization's key space
        with processing_uow.for_tenant(world.acme) as uow:
            assert uow.executions.count() == 3
            with pytest.raises(Conflict):  # the generic create obeys the same key
                uow.executions.create(new_execution(world.bank_up, payload, 8))
            assert uow.executions.find_execution_by_hash(world.bank_up.id, payload_hash(payload)) == (
                uow.executions.get_execution_by_id(first.id))

    def test_a_failed_execution_does_not_block_a_retry(self, processing_uow: Units, world: World) -> None:
        payload = {"documents": ["d1"]}
        digest = payload_hash(payload)
        with processing_uow.for_tenant(world.acme) as uow:
            assert uow.executions.find_execution_by_hash(world.bank_up.id, digest) is None
            first_failure = fail(uow, submit(uow, world.bank_up, payload, 1), 2)
            assert uow.executions.find_execution_by_hash(world.bank_up.id, digest) == first_failure
            second_failure = fail(uow, submit(uow, world.bank_up, payload, 10), 11)
            assert uow.executions.find_execution_by_hash(world.bank_up.id, digest) == second_failure  # newest
            retry = submit(uow, world.bank_up, payload, 20)
            assert uow.executions.find_execution_by_hash(world.bank_up.id, digest) == retry  # live wins
            with pytest.raises(Conflict):
                submit(uow, world.bank_up, payload, 21)
        with processing_uow.for_tenant(world.acme) as uow:
            assert uow.executions.find_execution_by_hash(world.bank_up.id, digest) == retry
            assert uow.executions.find_execution_by_hash(world.credit_up.id, digest) is None
            assert uow.executions.count(ExecutionFilter(payload_hash=digest)) == 3
            done = complete(uow, retry, {"ok": True}, 30)
            assert uow.executions.find_execution_by_hash(world.bank_up.id, digest) == done
        with processing_uow.for_tenant(world.globex) as uow:
            assert uow.executions.find_execution_by_hash(world.bank_up.id, digest) is None

    @pytest.mark.parametrize("racers", [2, 10])
    def test_concurrent_submissions_of_one_payload_make_one_execution(
        self, processing_uow: Units, world: World, racers: int
    ) -> None:
        barrier = threading.Barrier(racers)
        outcomes: list[uuid.UUID | None] = []
        failures: list[BaseException] = []

        def race(index: int) -> None:
            try:
                barrier.wait(10)
                with processing_uow.for_tenant(world.acme) as uow:
                    created = submit(uow, world.bank_up, {"documents": ["same"]}, index)
                    time.sleep(RACE_WINDOW_SECONDS)
                outcomes.append(created.id)
            except Conflict:
                outcomes.append(None)
            except BaseException as error:  # reported below, not lost in the thread
                failures.append(error)

        threads = [threading.Thread(target=race, args=(i,)) for i in range(racers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert failures == []
        winners = [outcome for outcome in outcomes if outcome is not None]
        assert len(outcomes) == racers and len(winners) == 1
        with processing_uow.for_tenant(world.acme) as uow:
            assert uow.executions.count() == 1
            found = uow.executions.find_execution_by_hash(world.bank_up.id, payload_hash({"documents": ["same"]}))
            assert found is not None and found.id == winners[0]

    # -- lifecycle ----------------------------------------------------------------------------
    def test_an_execution_runs_to_completion(self, processing_uow: Units, world: World) -> None:
        with processing_uow.for_tenant(world.acme) as uow:
            created = submit(uow, world.bank_up, {"n": 1}, 1)
        with processing_uow.for_tenant(world.acme) as uow:
            assert uow.executions.update_execution_status(created.id, ExecutionStatus.RUNNING, started_at=at(2))
            running = uow.executions.get_by_id_or_raise(created.id)
            assert (running.status, running.started_at, running.updated_at, running.version) == (
                ExecutionStatus.RUNNING, at(2), at(2), 2)
            output = {"monthly_revenues": [45000.0, 51000.5], "nsf_count": 2, "notes": None}
            assert uow.executions.save_execution_result(created.id, output, {"f_avg_revenue": 48000.25}, 50, at(3))
        with processing_uow.for_tenant(world.acme) as uow:
            done = uow.executions.get_execution_by_id(created.id)
        assert done is not None and done.status is ExecutionStatus.COMPLETED and done.is_active
        assert (done.output, done.factors_delta, done.run_cost_cents) == (output, {"f_avg_revenue": 48000.25}, 50)
        assert (done.started_at, done.completed_at, done.updated_at, done.version) == (at(2), at(3), at(3), 3)
        assert (done.failed_code, done.failed_reason) == (None, None)

    def test_an_execution_fails(self, processing_uow: Units, world: World) -> None:
        with processing_uow.for_tenant(world.acme) as uow:
            created = submit(uow, world.bank_up, {"n": 1}, 1)
            uow.executions.update_execution_status(created.id, ExecutionStatus.RUNNING)  # the clock's time
            assert uow.executions.update_execution_status(
                created.id, ExecutionStatus.FAILED, completed_at=at(9), failed_code="vendor_down",
                failed_reason="HTTP 503 from the vendor")
        with processing_uow.for_tenant(world.acme) as uow:
            failed = uow.executions.get_by_id_or_raise(created.id)
        assert failed.status is ExecutionStatus.FAILED and not failed.is_active
        assert (failed.failed_code, failed.failed_reason, failed.completed_at) == (
            "vendor_down", "HTTP 503 from the vendor", at(9))
        assert failed.started_at is not None and failed.output is None and failed.version == 3

    @pytest.mark.parametrize(("path", "move", "from_state", "to_state"), [
        ([], "complete", "pending", "completed"),
        ([], ExecutionStatus.COMPLETED, "pending", "completed"),
        ([], ExecutionStatus.FAILED, "pending", "failed"),
        ([], ExecutionStatus.PENDING, "pending", "pending"),
        ([ExecutionStatus.RUNNING], ExecutionStatus.RUNNING, "running", "running"),
        ([ExecutionStatus.RUNNING], ExecutionStatus.PENDING, "running", "pending"),
        ([ExecutionStatus.RUNNING, "complete"], ExecutionStatus.RUNNING, "completed", "running"),
        ([ExecutionStatus.RUNNING, "complete"], "complete", "completed", "completed"),
        ([ExecutionStatus.RUNNING, ExecutionStatus.FAILED], ExecutionStatus.RUNNING, "failed", "running"),
        ([ExecutionStatus.RUNNING, ExecutionStatus.FAILED], "complete", "failed", "completed"),
    ])
    def test_illegal_moves_name_from_and_to_and_write_nothing(
        self, processing_uow: Units, world: World, path: list[Any], move: Any, from_state: str,
        to_state: str,
    ) -> None:
        def apply(uow: ProcessingUnitOfWork, step: Any, execution_id: uuid.UUID) -> None:
            if step == "complete":
                uow.executions.save_execution_result(execution_id, {"ok": True}, {}, 1, at(5))
            else:
                uow.executions.update_execution_status(execution_id, step)

        with processing_uow.for_tenant(world.acme) as uow:
            created = submit(uow, world.bank_up, {"n": 1}, 1)
            for step in path:
                apply(uow, step, created.id)
            before = uow.executions.get_by_id_or_raise(created.id)
            with pytest.raises(InvalidTransition) as raised:
                apply(uow, move, created.id)
            assert (raised.value.from_state, raised.value.to_state) == (from_state, to_state)
            assert uow.executions.get_by_id_or_raise(created.id) == before
        with processing_uow.for_tenant(world.acme) as uow:
            assert uow.executions.get_by_id_or_raise(created.id) == before

    def test_lifecycle_of_a_missing_execution(self, processing_uow: Units, world: World) -> None:
        with processing_uow.for_tenant(world.acme) as uow:
            with pytest.raises(NotFound):
                uow.executions.update_execution_status(uuid.uuid4(), ExecutionStatus.RUNNING)
            with pytest.raises(NotFound):
                uow.executions.save_execution_result(uuid.uuid4(), {}, {}, 0, at())

    # -- reads --------------------------------------------------------------------------------
    def test_executions_by_underwriting_and_their_count(self, processing_uow: Units, world: World) -> None:
        other_case = new_underwriting_processor(world.bank, uuid.uuid4(), 1)
        with processing_uow.for_tenant(world.acme) as uow:
            uow.processors.underwriting.create(other_case)
            late_bank = submit(uow, world.bank_up, {"n": 1}, 30)
            early_credit = submit(uow, world.credit_up, {"n": 1}, 10)
            middle_bank = complete(uow, submit(uow, world.bank_up, {"n": 2}, 20), {"ok": True}, 21)
            submit(uow, other_case, {"n": 1}, 5)
        with processing_uow.for_tenant(world.globex) as uow:
            submit(uow, world.their_up, {"n": 1})
        with processing_uow.for_tenant(world.acme) as uow:
            executions = uow.executions
            everything = executions.get_executions_by_underwriting(world.underwriting)
            assert [e.id for e in everything] == [early_credit.id, middle_bank.id, late_bank.id]  # oldest first
            assert everything[1] == middle_bank
            assert [e.id for e in executions.get_executions_by_underwriting(world.underwriting, BANK)] == [
                middle_bank.id, late_bank.id]
            assert executions.get_executions_by_underwriting(world.underwriting, BANK, ExecutionStatus.COMPLETED) == [
                middle_bank]
            assert executions.get_executions_by_underwriting(world.underwriting, None, ExecutionStatus.PENDING) == [
                early_credit, late_bank]
            assert executions.get_executions_by_underwriting(world.underwriting, "p_nothing") == []
            assert executions.get_executions_by_underwriting(world.their_up.underwriting_id) == []
            assert executions.get_execution_count(world.underwriting) == 3
            assert executions.get_execution_count(world.underwriting, BANK) == 2
            assert executions.get_execution_count(world.underwriting, CREDIT) == 1
            assert executions.get_execution_count(other_case.underwriting_id) == 1
            assert executions.get_execution_count(world.their_up.underwriting_id) == 0
            assert executions.get_execution_count(uuid.uuid4()) == 0

    def test_active_executions_follow_the_current_list(self, processing_uow: Units, world: World) -> None:
        with processing_uow.for_tenant(world.acme) as uow:
            first = complete(uow, submit(uow, world.bank_up, {"n": 1}, 1), {"monthly_revenues": [1]}, 2)
            second = complete(uow, submit(uow, world.bank_up, {"n": 2}, 3), {"monthly_revenues": [2]}, 4)
            running = submit(uow, world.bank_up, {"n": 3}, 5)
            uow.executions.update_execution_status(running.id, ExecutionStatus.RUNNING, started_at=at(6))
            disabled = complete(uow, submit(uow, world.bank_up, {"n": 4}, 7), {"monthly_revenues": [4]}, 8)
            uow.executions.deactivate_execution(disabled.id)
            complete(uow, submit(uow, world.bank_up, {"n": 5}, 9), {"monthly_revenues": [5]}, 10)  # not listed
            uow.processors.update_current_executions_list(world.bank_up.id, [second.id, running.id, disabled.id,
                                                                             first.id])
        with processing_uow.for_tenant(world.acme) as uow:
            assert uow.executions.get_active_executions(world.bank_up.id) == [second, first]  # the list's order
            assert uow.executions.get_active_executions(world.credit_up.id) == []
            assert uow.executions.get_active_executions(uuid.uuid4()) == []
            uow.executions.deactivate_execution(second.id)
            assert [e.id for e in uow.executions.get_active_executions(world.bank_up.id)] == [first.id]
            uow.executions.activate_execution(disabled.id)
            assert [e.id for e in uow.executions.get_active_executions(world.bank_up.id)] == [disabled.id, first.id]
        with processing_uow.for_tenant(world.globex) as uow:
            assert uow.executions.get_active_executions(world.bank_up.id) == []

    # -- supersession -------------------------------------------------------------------------
    def _three_runs(self, processing_uow: Units, world: World) -> list[Execution]:
        with processing_uow.for_tenant(world.acme) as uow:
            return [complete(uow, submit(uow, world.bank_up, {"run": i}, 10 * i), {"run": i}, 10 * i + 1)
                    for i in range(3)]

    def test_supersession_chains(self, processing_uow: Units, world: World) -> None:
        a, b, c = self._three_runs(processing_uow, world)
        with processing_uow.for_tenant(world.acme) as uow:
            assert uow.executions.mark_execution_superseded(a.id, b.id)
            assert uow.executions.mark_execution_superseded(b.id, c.id)
            unrelated = submit(uow, world.bank_up, {"run": "alone"}, 40)
        with processing_uow.for_tenant(world.acme) as uow:
            executions = uow.executions
            old = executions.get_by_id_or_raise(a.id)
            assert (old.updated_execution_id, old.enabled, old.version) == (b.id, False, a.version + 1)
            assert old.disabled_at is not None and not old.is_active
            assert executions.get_by_id_or_raise(c.id).updated_execution_id is None
            chain = executions.get_execution_chain(a.id)
            assert [e.id for e in chain] == [a.id, b.id, c.id]  # oldest first
            assert executions.get_execution_chain(b.id) == chain == executions.get_execution_chain(c.id)
            assert chain[0] == old
            assert executions.get_execution_chain(unrelated.id) == [unrelated]
            assert executions.get_execution_chain(uuid.uuid4()) == []
            # Already so: nothing written.
            assert executions.mark_execution_superseded(a.id, b.id) is False
            assert executions.get_by_id_or_raise(a.id) == old

    def test_a_chain_branches_and_joins(self, processing_uow: Units, world: World) -> None:
        a, b, c = self._three_runs(processing_uow, world)
        with processing_uow.for_tenant(world.acme) as uow:
            d = complete(uow, submit(uow, world.bank_up, {"run": 3}, 5), {"run": 3}, 6)  # older than b
            uow.executions.mark_execution_superseded(a.id, c.id)
            uow.executions.mark_execution_superseded(b.id, c.id)  # two executions replaced by one
            uow.executions.mark_execution_superseded(d.id, a.id)
        with processing_uow.for_tenant(world.acme) as uow:
            for member in (a, b, c, d):
                assert [e.id for e in uow.executions.get_execution_chain(member.id)] == [a.id, d.id, b.id, c.id]

    def test_supersession_is_re_pointed_after_a_rollback(self, processing_uow: Units, world: World) -> None:
        a, b, c = self._three_runs(processing_uow, world)
        with processing_uow.for_tenant(world.acme) as uow:
            uow.executions.mark_execution_superseded(a.id, b.id)
            uow.executions.activate_execution(a.id)  # pattern 5's rollback
            uow.executions.deactivate_execution(b.id)
            assert uow.executions.mark_execution_superseded(a.id, b.id)  # linked but active: disabled again
            assert uow.executions.mark_execution_superseded(a.id, c.id)  # the newest supersession stands
        with processing_uow.for_tenant(world.acme) as uow:
            assert uow.executions.get_by_id_or_raise(a.id).updated_execution_id == c.id
            assert [e.id for e in uow.executions.get_execution_chain(a.id)] == [a.id, c.id]
            assert [e.id for e in uow.executions.get_execution_chain(b.id)] == [b.id]

    def test_illegal_supersessions_write_nothing(self, processing_uow: Units, world: World) -> None:
        a, b, c = self._three_runs(processing_uow, world)
        with processing_uow.for_tenant(world.acme) as uow:
            credit = complete(uow, submit(uow, world.credit_up, {"run": 0}, 1), {"score": 700}, 2)
            uow.executions.mark_execution_superseded(a.id, b.id)
            uow.executions.mark_execution_superseded(b.id, c.id)
            before = {e.id: e for e in uow.executions.get_execution_chain(a.id)}
            for old, new in [(c, a), (b, a), (c, b), (a, a), (c, c), (a, credit), (credit, c)]:
                with pytest.raises(InvalidTransition):
                    uow.executions.mark_execution_superseded(old.id, new.id)
            with pytest.raises(NotFound):
                uow.executions.mark_execution_superseded(uuid.uuid4(), a.id)
            with pytest.raises(NotFound):
                uow.executions.mark_execution_superseded(a.id, uuid.uuid4())
            assert {e.id: e for e in uow.executions.get_execution_chain(a.id)} == before
            assert uow.executions.get_by_id_or_raise(credit.id) == credit
        with processing_uow.for_tenant(world.acme) as uow:
            assert {e.id: e for e in uow.executions.get_execution_chain(c.id)} == before

    # -- activation ---------------------------------------------------------------------------
    def test_activation(self, processing_uow: Units, world: World) -> None:
        with processing_uow.for_tenant(world.acme) as uow:
            execution = complete(uow, submit(uow, world.bank_up, {"n": 1}), {"ok": True}, 1)
            assert uow.executions.activate_execution(execution.id) is False  # already enabled
            assert uow.executions.deactivate_execution(execution.id)
            disabled = uow.executions.get_by_id_or_raise(execution.id)
            assert not disabled.enabled and disabled.disabled_at is not None
            assert disabled.version == execution.version + 1
            assert uow.executions.deactivate_execution(execution.id) is False
            assert uow.executions.get_by_id_or_raise(execution.id) == disabled  # the first disabled_at stands
        with processing_uow.for_tenant(world.acme) as uow:
            assert uow.executions.activate_execution(execution.id)
            enabled = uow.executions.get_by_id_or_raise(execution.id)
            assert enabled.enabled and enabled.disabled_at is None and enabled.is_active
            for call in (uow.executions.activate_execution, uow.executions.deactivate_execution):
                with pytest.raises(NotFound):
                    call(uuid.uuid4())

    # -- generic CRUD on executions -----------------------------------------------------------
    def test_bulk_create_and_list_executions(self, processing_uow: Units, world: World) -> None:
        batch = [new_execution(world.bank_up if i % 3 else world.credit_up, {"n": i}, i / 100,
                               document_revision_ids=TRICKY_REVISIONS[: i % 9]) for i in range(2100)]
        with processing_uow.for_tenant(world.acme) as uow:
            assert uow.executions.bulk_create(batch) == batch
        with processing_uow.for_tenant(world.acme) as uow:
            assert uow.executions.count() == 2100
            assert uow.executions.count(ExecutionFilter(processor=CREDIT)) == 700
            for index in (0, 8, 1337, 2099):
                assert uow.executions.get_by_id_or_raise(batch[index].id) == batch[index]
            walked: list[uuid.UUID] = []
            cursor: str | None = None
            bank_only = ExecutionFilter(underwriting_processor_id=world.bank_up.id)
            for _ in range(10):
                page = uow.executions.list_by_cursor(bank_only, Sort.parse("-created_at"),
                                                     CursorPageRequest(limit=500, after=cursor))
                walked.extend(e.id for e in page.items)
                cursor = page.next_cursor
                if cursor is None:
                    break
            assert walked == [e.id for e in reversed(batch) if e.underwriting_processor_id == world.bank_up.id]

    def test_bulk_create_obeys_the_deduplication_key(self, processing_uow: Units, world: World) -> None:
        failed = [new_execution(world.bank_up, {"same": True}, i, status=ExecutionStatus.FAILED) for i in range(3)]
        live = new_execution(world.bank_up, {"same": True}, 5)
        with processing_uow.for_tenant(world.acme) as uow:
            uow.executions.bulk_create([*failed, live])  # failed ones never count
            for batch in ([new_execution(world.bank_up, {"n": 1}), new_execution(world.bank_up, {"same": True})],
                          [new_execution(world.bank_up, {"twice": 1}), new_execution(world.bank_up, {"twice": 1})]):
                with pytest.raises(Conflict):
                    uow.executions.bulk_create(batch)
            assert uow.executions.count() == 4  # all or nothing
        with processing_uow.for_tenant(world.acme) as uow:
            assert uow.executions.count() == 4
            with pytest.raises(Conflict):  # an update into a live status obeys the key too
                uow.executions.update(failed[0].evolve(status=ExecutionStatus.RUNNING))
            assert uow.executions.get_by_id_or_raise(failed[0].id) == failed[0]

    # -- versions -----------------------------------------------------------------------------
    def test_stale_updates_are_concurrency_conflicts(self, processing_uow: Units, world: World) -> None:
        with processing_uow.for_tenant(world.acme) as uow:
            execution = submit(uow, world.bank_up, {"n": 1})
        changes: list[tuple[Callable[[ProcessingUnitOfWork], Any], Any]] = [
            (lambda u: u.processors.purchased, world.bank.move_to(SubscriptionStatus.DISABLED, at(1))),
            (lambda u: u.processors.underwriting, world.bank_up.evolve(enabled=False, updated_at=at(1))),
            (lambda u: u.executions, execution.start(at(1))),
        ]
        for repository, changed in changes:
            with processing_uow.for_tenant(world.acme) as uow:
                assert repository(uow).update(changed).version == 2
            with processing_uow.for_tenant(world.acme) as uow, pytest.raises(ConcurrencyConflict):
                repository(uow).update(changed)
            with processing_uow.for_tenant(world.acme) as uow, pytest.raises(ConcurrencyConflict):
                repository(uow).delete(changed.id, expected_version=1)
            with processing_uow.for_tenant(world.acme) as uow, pytest.raises(NotFound):
                repository(uow).update(changed.model_copy(update={"id": uuid.uuid4()}))
        with processing_uow.for_tenant(world.acme) as uow:
            # The spec methods read and write through the same version check.
            assert uow.executions.save_execution_result(execution.id, {"ok": True}, {}, 1, at(2))
            assert uow.executions.get_by_id_or_raise(execution.id).version == 3
            assert uow.processors.update_current_executions_list(world.bank_up.id, [execution.id])
            assert uow.processors.get_underwriting_processor_by_id(world.bank_up.id) is not None

    # -- tenant isolation ---------------------------------------------------------------------
    def test_another_organizations_records_are_out_of_reach(self, processing_uow: Units,
                                                            world: World) -> None:
        with processing_uow.for_tenant(world.globex) as uow:
            old = complete(uow, submit(uow, world.their_up, {"n": 1}, 1), {"ok": 1}, 2)
            new = complete(uow, submit(uow, world.their_up, {"n": 2}, 3), {"ok": 2}, 4)
            uow.executions.mark_execution_superseded(old.id, new.id)
            uow.processors.update_current_executions_list(world.their_up.id, [new.id])
            theirs = uow.executions.get_by_id_or_raise(new.id)
        with processing_uow.for_tenant(world.acme) as uow:
            processors, executions = uow.processors, uow.executions
            assert processors.get_purchased_processor_by_id(world.their_bank.id) is None
            assert processors.get_underwriting_processor_by_id(world.their_up.id) is None
            assert processors.purchased.exists(world.their_bank.id) is False
            assert world.their_up.id not in {up.id for up in processors.underwriting.list_and_count().items}
            assert executions.get_execution_by_id(new.id) is None
            assert executions.get_active_executions(world.their_up.id) == []
            assert executions.get_execution_chain(old.id) == []
            assert executions.find_execution_by_hash(world.their_up.id, new.payload_hash) is None
            assert executions.get_executions_by_underwriting(world.their_up.underwriting_id) == []
            assert executions.get_execution_count(world.their_up.underwriting_id) == 0
            assert executions.list_by_cursor().items == []
            missing: list[Callable[[], object]] = [
                lambda: processors.get_effective_config(world.their_up.id),
                lambda: processors.update_current_executions_list(world.their_up.id, []),
                lambda: executions.update_execution_status(new.id, ExecutionStatus.RUNNING),
                lambda: executions.save_execution_result(new.id, {}, {}, 0, at()),
                lambda: executions.mark_execution_superseded(new.id, old.id),
                lambda: executions.activate_execution(old.id),
                lambda: executions.deactivate_execution(new.id),
                lambda: executions.get_by_id_or_raise(new.id),
                lambda: processors.purchased.delete(world.their_bank.id),
                lambda: executions.delete(new.id),
            ]
            for call in missing:
                with pytest.raises(NotFound):
                    call()
            intrusions: list[Callable[[], object]] = [
                lambda: processors.purchased.create(new_purchase(world.globex, CREDIT)),
                lambda: processors.purchased.update(world.their_bank.move_to(SubscriptionStatus.DELETED, at(9))),
                lambda: processors.underwriting.create(new_underwriting_processor(world.their_bank, uuid.uuid4())),
                lambda: processors.underwriting.bulk_create([
                    new_underwriting_processor(world.bank, uuid.uuid4()),
                    new_underwriting_processor(world.their_bank, uuid.uuid4())]),
                lambda: executions.create(new_execution(world.their_up, {"n": 9})),
                lambda: executions.update(theirs.deactivate(at(9))),
                lambda: executions.create_execution(world.their_up.underwriting_id, world.their_up.id, world.globex,
                                                    BANK, {"n": 9}, at=at()),
            ]
            for call in intrusions:
                with pytest.raises(TenantScopeRequired):
                    call()
            assert processors.underwriting.count() == 2 and executions.count() == 0
        with processing_uow.for_tenant(world.globex) as uow:
            assert uow.executions.get_active_executions(world.their_up.id) == [theirs]
            assert [e.id for e in uow.executions.get_execution_chain(new.id)] == [old.id, new.id]
            assert uow.processors.get_purchased_processor_by_id(world.their_bank.id) == world.their_bank

    @pytest.mark.parametrize("call", [
        lambda uow: uow.processors.get_purchased_processor_by_id(uuid.uuid4()),
        lambda uow: uow.processors.get_purchased_processors_by_organization(uuid.uuid4()),
        lambda uow: uow.processors.get_processor_by_name(BANK, uuid.uuid4()),
        lambda uow: uow.processors.get_underwriting_processor_by_id(uuid.uuid4()),
        lambda uow: uow.processors.get_underwriting_processors(uuid.uuid4()),
        lambda uow: uow.processors.update_current_executions_list(uuid.uuid4(), []),
        lambda uow: uow.processors.get_effective_config(uuid.uuid4()),
        lambda uow: uow.processors.purchased.count(),
        lambda uow: uow.processors.underwriting.list_and_count(),
        lambda uow: uow.executions.create_execution(uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), BANK, {}, at=T0),
        lambda uow: uow.executions.find_execution_by_hash(uuid.uuid4(), "0" * 64),
        lambda uow: uow.executions.update_execution_status(uuid.uuid4(), ExecutionStatus.RUNNING),
        lambda uow: uow.executions.get_execution_by_id(uuid.uuid4()),
        lambda uow: uow.executions.get_active_executions(uuid.uuid4()),
        lambda uow: uow.executions.get_executions_by_underwriting(uuid.uuid4()),
        lambda uow: uow.executions.get_execution_chain(uuid.uuid4()),
        lambda uow: uow.executions.activate_execution(uuid.uuid4()),
        lambda uow: uow.executions.get_execution_count(uuid.uuid4()),
    ])
    def test_processing_repositories_refuse_system_scope(self, processing_uow: Units,
                                                         call: Callable[[ProcessingUnitOfWork], object]) -> None:
        with processing_uow.system() as uow, pytest.raises(TenantScopeRequired):
            call(uow)

    # -- the unit of work ---------------------------------------------------------------------
    def test_a_failing_unit_of_work_leaves_nothing(self, processing_uow: Units, world: World) -> None:
        a, b, _ = self._three_runs(processing_uow, world)
        with processing_uow.for_tenant(world.acme) as uow:
            before_up = uow.processors.get_underwriting_processor_by_id(world.bank_up.id)
        payload = {"documents": ["rolled back"]}
        with pytest.raises(RuntimeError), processing_uow.for_tenant(world.acme) as uow:
            uow.processors.purchased.create(new_purchase(world.acme, "p_new"))
            uow.processors.underwriting.create(new_underwriting_processor(world.bank, uuid.uuid4()))
            fresh = complete(uow, submit(uow, world.bank_up, payload, 50), {"ok": True}, 51)
            uow.processors.update_current_executions_list(world.bank_up.id, [fresh.id, b.id])
            uow.executions.mark_execution_superseded(a.id, b.id)
            uow.executions.deactivate_execution(b.id)
            raise RuntimeError("the use case fails")
        with processing_uow.for_tenant(world.acme) as uow:
            assert uow.processors.purchased.count() == 2 and uow.processors.underwriting.count() == 2
            assert uow.executions.count() == 3
            assert uow.processors.get_underwriting_processor_by_id(world.bank_up.id) == before_up
            assert uow.executions.get_by_id_or_raise(a.id) == a and uow.executions.get_by_id_or_raise(b.id) == b
            submit(uow, world.bank_up, payload, 60)  # the deduplication key is free again

    def test_savepoints_and_explicit_rollback(self, processing_uow: Units, world: World) -> None:
        with processing_uow.for_tenant(world.acme) as uow:
            kept = submit(uow, world.bank_up, {"n": "kept"})
            uow.commit()
            submit(uow, world.bank_up, {"n": "dropped"})
            uow.rollback()
            with pytest.raises(RuntimeError), uow:
                submit(uow, world.bank_up, {"n": "inner"})
                raise RuntimeError("the nested part fails")
            inner = submit(uow, world.bank_up, {"n": "inner"})
        with processing_uow.for_tenant(world.acme) as uow:
            assert {e.id for e in uow.executions.get_executions_by_underwriting(world.underwriting)} == {
                kept.id, inner.id}

    def test_repositories_outside_the_block_fail_loudly(self, processing_uow: Units) -> None:
        uow = processing_uow.system()
        for call in (lambda: uow.processors.get_processor_catalog(), lambda: uow.executions.count()):
            with pytest.raises(UnitOfWorkInactive):
                call()
        with uow:
            uow.processors.get_processor_catalog()
        with pytest.raises(UnitOfWorkInactive):
            uow.executions.get_execution_by_id(uuid.uuid4())

    # -- bad input ----------------------------------------------------------------------------
    def test_bad_input_names_the_field(self, processing_uow: Units, world: World) -> None:
        naive = datetime(2026, 3, 1, 12, 0)
        with processing_uow.for_tenant(world.acme) as uow:
            existing = submit(uow, world.bank_up, {"n": 1})
            bad: Any = uow  # the calls below pass wrong types on purpose
            p, x = bad.processors, bad.executions
            up, uw, e = world.bank_up, world.underwriting, existing.id

            def create(**changes: Any) -> Callable[[], object]:
                arguments: dict[str, Any] = {
                    "underwriting_id": uw, "underwriting_processor_id": up.id, "organization_id": world.acme,
                    "processor_name": BANK, "payload": {"n": 2}, "at": at(), **changes}
                return lambda: x.create_execution(**arguments)

            cases: list[tuple[str, Callable[[], object]]] = [
                ("purchased_processor_id", lambda: p.get_purchased_processor_by_id("nope")),
                ("org_id", lambda: p.get_purchased_processors_by_organization(42)),
                ("enabled_only", lambda: p.get_purchased_processors_by_organization(world.acme, "yes")),
                ("auto_only", lambda: p.get_purchased_processors_by_organization(world.acme, False, 1)),
                ("processor_name", lambda: p.get_processor_by_name(7, world.acme)),
                ("org_id", lambda: p.get_processor_by_name(BANK, "acme")),
                ("up_id", lambda: p.get_underwriting_processor_by_id(None)),
                ("underwriting_id", lambda: p.get_underwriting_processors("x")),
                ("enabled_only", lambda: p.get_underwriting_processors(uw, None)),
                ("up_id", lambda: p.update_current_executions_list("x", [])),
                ("execution_ids", lambda: p.update_current_executions_list(up.id, str(e))),
                ("execution_ids", lambda: p.update_current_executions_list(up.id, ["nope"])),
                ("execution_ids", lambda: p.update_current_executions_list(up.id, None)),
                ("up_id", lambda: p.get_effective_config(3.5)),
                ("underwriting_id", create(underwriting_id="x")),
                ("underwriting_processor_id", create(underwriting_processor_id=1)),
                ("organization_id", create(organization_id=None)),
                ("processor_name", create(processor_name=None)),
                ("payload", create(payload=[1, 2])),
                ("payload", create(payload={"k": object()})),
                ("payload", create(payload={"nan": float("nan")})),
                ("payload_hash", create(payload_hash="AB" * 32)),
                ("payload_hash", create(payload_hash="a" * 63)),
                ("payload_hash", create(payload_hash=12)),
                ("document_revision_ids", create(document_revision_ids="rev_1")),
                ("document_revision_ids", create(document_revision_ids=[1, 2])),
                ("document_ids_hash", create(document_ids_hash="xyz")),
                ("at", create(at=naive)),
                ("at", create(at="now")),
                ("up_id", lambda: x.find_execution_by_hash("x", "0" * 64)),
                ("payload_hash", lambda: x.find_execution_by_hash(up.id, "short")),
                ("exec_id", lambda: x.update_execution_status("x", ExecutionStatus.RUNNING)),
                ("status", lambda: x.update_execution_status(e, "done")),
                ("started_at", lambda: x.update_execution_status(e, ExecutionStatus.RUNNING, started_at=naive)),
                ("started_at", lambda: x.update_execution_status(e, ExecutionStatus.FAILED, started_at=at())),
                ("completed_at", lambda: x.update_execution_status(e, ExecutionStatus.RUNNING, completed_at=at())),
                ("failed_code", lambda: x.update_execution_status(e, ExecutionStatus.RUNNING, failed_code="x")),
                ("failed_reason", lambda: x.update_execution_status(e, ExecutionStatus.COMPLETED, failed_reason="x")),
                ("failed_code", lambda: x.update_execution_status(e, ExecutionStatus.FAILED, failed_code=3)),
                ("exec_id", lambda: x.save_execution_result(None, {}, {}, 1, at())),
                ("output", lambda: x.save_execution_result(e, "x", {}, 1, at())),
                ("factors_delta", lambda: x.save_execution_result(e, {}, None, 1, at())),
                ("run_cost_cents", lambda: x.save_execution_result(e, {}, {}, -1, at())),
                ("run_cost_cents", lambda: x.save_execution_result(e, {}, {}, True, at())),
                ("run_cost_cents", lambda: x.save_execution_result(e, {}, {}, 1.5, at())),
                ("completed_at", lambda: x.save_execution_result(e, {}, {}, 1, naive)),
                ("exec_id", lambda: x.get_execution_by_id(42)),
                ("up_id", lambda: x.get_active_executions("x")),
                ("uw_id", lambda: x.get_executions_by_underwriting("x")),
                ("processor", lambda: x.get_executions_by_underwriting(uw, 5)),
                ("status", lambda: x.get_executions_by_underwriting(uw, None, "done")),
                ("old_id", lambda: x.mark_execution_superseded("x", e)),
                ("new_id", lambda: x.mark_execution_superseded(e, "x")),
                ("exec_id", lambda: x.get_execution_chain("x")),
                ("exec_id", lambda: x.activate_execution("x")),
                ("exec_id", lambda: x.deactivate_execution(1)),
                ("uw_id", lambda: x.get_execution_count("x")),
                ("processor", lambda: x.get_execution_count(uw, 1)),
                ("sort", lambda: x.list_and_count(sort=Sort.parse("payload"))),
                ("entity", lambda: x.create(world.bank)),
                ("entity", lambda: p.purchased.create(world.bank_up)),
            ]
            for field, call in cases:
                with pytest.raises(ValidationError) as raised:
                    call()
                assert raised.value.field.split(".")[0] == field, (field, raised.value)
            assert uow.executions.get_by_id_or_raise(e) == existing and uow.executions.count() == 1
            assert uow.processors.purchased.count() == 2
