"""The processing use cases on every backend: concurrent submissions of one payload make one
execution; bad input writes nothing."""

from __future__ import annotations

import threading
import uuid

import pytest

from application.container import Container
from application.processing.commands import AttachProcessor, Purchase, Submission
from application.tenancy.use_cases import NewTenant
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
