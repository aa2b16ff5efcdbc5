"""The processing scenario: a tenant buys processors, an underwriting runs them, a duplicate
submission is reused, an execution is superseded and rolled back, factors are consolidated."""

from __future__ import annotations

import json

from application.console import Report
from application.container import Container
from application.processing.commands import AttachProcessor, AutoRun, Completion, Purchase, Submission
from application.tenancy.use_cases import NewTenant
from domain.shared.errors import InvalidTransition, NotFound
from domain.shared.ids import new_id


def _short(value: object) -> str:
    return str(value)[-8:]


def run(container: Container, report: Report) -> None:
    report.heading("processing: catalog, subscriptions, executions (deduplicated, superseded)")
    suffix = new_id().hex[-6:]
    tenant = container.create_tenant()(NewTenant.parse(name=f"Lender {suffix}"))
    purchase, attach = container.purchase_processor(), container.attach_processor()
    bank = purchase(Purchase.parse(tenant_id=tenant.id, processor="p_bank_statement", auto=True, price_amount=50,
                                   config={"min_months": 6, "thresholds": {"nsf": 2}}))
    purchase(Purchase.parse(tenant_id=tenant.id, processor="p_credit_report", auto=True, price_amount=125))
    try:
        purchase(Purchase.parse(tenant_id=tenant.id, processor="p_unknown_thing"))
    except NotFound as error:
        report.note(f"an unknown processor is refused: NotFound: {error}")
    report.note(f"'{tenant.slug}' bought {bank.processor} at {bank.price_amount} cents per {bank.price_unit.value}")

    underwriting = new_id()
    up_bank = attach(AttachProcessor.parse(tenant_id=tenant.id, underwriting_id=underwriting,
                                           processor="p_bank_statement",
                                           config_override={"thresholds": {"negative_days": 10}}))
    up_credit = attach(AttachProcessor.parse(tenant_id=tenant.id, underwriting_id=underwriting,
                                             processor="p_credit_report"))
    config = container.resolve_effective_config()(tenant.id, up_bank.id)
    report.note("effective config of p_bank_statement = catalog default + tenant + underwriting override:")
    report.note(json.dumps(config, sort_keys=True))

    payload = {"documents": [{"type": "bank_statement", "id": "rev_001"}], "ssn_last4": "1234"}
    runs = container.auto_execute()(AutoRun.parse(tenant_id=tenant.id, underwriting_id=underwriting, payload=payload,
                                                  document_revision_ids=["rev_001"]))
    report.table(["processor", "execution", "outcome"],
                 [[s.execution.processor, _short(s.execution.id), s.outcome.value] for s in runs])
    start, complete = container.start_execution(), container.complete_execution()
    outputs = {"p_bank_statement": {"monthly_revenues": [45000.0, 47000.0, 43000.0], "nsf_count": 1},
               "p_credit_report": {"score": 712}}
    for submitted in runs:
        start(tenant.id, submitted.execution.id)
        complete(Completion.parse(tenant_id=tenant.id, execution_id=submitted.execution.id,
                                  output=outputs[submitted.execution.processor], run_cost_cents=50))
    try:
        complete(Completion.parse(tenant_id=tenant.id, execution_id=runs[0].execution.id, output={}, run_cost_cents=1))
    except InvalidTransition as error:
        report.note(f"completing twice is refused: InvalidTransition: {error}")

    submit = container.submit_execution()
    again = submit(Submission.parse(tenant_id=tenant.id, underwriting_processor_id=up_bank.id, payload=payload))
    report.note(f"the same payload submitted again: {again.outcome.value} execution {_short(again.execution.id)}")

    first = next(s.execution for s in runs if s.execution.processor == "p_bank_statement")
    newer_payload = {"documents": [{"type": "bank_statement", "id": "rev_002"}]}
    newer = submit(Submission.parse(tenant_id=tenant.id, underwriting_processor_id=up_bank.id, payload=newer_payload))
    start(tenant.id, newer.execution.id)
    complete(Completion.parse(tenant_id=tenant.id, execution_id=newer.execution.id, run_cost_cents=50,
                              output={"monthly_revenues": [52000.0, 50000.0, 51000.0], "nsf_count": 0}))
    consolidate = container.consolidate_factors()
    report.note(f"factors with both executions active: {consolidate(tenant.id, up_bank.id)}")
    current = container.supersede_execution()(tenant.id, first.id, newer.execution.id)
    report.note(f"{_short(newer.execution.id)} supersedes {_short(first.id)}; current list: "
                f"{[_short(e) for e in current]}")
    report.note(f"factors after supersession: {consolidate(tenant.id, up_bank.id)}")
    current = container.rollback_supersession()(tenant.id, first.id)
    report.note(f"rolled back; current list: {[_short(e) for e in current]}")
    report.note(f"factors after the rollback: {consolidate(tenant.id, up_bank.id)}")
    report.note(f"credit factors: {consolidate(tenant.id, up_credit.id)}")
