"""The processing use cases on every backend: concurrent submissions of one payload make one
execution; bad input writes nothing."""

from __future__ import annotations

import threading
import uuid

import pytest

from application.container import Container
from application.processing.commands import (
    AttachProcessor,
    Completion,
    OverrideChange,
    Purchase,
    Submission,
    SubscriptionConfigChange,
)
from application.tenancy.use_cases import NewTenant
from application.testing.racing import race
from domain.processing.subscriptions import UnderwritingProcessor
from domain.shared.errors import NotFound, ValidationError


@pytest.fixture
def attached(container: Container) -> UnderwritingProcessor:
    tenant = container.create_tenant()(NewTenant.parse(name="Lender"))
    container.purchase_processor()(Purchase.parse(tenant_id=tenant.id, processor="p_bank_statement", auto=True))
    return container.attach_processor()(AttachProcessor.parse(
        tenant_id=tenant.id, underwriting_id=uuid.uuid4(), processor="p_bank_statement"))


def test_concurrent_submissions_of_one_payload_create_one_execution(
    container: Container, attached: UnderwritingProcessor
) -> None:
    submit = container.submit_execution()
    barrier = threading.Barrier(8)
    outcomes: list[tuple[uuid.UUID, str]] = []
    errors: list[BaseException] = []

    def one(index: int) -> None:
        barrier.wait(10)
        try:
            done = submit(Submission.parse(tenant_id=attached.organization_id, underwriting_processor_id=attached.id,
                                           payload={"documents": [{"type": "bank_statement", "id": "r1"}], "n": 1}))
            outcomes.append((done.execution.id, done.outcome.value))
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert len({execution_id for execution_id, _ in outcomes}) == 1
    assert sorted(outcome for _, outcome in outcomes) == ["created"] + ["in_progress"] * 7
    with container.processing_unit_of_work().for_tenant(attached.organization_id) as uow:
        assert uow.executions.get_execution_count(attached.underwriting_id) == 1


def test_bad_submissions_write_nothing(container: Container, attached: UnderwritingProcessor) -> None:
    submit = container.submit_execution()
    with pytest.raises(ValidationError) as raised:
        submit(Submission.parse(tenant_id=attached.organization_id, underwriting_processor_id=attached.id,
                                payload={"x": float("nan")}))
    assert raised.value.field == "payload"
    with pytest.raises(NotFound):
        submit(Submission.parse(tenant_id=attached.organization_id, underwriting_processor_id=uuid.uuid4(),
                                payload={}))
    with pytest.raises(ValidationError) as refused:
        Submission.parse(tenant_id=attached.organization_id, underwriting_processor_id="nope", payload={})
    assert refused.value.field == "underwriting_processor_id"
    with container.processing_unit_of_work().for_tenant(attached.organization_id) as uow:
        assert uow.executions.get_execution_count(attached.underwriting_id) == 0


@pytest.mark.parametrize("round_", range(10))
def test_concurrent_completions_all_join_the_current_list(
    container: Container, attached: UnderwritingProcessor, round_: int
) -> None:
    """Every completion lands in the list: the losers of the race on the list retry, none is lost."""
    tenant = attached.organization_id
    submit, start, complete = container.submit_execution(), container.start_execution(), container.complete_execution()
    runs = [submit(Submission.parse(tenant_id=tenant, underwriting_processor_id=attached.id,
                                    payload={"round": round_, "n": i})).execution for i in range(16)]
    for run in runs:
        start(tenant, run.id)
    def one(execution_id: uuid.UUID) -> None:
        complete(Completion.parse(tenant_id=tenant, execution_id=execution_id, output={"monthly_revenues": [1]},
                                  run_cost_cents=1))

    assert race(one, [run.id for run in runs]) == []
    with container.processing_unit_of_work().for_tenant(tenant) as uow:
        stored = uow.processors.get_underwriting_processor_by_id(attached.id)
        assert stored is not None and sorted(stored.current_executions_list) == sorted(run.id for run in runs)
        assert len(uow.executions.get_active_executions(attached.id)) == len(runs)


