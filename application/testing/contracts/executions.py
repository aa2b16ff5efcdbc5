"""The `ExecutionRepository` contract (spec 000): creation and deduplication (also between racing
units of work), the lifecycle, reads, supersession chains, activation, generic CRUD and versions."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from application.testing.contracts.processing_world import (
    BANK,
    CREDIT,
    RACE_WINDOW_SECONDS,
    TRICKY_REVISIONS,
    Units,
    WithWorld,
    World,
    at,
    complete,
    fail,
    new_execution,
    new_underwriting_processor,
    submit,
)
from domain.processing.execution import Execution, ExecutionStatus
from domain.processing.filters import ExecutionFilter
from domain.processing.hashing import document_set_hash, payload_hash
from domain.processing.subscriptions import SubscriptionStatus
from domain.shared.errors import (
    ConcurrencyConflict,
    Conflict,
    InvalidTransition,
    NotFound,
)
from domain.shared.pagination import CursorPageRequest
from domain.shared.sorting import Sort
from ports.processing import ProcessingUnitOfWork


class ExecutionRepositoryContract(WithWorld):
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
