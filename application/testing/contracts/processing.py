"""The processing ports' contract (spec 000): what every adapter of `ProcessorRepository` and
`ExecutionRepository` does, and what spans both (tenant isolation, the unit of work, bad input).

The suite is split by port (`processors.py`, `executions.py`); `ProcessingContract` runs them all.
Nothing here assumes SQL: an adapter that only keeps the promises passes.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest

from application.testing.contracts.executions import ExecutionRepositoryContract
from application.testing.contracts.processing_world import (
    BANK,
    CREDIT,
    T0,
    TRICKY_REVISIONS,
    Units,
    World,
    at,
    complete,
    new_execution,
    new_purchase,
    new_underwriting_processor,
    seed_world,
    submit,
)
from application.testing.contracts.processors import ProcessorRepositoryContract
from domain.processing.execution import ExecutionStatus
from domain.processing.subscriptions import SubscriptionStatus
from domain.shared.errors import (
    NotFound,
    TenantScopeRequired,
    UnitOfWorkInactive,
    ValidationError,
)
from domain.shared.sorting import Sort
from ports.processing import ProcessingUnitOfWork


class ProcessingContract(ProcessorRepositoryContract, ExecutionRepositoryContract):
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


__all__ = [
    "TRICKY_REVISIONS",
    "ExecutionRepositoryContract",
    "ProcessingContract",
    "ProcessorRepositoryContract",
    "World",
    "complete",
    "new_execution",
    "seed_world",
    "submit",
]