def test_changed_configs_reach_the_stored_effective_config(container: Container,
                                                           attached: UnderwritingProcessor) -> None:
    """What pattern 6 hands to `should_execute` (the stored value) is the merge of now."""
    tenant = attached.organization_id
    second = container.attach_processor()(AttachProcessor.parse(
        tenant_id=tenant, underwriting_id=uuid.uuid4(), processor="p_bank_statement",
        config_override={"currency": "EUR"}))
    resolve = container.resolve_effective_config()

    def stored_agrees() -> None:
        with container.processing_unit_of_work().for_tenant(tenant) as uow:
            for up in (attached, second):
                found = uow.processors.get_underwriting_processors(up.underwriting_id)
                assert [row.effective_config for row in found] == [resolve(tenant, up.id)]

    container.change_subscription_config()(SubscriptionConfigChange.parse(
        tenant_id=tenant, processor="p_bank_statement", config={"min_months": 6}))
    stored_agrees()
    assert resolve(tenant, second.id)["min_months"] == 6 and resolve(tenant, second.id)["currency"] == "EUR"
    container.change_underwriting_override()(OverrideChange.parse(
        tenant_id=tenant, underwriting_processor_id=attached.id, config_override={"min_months": 1}))
    stored_agrees()
    assert resolve(tenant, attached.id)["min_months"] == 1
    disabled = container.set_subscription_enabled()(tenant, "p_bank_statement", False)
    assert disabled.status.value == "disabled"
    with pytest.raises(ValidationError):  # attaching needs an active subscription
        container.attach_processor()(AttachProcessor.parse(
            tenant_id=tenant, underwriting_id=uuid.uuid4(), processor="p_bank_statement"))
    assert container.set_subscription_enabled()(tenant, "p_bank_statement", True).status.value == "active"
    stored_agrees()
    with pytest.raises(NotFound):
        container.change_subscription_config()(SubscriptionConfigChange.parse(
            tenant_id=tenant, processor="p_credit_report", config={}))


def test_a_users_catalog_serves_every_backend(container: Container) -> None:
    """The container takes the deployment's processors; the shipped examples are then unknown."""
    from dependency_injector import providers

    from application.catalog import as_catalog
    from tests.unit.test_processor_catalog import PayStubProcessor

    container.catalog.override(providers.Object(as_catalog([PayStubProcessor])))
    tenant = container.create_tenant()(NewTenant.parse(name="Payroll lender"))
    container.purchase_processor()(Purchase.parse(tenant_id=tenant.id, processor="p_pay_stub"))
    up = container.attach_processor()(AttachProcessor.parse(tenant_id=tenant.id, underwriting_id=uuid.uuid4(),
                                                            processor="p_pay_stub"))
    assert up.effective_config == {"min_stubs": 2, "employer_check": {"enabled": True}}
    with pytest.raises(NotFound):
        container.purchase_processor()(Purchase.parse(tenant_id=tenant.id, processor="p_bank_statement"))


def test_retried_creation_and_completion_recognise_their_own_write(container: Container,
                                                                    attached: UnderwritingProcessor) -> None:
    """What a caller does after `CommitOutcomeUnknown`: the same call again, safely."""
    from domain.shared.errors import Conflict, InvalidTransition

    chosen = uuid.uuid4()
    first = container.create_tenant()(NewTenant.parse(id=chosen, name="Retried Lender"))
    assert container.create_tenant()(NewTenant.parse(id=chosen, name="Retried Lender")) == first
    with pytest.raises(Conflict):  # the same id for another tenant is no retry
        container.create_tenant()(NewTenant.parse(id=chosen, name="Someone Else"))
    tenant = attached.organization_id
    run = container.submit_execution()(Submission.parse(tenant_id=tenant, underwriting_processor_id=attached.id,
                                                        payload={"retry": True})).execution
    container.start_execution()(tenant, run.id)
    completion = Completion.parse(tenant_id=tenant, execution_id=run.id, output={"monthly_revenues": [3]},
                                  run_cost_cents=2)
    done = container.complete_execution()(completion)
    assert container.complete_execution()(completion) == done
    with pytest.raises(InvalidTransition):  # another result for a completed execution is no retry
        container.complete_execution()(completion.model_copy(update={"run_cost_cents": 9}))
    with container.processing_unit_of_work().for_tenant(tenant) as uow:
        stored = uow.processors.get_underwriting_processor_by_id(attached.id)
        assert stored is not None and stored.current_executions_list.count(run.id) == 1
