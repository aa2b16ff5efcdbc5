"""The `ProcessorRepository` contract (spec 000): the catalog, purchased and underwriting processors,
effective configuration and the current executions list."""

from __future__ import annotations

import copy
import uuid
from typing import Any

import pytest

from application.retry import retrying
from application.testing.contracts.processing_world import (
    BANK,
    BANK_CONFIG,
    CREDIT,
    EFFECTIVE_CONFIG_CASES,
    Units,
    WithWorld,
    World,
    at,
    new_execution,
    new_purchase,
    new_underwriting_processor,
    submit,
)
from application.testing.racing import race
from domain.processing.filters import PurchasedProcessorFilter, UnderwritingProcessorFilter
from domain.processing.processors import default_catalog
from domain.processing.subscriptions import PriceUnit, SubscriptionStatus
from domain.shared.errors import (
    ConcurrencyConflict,
    Conflict,
    NotFound,
    ValidationError,
)
from ports.processing import ProcessingUnitOfWork


class ProcessorRepositoryContract(WithWorld):
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
            # The stored effective config is the resolved one, whatever the caller put there.
            assert uow.processors.get_underwriting_processor_by_id(up.id) == up.model_copy(
                update={"effective_config": expected})
        assert default_catalog().get(BANK).CONFIG == BANK_CONFIG

    def test_the_stored_effective_config_follows_every_layer(self, processing_uow: Units, world: World) -> None:
        bought = new_purchase(world.acme, CREDIT, 5, config={"min_score": 650})
        cases = [new_underwriting_processor(bought, uuid.uuid4(), 6 + i, config_override={"bureau": f"b{i}"},
                                            effective_config={"stale": True}) for i in range(3)]

        def agrees(uow: ProcessingUnitOfWork) -> list[dict[str, Any]]:
            stored = [uow.processors.get_underwriting_processor_by_id(up.id) for up in cases]
            assert all(up is not None for up in stored)
            resolved = [uow.processors.get_effective_config(up.id) for up in cases]
            assert [up.effective_config for up in stored if up is not None] == resolved
            return resolved

        with processing_uow.for_tenant(world.acme) as uow:
            uow.processors.purchased.create(bought)
            uow.processors.underwriting.create(cases[0])
            uow.processors.underwriting.bulk_create(cases[1:])
            assert agrees(uow)[0] == {"bureau": "b0", "min_score": 650}
        with processing_uow.for_tenant(world.acme) as uow:
            stored = uow.processors.get_purchased_processor_by_id(bought.id)
            assert stored is not None
            uow.processors.purchased.update(stored.with_config({"min_score": 700}, at(9)))
            assert [config["min_score"] for config in agrees(uow)] == [700, 700, 700]
            first = uow.processors.get_underwriting_processor_by_id(cases[0].id)
            assert first is not None
            uow.processors.underwriting.update(first.with_override({"min_score": 1}, at(10)))
            assert agrees(uow)[0] == {"bureau": "experian", "min_score": 1}
        with processing_uow.for_tenant(world.acme) as uow:  # and it was all committed
            assert agrees(uow)[1] == {"bureau": "b1", "min_score": 700}

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

    def test_a_stale_expected_version_writes_nothing(self, processing_uow: Units, world: World) -> None:
        with processing_uow.for_tenant(world.acme) as uow:
            first, second = submit(uow, world.bank_up, {"n": 1}, 1), submit(uow, world.bank_up, {"n": 2}, 2)
            read = uow.processors.get_underwriting_processor_by_id(world.bank_up.id)
            assert read is not None
            assert uow.processors.append_to_current_executions_list(world.bank_up.id, first.id)
            assert uow.processors.append_to_current_executions_list(world.bank_up.id, first.id) is False
            with pytest.raises(ConcurrencyConflict):  # computed from the read before the append
                uow.processors.update_current_executions_list(world.bank_up.id, [second.id], read.version)
            with pytest.raises(ValidationError):
                uow.processors.append_to_current_executions_list(world.bank_up.id, world.their_up.id)
        with processing_uow.for_tenant(world.acme) as uow:
            stored = uow.processors.get_underwriting_processor_by_id(world.bank_up.id)
            assert stored is not None and stored.current_executions_list == [first.id]
            assert uow.processors.update_current_executions_list(world.bank_up.id, [second.id, first.id],
                                                                 expected_version=stored.version)

    APPEND_RACE_ROUNDS = 10
    """Rounds of 16 racing appends; a slow backend's binding may run fewer."""

    def test_concurrent_appends_are_never_lost(self, processing_uow: Units, world: World) -> None:
        for round_ in range(self.APPEND_RACE_ROUNDS):
            self._race_appends(processing_uow, world, round_)

    def _race_appends(self, processing_uow: Units, world: World, round_: int) -> None:
        with processing_uow.for_tenant(world.acme) as uow:
            runs = [submit(uow, world.bank_up, {"round": round_, "n": i}, i) for i in range(16)]
        def append(execution_id: uuid.UUID) -> None:
            def once() -> bool:
                with processing_uow.for_tenant(world.acme) as uow:
                    return uow.processors.append_to_current_executions_list(world.bank_up.id, execution_id)

            assert retrying(once, lost=(ConcurrencyConflict,))

        assert race(append, [run.id for run in runs]) == []
        with processing_uow.for_tenant(world.acme) as uow:
            stored = uow.processors.get_underwriting_processor_by_id(world.bank_up.id)
        assert stored is not None and {run.id for run in runs} <= set(stored.current_executions_list)

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
