"""The unit-of-work contract: what every backend's units of work do, whatever their context.

Work across contexts on one database is one transaction; nested blocks take savepoints; a unit of
work belongs to the thread or task that entered it; a repository kept after its block is dead.
Bind with `tenancy_uow` and `reliability_uow` fixtures on one empty database.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

from application.testing.contracts.reliability import new_workflow
from application.testing.contracts.tenancy import tenant
from domain.shared.errors import TenantScopeRequired, UnitOfWorkInactive, UnitOfWorkNotOwned, ValidationError
from ports.reliability import ReliabilityUnitOfWorkFactory
from ports.tenancy import TenancyUnitOfWorkFactory


class InjectedFailure(Exception):  # noqa: N818 - it is not an error of ours
    """A failure inside a unit of work."""


def _tenant_names(tenancy_uow: TenancyUnitOfWorkFactory) -> list[str]:
    with tenancy_uow.system() as uow:
        return sorted(t.name for t in uow.tenants.list_and_count().items)


def _workflow_names(reliability_uow: ReliabilityUnitOfWorkFactory, tenant_id: Any) -> list[str]:
    with reliability_uow.for_tenant(tenant_id) as uow:
        return sorted(w.name for w in uow.workflows.list_and_count().items)


def _in_thread(work: Any) -> BaseException | None:
    """Run `work` in another thread; what it raised, if anything."""
    raised: list[BaseException] = []

    def run() -> None:
        try:
            work()
        except BaseException as error:
            raised.append(error)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(30)
    return raised[0] if raised else None


class UnitOfWorkContract:
    # -- work across contexts -----------------------------------------------------------------
    def test_two_contexts_in_one_block_fail_together(self, tenancy_uow: TenancyUnitOfWorkFactory,
                                                      reliability_uow: ReliabilityUnitOfWorkFactory) -> None:
        acme = tenant("Acme", "acme")
        with pytest.raises(InjectedFailure), tenancy_uow.for_tenant(acme.id) as tenancy, \
                reliability_uow.for_tenant(acme.id) as reliability:
            tenancy.tenants.create(acme)
            reliability.workflows.create(new_workflow(acme.id, "Checkout"))
            raise InjectedFailure
        assert _tenant_names(tenancy_uow) == []
        assert _workflow_names(reliability_uow, acme.id) == []

    def test_two_contexts_in_one_block_commit_together(self, tenancy_uow: TenancyUnitOfWorkFactory,
                                                        reliability_uow: ReliabilityUnitOfWorkFactory) -> None:
        acme = tenant("Acme", "acme")
        with tenancy_uow.for_tenant(acme.id) as tenancy, reliability_uow.for_tenant(acme.id) as reliability:
            tenancy.tenants.create(acme)
            reliability.workflows.create(new_workflow(acme.id, "Checkout"))
            # Inside the joined transaction each context sees the other's uncommitted write.
            assert tenancy.tenants.get_by_id(acme.id) == acme
        assert _tenant_names(tenancy_uow) == ["Acme"]
        assert _workflow_names(reliability_uow, acme.id) == ["Checkout"]

    def test_a_failing_inner_context_rolls_back_to_its_savepoint(
        self, tenancy_uow: TenancyUnitOfWorkFactory, reliability_uow: ReliabilityUnitOfWorkFactory
    ) -> None:
        acme = tenant("Acme", "acme")
        with tenancy_uow.for_tenant(acme.id) as tenancy:
            tenancy.tenants.create(acme)
            with pytest.raises(InjectedFailure), reliability_uow.for_tenant(acme.id) as reliability:
                reliability.workflows.create(new_workflow(acme.id, "Lost"))
                raise InjectedFailure
            with reliability_uow.for_tenant(acme.id) as reliability:
                reliability.workflows.create(new_workflow(acme.id, "Kept"))
        assert _tenant_names(tenancy_uow) == ["Acme"]
        assert _workflow_names(reliability_uow, acme.id) == ["Kept"]

    def test_an_outer_failure_undoes_a_committed_inner_context(
        self, tenancy_uow: TenancyUnitOfWorkFactory, reliability_uow: ReliabilityUnitOfWorkFactory
    ) -> None:
        acme = tenant("Acme", "acme")
        with pytest.raises(InjectedFailure), tenancy_uow.for_tenant(acme.id) as tenancy:
            tenancy.tenants.create(acme)
            with reliability_uow.for_tenant(acme.id) as reliability:
                reliability.workflows.create(new_workflow(acme.id, "Checkout"))
            raise InjectedFailure
        assert _tenant_names(tenancy_uow) == []
        assert _workflow_names(reliability_uow, acme.id) == []

    def test_contexts_of_two_tenants_do_not_join(self, tenancy_uow: TenancyUnitOfWorkFactory,
                                                 reliability_uow: ReliabilityUnitOfWorkFactory) -> None:
        acme, globex = tenant("Acme", "acme"), tenant("Globex", "globex")
        with tenancy_uow.for_tenant(acme.id) as tenancy:
            tenancy.tenants.create(acme)
            with pytest.raises(TenantScopeRequired), reliability_uow.for_tenant(globex.id):
                pass
        assert _tenant_names(tenancy_uow) == ["Acme"]

    # -- repositories outside their block -----------------------------------------------------
    def test_a_repository_kept_after_its_block_is_inactive(self, tenancy_uow: TenancyUnitOfWorkFactory,
                                                           reliability_uow: ReliabilityUnitOfWorkFactory) -> None:
        acme = tenant("Acme", "acme")
        with tenancy_uow.system() as uow:
            kept = uow.tenants
            kept.create(acme)
        with pytest.raises(UnitOfWorkInactive):
            kept.get_by_id(acme.id)
        with pytest.raises(UnitOfWorkInactive):
            kept.create(tenant("Globex", "globex"))
        with pytest.raises(UnitOfWorkInactive):
            kept.list_and_count()
        with pytest.raises(UnitOfWorkInactive):
            _ = uow.tenants
        with reliability_uow.for_tenant(acme.id) as work:
            workflows = work.workflows
        with pytest.raises(UnitOfWorkInactive):
            workflows.create(new_workflow(acme.id))
        # Reopening the same unit of work gives live repositories again.
        with uow:
            assert uow.tenants.get_by_id(acme.id) == acme
        assert _tenant_names(tenancy_uow) == ["Acme"]

    def test_commit_and_rollback_need_an_open_block(self, tenancy_uow: TenancyUnitOfWorkFactory) -> None:
        uow = tenancy_uow.system()
        for method in (uow.commit, uow.rollback):
            with pytest.raises(UnitOfWorkInactive):
                method()

    def test_commit_with_commits_the_step_and_goes_on(self, tenancy_uow: TenancyUnitOfWorkFactory) -> None:
        acme, other = tenant("Acme", "acme"), tenant("Other", "other")
        with pytest.raises(InjectedFailure), tenancy_uow.system() as uow:
            assert uow.commit_with(lambda: uow.tenants.create(acme)) == acme
            uow.tenants.create(other)  # after the commit: a transaction of its own, rolled back
            raise InjectedFailure
        assert _tenant_names(tenancy_uow) == ["Acme"]

    def test_commit_with_refuses_what_it_cannot_run(self, tenancy_uow: TenancyUnitOfWorkFactory) -> None:
        with pytest.raises(UnitOfWorkInactive):
            tenancy_uow.system().commit_with(lambda: None)
        with tenancy_uow.system() as uow, pytest.raises(ValidationError, match="step"):
            uow.commit_with("not a step")  # type: ignore[arg-type]
        assert _tenant_names(tenancy_uow) == []

    # -- one owner ----------------------------------------------------------------------------
    def test_another_thread_cannot_use_an_active_unit_of_work(self, tenancy_uow: TenancyUnitOfWorkFactory) -> None:
        acme, intruder = tenant("Acme", "acme"), tenant("Intruder", "intruder")
        with tenancy_uow.system() as uow:
            uow.tenants.create(acme)
            repository = uow.tenants
            assert isinstance(_in_thread(lambda: repository.create(intruder)), UnitOfWorkNotOwned)
            assert isinstance(_in_thread(lambda: uow.tenants.get_by_id(acme.id)), UnitOfWorkNotOwned)
            assert isinstance(_in_thread(uow.commit), UnitOfWorkNotOwned)
            assert isinstance(_in_thread(uow.__enter__), UnitOfWorkNotOwned)
            assert uow.tenants.get_by_id(acme.id) == acme  # the owner goes on untouched
        assert _tenant_names(tenancy_uow) == ["Acme"]

    def test_two_threads_sharing_one_object_store_one_thing(self, tenancy_uow: TenancyUnitOfWorkFactory) -> None:
        shared = tenancy_uow.system()
        entered = threading.Event()
        release = threading.Event()

        def owner() -> None:
            with shared:
                shared.tenants.create(tenant("Owner", "owner"))
                entered.set()
                release.wait(30)

        thread = threading.Thread(target=owner)
        thread.start()
        assert entered.wait(30)
        try:
            with pytest.raises(UnitOfWorkNotOwned), shared:
                shared.tenants.create(tenant("Other", "other"))
        finally:
            release.set()
            thread.join(30)
        assert _tenant_names(tenancy_uow) == ["Owner"]

    def test_another_task_cannot_use_an_active_unit_of_work(self, tenancy_uow: TenancyUnitOfWorkFactory) -> None:
        acme = tenant("Acme", "acme")

        async def scenario() -> BaseException | None:
            with tenancy_uow.system() as uow:
                uow.tenants.create(acme)

                async def other_task() -> None:
                    uow.tenants.create(tenant("Intruder", "intruder"))

                try:
                    await asyncio.create_task(other_task())
                except UnitOfWorkNotOwned as error:
                    return error
            return None

        assert isinstance(asyncio.run(scenario()), UnitOfWorkNotOwned)
        assert _tenant_names(tenancy_uow) == ["Acme"]
