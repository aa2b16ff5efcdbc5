"""The after-commit hooks of units of work: run once the transaction has committed, never for
work that was rolled back. Bind with `tenancy_uow` and `reliability_uow` on one empty database."""

from __future__ import annotations

import logging

import pytest

from application.testing.contracts.reliability import new_workflow
from application.testing.contracts.tenancy import tenant
from application.testing.contracts.unit_of_work import InjectedFailure
from ports.reliability import ReliabilityUnitOfWorkFactory
from ports.tenancy import TenancyUnitOfWorkFactory


class AfterCommitContract:
    def test_a_hook_runs_after_the_commit_and_sees_the_committed_data(
            self, tenancy_uow: TenancyUnitOfWorkFactory) -> None:
        acme = tenant("Acme", "acme")
        seen: list[object] = []

        def read_back() -> None:
            with tenancy_uow.system() as other:
                seen.append(other.tenants.get_by_id(acme.id))

        with tenancy_uow.for_tenant(acme.id) as uow:
            uow.tenants.create(acme)
            uow.after_commit(read_back)
            assert seen == []
        assert [found.id for found in seen] == [acme.id]  # type: ignore[attr-defined]

    def test_a_rolled_back_block_runs_no_hook(self, tenancy_uow: TenancyUnitOfWorkFactory) -> None:
        ran: list[str] = []
        with pytest.raises(InjectedFailure), tenancy_uow.system() as uow:
            uow.after_commit(lambda: ran.append("hook"))
            raise InjectedFailure
        assert ran == []

    def test_a_joined_block_s_hook_waits_for_the_outer_commit(
            self, tenancy_uow: TenancyUnitOfWorkFactory, reliability_uow: ReliabilityUnitOfWorkFactory) -> None:
        acme = tenant("Acme", "acme")
        ran: list[str] = []
        with tenancy_uow.for_tenant(acme.id) as outer:
            outer.tenants.create(acme)
            with reliability_uow.for_tenant(acme.id) as inner:
                inner.workflows.create(new_workflow(acme.id, "billing"))
                inner.after_commit(lambda: ran.append("inner"))
            assert ran == []  # the inner block only released its savepoint
            outer.after_commit(lambda: ran.append("outer"))
        assert ran == ["inner", "outer"]

    def test_a_hook_of_a_rolled_back_savepoint_is_dropped(self, tenancy_uow: TenancyUnitOfWorkFactory) -> None:
        ran: list[str] = []
        with tenancy_uow.system() as outer:
            outer.after_commit(lambda: ran.append("kept"))
            with pytest.raises(InjectedFailure), tenancy_uow.system() as inner:
                inner.after_commit(lambda: ran.append("dropped"))
                raise InjectedFailure
        assert ran == ["kept"]

    def test_explicit_commit_runs_and_rollback_drops(self, tenancy_uow: TenancyUnitOfWorkFactory) -> None:
        ran: list[str] = []
        with tenancy_uow.system() as uow:
            uow.after_commit(lambda: ran.append("first"))
            uow.commit()
            assert ran == ["first"]
            uow.after_commit(lambda: ran.append("discarded"))
            uow.rollback()
        assert ran == ["first"]

    def test_a_failing_hook_is_logged_and_the_others_still_run(
            self, tenancy_uow: TenancyUnitOfWorkFactory, caplog: pytest.LogCaptureFixture) -> None:
        acme = tenant("Acme", "acme")
        ran: list[str] = []

        def fail() -> None:
            raise RuntimeError("hook failed")

        with caplog.at_level(logging.ERROR, logger="portside.transactions"), tenancy_uow.for_tenant(acme.id) as uow:
            uow.tenants.create(acme)
            uow.after_commit(fail)
            uow.after_commit(lambda: ran.append("second"))
        assert ran == ["second"]
        assert any("after-commit hook failed" in record.getMessage() for record in caplog.records)
        with tenancy_uow.system() as uow:
            assert uow.tenants.get_by_id(acme.id) is not None  # the commit stands
