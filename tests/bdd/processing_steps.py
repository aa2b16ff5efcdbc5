"""Steps of the processing specifications (features/processing/*.feature), one feature per usage
pattern of spec 000: configuration, execution tracking, deduplication, consolidation, supersession and
auto-execution.

Every step goes through the container's use cases, or reads through the organization's own
processing unit of work. What one step did is kept for the steps after it in `Processing`, the
`processing` fixture, next to the scenario's `World` (its organizations, clock and last refusal):
underwritings by label, underwriting processors by (underwriting, processor), executions by label.

`conftest.py` imports the step fixtures of this module and the `processing` fixture (its `__all__`).
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import pytest
from pytest_bdd import given, parsers, then, when

from application.processing.commands import AttachProcessor, AutoRun, Completion, Failure, Purchase, Submission
from application.processing.executions import (
    AutoExecute,
    CompleteExecution,
    ConsolidateFactors,
    FailExecution,
    RollbackSupersession,
    StartExecution,
    SubmitExecution,
    Submitted,
    SupersedeExecution,
)
from application.processing.subscriptions import AttachToUnderwriting, PurchaseProcessor, ResolveEffectiveConfig
from domain.processing.execution import Execution, ExecutionStatus
from domain.processing.subscriptions import PurchasedProcessor, SubscriptionStatus, UnderwritingProcessor
from domain.shared.errors import InvalidTransition
from ports.processing import ProcessingUnitOfWork, ProcessingUnitOfWorkFactory
from tests.bdd.world import World, moment, names_in, table_rows, yes_no

T = TypeVar("T")

ORGANIZATION = r'"(?P<organization>[^"]+)"'
PROCESSOR = r'"(?P<processor>[^"]+)"'
UNDERWRITING = r'"(?P<underwriting>[^"]+)"'
LABEL = r'"(?P<label>[^"]+)"'
JSON = r"(?P<text>\{.*\})"
"""An inline JSON object, to the end of the step."""
STATUS = r"(?P<status>pending|running|completed|failed)"
UP = f"{PROCESSOR} in {UNDERWRITING}"
"""A processor as an underwriting uses it."""


@dataclass
class Processing:
    """What the processing steps of one scenario share, next to the `World`."""

    world: World
    underwritings: dict[str, uuid.UUID] = field(default_factory=dict)
    """Every underwriting by its label, with the organization it belongs to."""
    owners: dict[str, uuid.UUID] = field(default_factory=dict)
    attached: dict[tuple[str, str], UnderwritingProcessor] = field(default_factory=dict)
    """Every underwriting processor, by (underwriting, processor)."""
    executions: dict[str, Execution] = field(default_factory=dict)
    """Every execution by its label, as last returned (several labels may name one execution)."""
    before: dict[str, Execution] = field(default_factory=dict)
    """The executions as stored just before the last request on executions."""
    answers: list[Submitted] = field(default_factory=list)
    """What the last submission or auto-execution answered."""
    payload: dict[str, Any] = field(default_factory=dict)
    """The payload of the last auto-execution."""
    first_run: list[Submitted] = field(default_factory=list)
    """What the first auto-execution of the scenario answered."""
    current: list[uuid.UUID] | None = None
    """The current executions list a supersession or its rollback answered."""
    factors: dict[str, Any] | None = None

    # -- the container's parts, typed ------------------------------------------------------
    @property
    def uow(self) -> ProcessingUnitOfWorkFactory:
        factory: ProcessingUnitOfWorkFactory = self.world.container.processing_unit_of_work()
        return factory

    @property
    def purchase(self) -> PurchaseProcessor:
        use_case: PurchaseProcessor = self.world.container.purchase_processor()
        return use_case

    @property
    def attach(self) -> AttachToUnderwriting:
        use_case: AttachToUnderwriting = self.world.container.attach_processor()
        return use_case

    @property
    def resolve(self) -> ResolveEffectiveConfig:
        use_case: ResolveEffectiveConfig = self.world.container.resolve_effective_config()
        return use_case

    @property
    def submit(self) -> SubmitExecution:
        use_case: SubmitExecution = self.world.container.submit_execution()
        return use_case

    @property
    def start(self) -> StartExecution:
        use_case: StartExecution = self.world.container.start_execution()
        return use_case

    @property
    def complete(self) -> CompleteExecution:
        use_case: CompleteExecution = self.world.container.complete_execution()
        return use_case

    @property
    def fail(self) -> FailExecution:
        use_case: FailExecution = self.world.container.fail_execution()
        return use_case

    @property
    def supersede(self) -> SupersedeExecution:
        use_case: SupersedeExecution = self.world.container.supersede_execution()
        return use_case

    @property
    def rollback(self) -> RollbackSupersession:
        use_case: RollbackSupersession = self.world.container.rollback_supersession()
        return use_case

    @property
    def consolidate(self) -> ConsolidateFactors:
        use_case: ConsolidateFactors = self.world.container.consolidate_factors()
        return use_case

    @property
    def auto_execute(self) -> AutoExecute:
        use_case: AutoExecute = self.world.container.auto_execute()
        return use_case

    # -- bookkeeping -----------------------------------------------------------------------
    def underwriting(self, label: str, organization: str | None = None) -> uuid.UUID:
        """The underwriting's id; a new one the first time an organization names it."""
        if label not in self.underwritings:
            assert organization is not None, f"no organization uses the underwriting {label!r} in this scenario"
            self.underwritings[label] = uuid.uuid4()
            self.owners[label] = self.world.id_of(organization)
        return self.underwritings[label]

    def owner(self, underwriting: str) -> uuid.UUID:
        assert underwriting in self.owners, f"no organization uses the underwriting {underwriting!r}"
        return self.owners[underwriting]

    def up(self, processor: str, underwriting: str) -> UnderwritingProcessor:
        key = (underwriting, processor)
        assert key in self.attached, f"{underwriting!r} does not use {processor!r} in this scenario"
        return self.attached[key]

    def execution(self, label: str) -> Execution:
        assert label in self.executions, f"no execution is labelled {label!r} in this scenario"
        return self.executions[label]

    def label_of(self, execution_id: uuid.UUID) -> str:
        labels = [label for label, known in self.executions.items() if known.id == execution_id]
        return labels[0] if labels else str(execution_id)

    def labels_of(self, execution_ids: list[uuid.UUID]) -> list[str]:
        return [self.label_of(execution_id) for execution_id in execution_ids]

    def read(self, tenant_id: uuid.UUID, query: Callable[[ProcessingUnitOfWork], T]) -> T:
        """Read (or write, in a Given) through the organization's own unit of work."""
        with self.uow.for_tenant(tenant_id) as uow:
            return query(uow)

    def stored(self, label: str) -> Execution:
        known = self.execution(label)
        return self.read(known.organization_id, lambda uow: uow.executions.get_by_id_or_raise(known.id))

    def stored_up(self, processor: str, underwriting: str) -> UnderwritingProcessor:
        known = self.up(processor, underwriting)
        found = self.read(known.organization_id, lambda uow: uow.processors.get_underwriting_processor_by_id(known.id))
        assert found is not None, f"{underwriting!r} no longer uses {processor!r}"
        return found

    def remember(self, label: str, execution: Execution) -> Execution:
        self.executions[label] = execution
        return execution

    def snapshot(self) -> None:
        """Keep every labelled execution as stored now, to show later that a refusal wrote nothing."""
        self.before = {label: self.stored(label) for label in self.executions}

    def act(self, action: Callable[[], T]) -> T | None:
        """A request on executions: snapshot, then attempt (a refusal is kept for the Then steps)."""
        self.snapshot()
        return self.world.attempt(action)

    # -- requests --------------------------------------------------------------------------
    def buy(self, organization: str, processor: str, **data: Any) -> PurchasedProcessor:
        return self.purchase(Purchase.parse(tenant_id=self.world.id_of(organization), processor=processor, **data))

    def use(self, organization: str, processor: str, underwriting: str, **data: Any) -> UnderwritingProcessor:
        command = AttachProcessor.parse(tenant_id=self.world.id_of(organization),
                                        underwriting_id=self.underwriting(underwriting, organization),
                                        processor=processor, **data)
        attached = self.attach(command)
        self.attached[(underwriting, processor)] = attached
        return attached

    def submit_payload(self, processor: str, underwriting: str, label: str, payload: dict[str, Any],
                       documents: list[str] | None = None) -> Submitted:
        up = self.up(processor, underwriting)
        answer = self.submit(Submission.parse(tenant_id=up.organization_id, underwriting_processor_id=up.id,
                                              payload=payload, document_revision_ids=documents or []))
        self.answers = [answer]
        self.remember(label, answer.execution)
        return answer

    def start_execution(self, label: str) -> Execution:
        known = self.execution(label)
        return self.remember(label, self.start(known.organization_id, known.id))

    def complete_execution(self, label: str, output: dict[str, Any], factors: dict[str, Any] | None = None,
                           cost: int = 0) -> Execution:
        known = self.execution(label)
        done = self.complete(Completion.parse(tenant_id=known.organization_id, execution_id=known.id, output=output,
                                              factors_delta=factors or {}, run_cost_cents=cost))
        return self.remember(label, done)

    def fail_execution(self, label: str, code: str, reason: str) -> Execution:
        known = self.execution(label)
        failed = self.fail(Failure.parse(tenant_id=known.organization_id, execution_id=known.id,
                                         failed_code=code, failed_reason=reason))
        return self.remember(label, failed)

    def take_to(self, label: str, status: str) -> Execution:
        """Drive a pending execution to `status` through the use cases."""
        if status == "pending":
            return self.stored(label)
        self.start_execution(label)
        if status == "completed":
            return self.complete_execution(label, {"run": label})
        if status == "failed":
            return self.fail_execution(label, "PROCESSOR_ERROR", f"run {label} failed")
        assert status == "running", f"unknown status {status!r}"
        return self.stored(label)

    def supersede_with(self, old: str, new: str) -> list[uuid.UUID]:
        known = self.execution(old)
        self.current = self.supersede(known.organization_id, known.id, self.execution(new).id)
        return self.current

    def roll_back(self, label: str) -> list[uuid.UUID]:
        known = self.execution(label)
        self.current = self.rollback(known.organization_id, known.id)
        return self.current

    def consolidated(self, processor: str, underwriting: str) -> dict[str, Any]:
        up = self.up(processor, underwriting)
        self.factors = self.consolidate(up.organization_id, up.id)
        return self.factors

    def run_auto(self, underwriting: str, payload: dict[str, Any], documents: list[str] | None = None) -> None:
        self.payload = payload
        self.answers = self.auto_execute(AutoRun.parse(
            tenant_id=self.owner(underwriting), underwriting_id=self.underwriting(underwriting),
            payload=payload, document_revision_ids=documents or []))
        if not self.first_run:
            self.first_run = self.answers


@pytest.fixture
def processing(world: World) -> Processing:
    return Processing(world)


def as_json(text: str) -> Any:
    return json.loads(text)


def shown(value: Any) -> str:
    """How a cell of an execution's table shows a value: blank for none."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    return str(value)


EXECUTION_FIELDS: dict[str, Callable[[Execution], Any]] = {
    "status": lambda e: e.status.value,
    "enabled": lambda e: e.enabled,
    "created at": lambda e: e.created_at,
    "started at": lambda e: e.started_at,
    "completed at": lambda e: e.completed_at,
    "run cost": lambda e: e.run_cost_cents,
    "failed code": lambda e: e.failed_code,
    "failed reason": lambda e: e.failed_reason,
}
"""How a row of an execution's table reads the stored execution."""


# == Configuration (pattern 1) ================================================================
@given(parsers.re(f"{ORGANIZATION} has bought {PROCESSOR}(?: with the config (?P<text>\\{{.*\\}}))?"
                  "(?P<auto> to run automatically)?"))
def has_bought(processing: Processing, organization: str, processor: str, text: str | None,
               auto: str | None) -> None:
    processing.buy(organization, processor, config=as_json(text) if text else {}, auto=bool(auto))


@when(parsers.re(f"{ORGANIZATION} buys {PROCESSOR}"))
def buys(processing: Processing, organization: str, processor: str) -> None:
    processing.world.attempt(lambda: processing.buy(organization, processor))


@given(parsers.re(f"the subscription of {ORGANIZATION} to {PROCESSOR} has been disabled"))
def subscription_disabled(processing: Processing, organization: str, processor: str) -> None:
    tenant_id, at = processing.world.id_of(organization), processing.world.clock.now()

    def disable(uow: ProcessingUnitOfWork) -> None:
        purchased = uow.processors.get_processor_by_name(processor, tenant_id)
        assert purchased is not None, f"{organization} did not buy {processor}"
        uow.processors.purchased.update(purchased.move_to(SubscriptionStatus.DISABLED, at))

    processing.read(tenant_id, disable)


USES = f"{ORGANIZATION} uses {PROCESSOR} in the underwriting {UNDERWRITING}(?: with the override {JSON})?"


@given(parsers.re(USES))
def has_used(processing: Processing, organization: str, processor: str, underwriting: str, text: str | None) -> None:
    processing.use(organization, processor, underwriting, config_override=as_json(text) if text else {})


@when(parsers.re(USES))
def uses(processing: Processing, organization: str, processor: str, underwriting: str, text: str | None) -> None:
    override = as_json(text) if text else {}
    processing.world.attempt(lambda: processing.use(organization, processor, underwriting, config_override=override))


@given(parsers.re(f"{ORGANIZATION} uses these processors in the underwriting {UNDERWRITING}:"))
def uses_these(processing: Processing, organization: str, underwriting: str, datatable: list[list[str]]) -> None:
    for row in table_rows(datatable):
        processing.use(organization, row["processor"], underwriting, auto=yes_no(row["auto"]),
                       enabled=yes_no(row["enabled"]))


@then(parsers.re(f"the effective configuration of {UP} is(?: {JSON}|:)"))
def effective_config(processing: Processing, processor: str, underwriting: str, text: str | None,
                     docstring: str | None = None) -> None:
    processing.world.succeeded()
    expected = as_json(text if text is not None else (docstring or ""))
    up = processing.up(processor, underwriting)
    assert processing.resolve(up.organization_id, up.id) == expected
    assert processing.stored_up(processor, underwriting).effective_config == expected, "the stored config differs"


@then(parsers.re(f"the subscription of {ORGANIZATION} to {PROCESSOR} still has the config {JSON}"))
def subscription_config(processing: Processing, organization: str, processor: str, text: str) -> None:
    tenant_id = processing.world.id_of(organization)
    purchased = processing.read(tenant_id, lambda uow: uow.processors.get_processor_by_name(processor, tenant_id))
    assert purchased is not None, f"{organization} did not buy {processor}"
    assert purchased.config == as_json(text)


@then(parsers.re(f"{ORGANIZATION} has bought (?:no processor|(?P<names>\"[^\"]+\"(?:, \"[^\"]+\")*) only)"))
def bought(processing: Processing, organization: str, names: str | None) -> None:
    tenant_id = processing.world.id_of(organization)
    purchased = processing.read(tenant_id,
                                lambda uow: uow.processors.get_purchased_processors_by_organization(tenant_id))
    assert [p.processor for p in purchased] == re.findall(r'"([^"]+)"', names or "")


@then(parsers.re(f"the underwriting {UNDERWRITING} of {ORGANIZATION} uses no processor"))
def uses_no_processor(processing: Processing, underwriting: str, organization: str) -> None:
    tenant_id, underwriting_id = processing.world.id_of(organization), processing.underwriting(underwriting)
    used = processing.read(tenant_id, lambda uow: uow.processors.get_underwriting_processors(underwriting_id))
    assert used == [], f"{underwriting} uses {used!r}"


# == Executions: submitting and moving (patterns 2 and 3) =====================================
SUBMITS = f"the payload (?P<verb>is|has been) submitted to {UP} as {LABEL}" \
          r'(?: with the documents "(?P<documents>[^"]*)")?:'


@given(parsers.re(SUBMITS))
@when(parsers.re(SUBMITS))
def submits(processing: Processing, verb: str, processor: str, underwriting: str, label: str,
            documents: str | None, docstring: str) -> None:
    payload, revisions = as_json(docstring), names_in(documents or "")
    if verb == "has been":
        processing.submit_payload(processor, underwriting, label, payload, revisions)
    else:
        processing.act(lambda: processing.submit_payload(processor, underwriting, label, payload, revisions))


@when(parsers.re(f"a payload is submitted to an underwriting processor of {ORGANIZATION} that does not exist"))
def submits_to_missing(processing: Processing, organization: str) -> None:
    command = Submission.parse(tenant_id=processing.world.id_of(organization), underwriting_processor_id=uuid.uuid4(),
                               payload={"month": "2026-01"})
    processing.act(lambda: processing.submit(command))


@given(parsers.re(f"the execution {LABEL} of {UP} is {STATUS}"))
def execution_in_status(processing: Processing, label: str, processor: str, underwriting: str, status: str) -> None:
    processing.submit_payload(processor, underwriting, label, {"run": label})
    processing.take_to(label, status)


@given(parsers.re(f"the execution {LABEL} of {UP} has completed with the output {JSON}"))
def execution_completed_with(processing: Processing, label: str, processor: str, underwriting: str,
                             text: str) -> None:
    processing.submit_payload(processor, underwriting, label, {"run": label})
    processing.start_execution(label)
    processing.complete_execution(label, as_json(text))


@given(parsers.re(f"the execution {LABEL} has been started"))
def has_been_started(processing: Processing, label: str) -> None:
    processing.start_execution(label)


@given(parsers.re(f"the execution {LABEL} has been taken to {STATUS}"))
def taken_to(processing: Processing, label: str, status: str) -> None:
    processing.take_to(label, status)


@given(parsers.re(f"the execution {LABEL} has completed with the output {JSON}"))
def has_completed(processing: Processing, label: str, text: str) -> None:
    if processing.stored(label).status is ExecutionStatus.PENDING:
        processing.start_execution(label)
    processing.complete_execution(label, as_json(text))


@given(parsers.re(f'the execution {LABEL} has failed with "(?P<code>[^"]+)" because "(?P<reason>[^"]+)"'))
def has_failed(processing: Processing, label: str, code: str, reason: str) -> None:
    processing.fail_execution(label, code, reason)


@when(parsers.re(f"the execution {LABEL} is started"))
def is_started(processing: Processing, label: str) -> None:
    processing.act(lambda: processing.start_execution(label))


@when(parsers.re(f"the execution {LABEL} completes"))
def completes(processing: Processing, label: str) -> None:
    processing.act(lambda: processing.complete_execution(label, {"monthly_revenues": []}))


@when(parsers.re(f"the execution {LABEL} fails"))
def fails(processing: Processing, label: str) -> None:
    processing.act(lambda: processing.fail_execution(label, "PROCESSOR_ERROR", "the processor crashed"))


@when(parsers.re(f"the execution {LABEL} completes at a cost of (?P<cost>-?\\d+) cents "
                 f"with the factors delta (?P<factors>\\{{.*\\}}) and the output:"), converters={"cost": int})
def completes_with(processing: Processing, label: str, cost: int, factors: str, docstring: str) -> None:
    output, delta = as_json(docstring), as_json(factors)
    processing.act(lambda: processing.complete_execution(label, output, delta, cost))


@when(parsers.re(f'the execution {LABEL} fails with "(?P<code>[^"]+)" because "(?P<reason>[^"]+)"'))
def fails_with(processing: Processing, label: str, code: str, reason: str) -> None:
    processing.act(lambda: processing.fail_execution(label, code, reason))


# -- isolation ------------------------------------------------------------------------------
def intrusion(processing: Processing, tenant_id: uuid.UUID, request: str) -> Callable[[], object]:
    """The request `request` (the feature's words) made as the organization `tenant_id`."""
    labels = re.findall(r'"([^"]+)"', request)
    ids = [processing.execution(label).id for label in labels if label in processing.executions]
    if request.startswith("start"):
        return lambda: processing.start(tenant_id, ids[0])
    if request.startswith("complete"):
        return lambda: processing.complete(Completion.parse(
            tenant_id=tenant_id, execution_id=ids[0], output={"monthly_revenues": [1.0]}, run_cost_cents=1))
    if request.startswith("fail"):
        return lambda: processing.fail(Failure.parse(
            tenant_id=tenant_id, execution_id=ids[0], failed_code="HIJACK", failed_reason="not mine"))
    if request.startswith("supersede"):
        return lambda: processing.supersede(tenant_id, ids[0], ids[1])
    if request.startswith("roll back"):
        return lambda: processing.rollback(tenant_id, ids[0])
    up = processing.up(labels[0], labels[1])
    if request.startswith("submit"):
        return lambda: processing.submit(Submission.parse(
            tenant_id=tenant_id, underwriting_processor_id=up.id, payload={"run": "intruder"}))
    if request.startswith("consolidate"):
        return lambda: processing.consolidate(tenant_id, up.id)
    if request.startswith("read the effective configuration"):
        return lambda: processing.resolve(tenant_id, up.id)
    raise AssertionError(f"no such request in the steps: {request!r}")


REQUESTS = "(?P<request>(?:start|complete|fail|supersede|roll back|submit|consolidate|read) .+)"


@when(parsers.re(f"{ORGANIZATION} tries to {REQUESTS}"))
def tries_to(processing: Processing, organization: str, request: str) -> None:
    action = intrusion(processing, processing.world.id_of(organization), request)
    processing.act(action)


# -- Then: submissions ----------------------------------------------------------------------
def stored_execution(processing: Processing, execution: Execution) -> Execution:
    return processing.read(execution.organization_id, lambda uow: uow.executions.get_by_id_or_raise(execution.id))


def last_answer(processing: Processing) -> Submitted:
    processing.world.succeeded()
    assert len(processing.answers) == 1, f"the last request was answered {len(processing.answers)} times"
    return processing.answers[0]


@then(parsers.re(r'the submission is answered "(?P<outcome>[a-z_]+)"'
                 f"(?: with (?:the execution {LABEL}|(?P<new>a new execution)))?"))
def answered(processing: Processing, outcome: str, label: str | None, new: str | None) -> None:
    answer = last_answer(processing)
    assert answer.outcome.value == outcome, f"answered {answer.outcome.value!r}"
    stored = stored_execution(processing, answer.execution)
    assert stored == answer.execution, "the answer is not the execution as stored"
    if label is not None:
        assert answer.execution.id == processing.execution(label).id, \
            f"answered with {processing.label_of(answer.execution.id)}, not {label}"
    if new is not None:
        others = {known.id for known in processing.before.values()}
        assert answer.execution.id not in others, f"answered with {processing.label_of(answer.execution.id)}"


@then(parsers.re(f"the execution {LABEL} is of {UP} for {ORGANIZATION}"))
def execution_of(processing: Processing, label: str, processor: str, underwriting: str, organization: str) -> None:
    stored = processing.stored(label)
    up = processing.up(processor, underwriting)
    assert (stored.processor, stored.underwriting_processor_id, stored.underwriting_id, stored.organization_id) == (
        processor, up.id, processing.underwriting(underwriting), processing.world.id_of(organization))


@then(parsers.re(f"the execution {LABEL} has:"))
def execution_has(processing: Processing, label: str, datatable: list[list[str]]) -> None:
    processing.world.succeeded()
    stored = processing.stored(label)
    rows = table_rows(datatable)
    actual = [{"field": row["field"], "value": shown(EXECUTION_FIELDS[row["field"]](stored))} for row in rows]
    assert actual == rows


@then(parsers.re(f"the execution {LABEL} is {STATUS}"))
def execution_is(processing: Processing, label: str, status: str) -> None:
    assert processing.stored(label).status.value == status


@then(parsers.re(f"the execution {LABEL} is still {STATUS} and unchanged"))
def execution_unchanged(processing: Processing, label: str, status: str) -> None:
    stored = processing.stored(label)
    assert stored.status.value == status, f"the execution is {stored.status.value}"
    assert stored == processing.before[label], "the execution changed"


@then(parsers.re(f'the execution {LABEL} has the document revisions "(?P<documents>[^"]*)"'))
def document_revisions(processing: Processing, label: str, documents: str) -> None:
    assert processing.stored(label).document_revision_ids == names_in(documents)


@then(parsers.re(f"the execution {LABEL} has the payload:"))
def has_payload(processing: Processing, label: str, docstring: str) -> None:
    assert processing.stored(label).payload == as_json(docstring)


@then(parsers.re(f"the execution {LABEL} has the (?P<what>output|factors delta) {JSON}"))
def has_output(processing: Processing, label: str, what: str, text: str) -> None:
    stored = processing.stored(label)
    assert (stored.output if what == "output" else stored.factors_delta) == as_json(text)


@then(parsers.re(f"the execution {LABEL} has no output"))
def has_no_output(processing: Processing, label: str) -> None:
    stored = processing.stored(label)
    assert (stored.output, stored.factors_delta) == (None, None)


@then(parsers.re(f'the execution {LABEL} has the payload hash "(?P<digest>[0-9a-f]+)"'))
def has_payload_hash(processing: Processing, label: str, digest: str) -> None:
    assert processing.stored(label).payload_hash == digest


@then(parsers.re('the executions "(?P<first>[^"]+)" and "(?P<second>[^"]+)" have the same '
                 "(?P<what>payload hash|document set hash)"))
def same_hash(processing: Processing, first: str, second: str, what: str) -> None:
    processing.world.succeeded()
    one, other = processing.stored(first), processing.stored(second)
    assert one.id != other.id, f"{first} and {second} are one execution"
    if what == "payload hash":
        assert one.payload_hash == other.payload_hash
    else:
        assert one.document_ids_hash is not None, f"{first} has no document set hash"
        assert one.document_ids_hash == other.document_ids_hash


@then(parsers.re(f"the execution {LABEL} has no document set hash"))
def no_document_hash(processing: Processing, label: str) -> None:
    assert processing.stored(label).document_ids_hash is None


@then(parsers.re(f"{UP} has (?P<count>no|\\d+) executions?"))
def execution_count(processing: Processing, processor: str, underwriting: str, count: str) -> None:
    up = processing.up(processor, underwriting)
    expected = 0 if count == "no" else int(count)
    with processing.uow.for_tenant(up.organization_id) as uow:
        assert uow.executions.get_execution_count(up.underwriting_id, processor) == expected
        listed = uow.executions.get_executions_by_underwriting(up.underwriting_id, processor)
    assert [e.underwriting_processor_id for e in listed] == [up.id] * expected


@then(parsers.re(f'{UP} has (?:no current executions|the current executions "(?P<labels>[^"]*)")'))
def current_executions(processing: Processing, processor: str, underwriting: str, labels: str | None) -> None:
    stored = processing.stored_up(processor, underwriting)
    assert processing.labels_of(stored.current_executions_list) == names_in(labels or "")


# == Consolidation (pattern 4) ================================================================
@when(parsers.re(f"the factors of {UP} are consolidated"))
def consolidates(processing: Processing, processor: str, underwriting: str) -> None:
    processing.factors = None
    processing.world.attempt(lambda: processing.consolidated(processor, underwriting))


@then(parsers.re(f"the factors are {JSON}"))
def factors_are(processing: Processing, text: str) -> None:
    processing.world.succeeded()
    assert processing.factors == as_json(text)


@then(parsers.re(f"the factors of {UP} consolidate to {JSON}"))
def consolidate_to(processing: Processing, processor: str, underwriting: str, text: str) -> None:
    assert processing.consolidated(processor, underwriting) == as_json(text)


@given(parsers.re(f"the execution {LABEL} has been disabled"))
def has_been_disabled(processing: Processing, label: str) -> None:
    known = processing.execution(label)
    assert processing.read(known.organization_id, lambda uow: uow.executions.deactivate_execution(known.id))


@when(parsers.re(f"the execution {LABEL} is enabled again"))
def enabled_again(processing: Processing, label: str) -> None:
    known = processing.execution(label)
    assert processing.read(known.organization_id, lambda uow: uow.executions.activate_execution(known.id))


@given(parsers.re(f'the current executions of {UP} have been set to "(?P<labels>[^"]*)"'))
def current_set_to(processing: Processing, processor: str, underwriting: str, labels: str) -> None:
    up = processing.up(processor, underwriting)
    ids = [processing.execution(label).id for label in names_in(labels)]
    processing.read(up.organization_id, lambda uow: uow.processors.update_current_executions_list(up.id, ids))


# == Supersession (pattern 5) =================================================================
@given(parsers.re(f'the execution {LABEL} has been superseded by "(?P<new>[^"]+)"'))
def has_been_superseded(processing: Processing, label: str, new: str) -> None:
    processing.supersede_with(label, new)


@when(parsers.re(f'the execution {LABEL} is superseded by "(?P<new>[^"]+)"'))
def is_superseded(processing: Processing, label: str, new: str) -> None:
    processing.current = None
    processing.act(lambda: processing.supersede_with(label, new))


@when(parsers.re(f"the supersession of {LABEL} is rolled back"))
def is_rolled_back(processing: Processing, label: str) -> None:
    processing.current = None
    processing.act(lambda: processing.roll_back(label))


@then(parsers.re('the current executions answered are "(?P<labels>[^"]*)"'))
def current_answered(processing: Processing, labels: str) -> None:
    processing.world.succeeded()
    assert processing.current is not None, "no supersession answered"
    assert processing.labels_of(processing.current) == names_in(labels)


@then(parsers.re(f'the execution {LABEL} is disabled since "(?P<at>[^"]+)" and superseded by "(?P<new>[^"]+)"'))
def disabled_superseded(processing: Processing, label: str, at: str, new: str) -> None:
    stored = processing.stored(label)
    assert (stored.enabled, stored.disabled_at) == (False, moment(at))
    assert stored.updated_execution_id == processing.execution(new).id, \
        f"superseded by {stored.updated_execution_id and processing.label_of(stored.updated_execution_id)}"


@then(parsers.re(f"the execution {LABEL} is enabled and superseded by none"))
def enabled_not_superseded(processing: Processing, label: str) -> None:
    stored = processing.stored(label)
    assert (stored.enabled, stored.disabled_at, stored.updated_execution_id) == (True, None, None)


@then(parsers.re(f"the execution {LABEL} is (?P<state>enabled|disabled)"))
def enabled_or_disabled(processing: Processing, label: str, state: str) -> None:
    stored = processing.stored(label)
    assert stored.enabled is (state == "enabled")
    assert (stored.disabled_at is None) is stored.enabled, f"disabled at {stored.disabled_at}"


@then(parsers.re(f'the chain of {LABEL} is "(?P<labels>[^"]*)"'))
def chain_is(processing: Processing, label: str, labels: str) -> None:
    known = processing.execution(label)
    chain = processing.read(known.organization_id, lambda uow: uow.executions.get_execution_chain(known.id))
    assert processing.labels_of([e.id for e in chain]) == names_in(labels)


@then("the request is refused with an InvalidTransition")
def refused_transition(processing: Processing) -> None:
    error = processing.world.error
    assert isinstance(error, InvalidTransition), f"expected an InvalidTransition, got {error!r}"


# == Auto-execution (pattern 6) ===============================================================
AUTO = f"{UNDERWRITING} (?P<verb>is|has been) auto-executed with the payload {JSON}"


@given(parsers.re(AUTO))
@when(parsers.re(AUTO))
def auto_executed(processing: Processing, underwriting: str, verb: str, text: str) -> None:
    payload = as_json(text)
    if verb == "has been":
        processing.run_auto(underwriting, payload)
    else:
        processing.act(lambda: processing.run_auto(underwriting, payload))


@when(parsers.re(f'{UNDERWRITING} is auto-executed with the documents "(?P<documents>[^"]*)" and the payload:'))
def auto_executed_with_documents(processing: Processing, underwriting: str, documents: str, docstring: str) -> None:
    payload = as_json(docstring)
    processing.act(lambda: processing.run_auto(underwriting, payload, names_in(documents)))


@then("the auto-execution answered:")
def auto_answered(processing: Processing, datatable: list[list[str]]) -> None:
    processing.world.succeeded()
    actual = [{"processor": a.execution.processor, "outcome": a.outcome.value} for a in processing.answers]
    assert actual == table_rows(datatable)


@then(parsers.re('the auto-execution submitted "(?P<names>[^"]*)"'))
def auto_submitted(processing: Processing, names: str) -> None:
    processing.world.succeeded()
    assert [a.execution.processor for a in processing.answers] == names_in(names)


@then(parsers.re('every execution it answered is pending with that payload and the documents "(?P<documents>[^"]*)"'))
def answered_pending(processing: Processing, documents: str) -> None:
    assert processing.answers, "the auto-execution answered nothing"
    for answer in processing.answers:
        stored = stored_execution(processing, answer.execution)
        assert stored == answer.execution
        assert (stored.status, stored.payload, stored.document_revision_ids) == (
            ExecutionStatus.PENDING, processing.payload, names_in(documents))
        assert stored.underwriting_id in processing.underwritings.values()


@then("it answered the executions of the first run")
def answered_first_run(processing: Processing) -> None:
    processing.world.succeeded()
    assert processing.answers is not processing.first_run, "the auto-execution ran once"
    assert [a.execution.id for a in processing.answers] == [a.execution.id for a in processing.first_run]


@given(parsers.re(f"every execution of the first run has completed with the output {JSON}"))
def first_run_completed(processing: Processing, text: str) -> None:
    assert processing.first_run, "no auto-execution ran"
    for number, answer in enumerate(processing.first_run):
        label = f"auto-{number}"
        processing.remember(label, answer.execution)
        processing.start_execution(label)
        processing.complete_execution(label, as_json(text))


__all__ = ["processing", *(name for name in dict(globals()) if name.startswith("pytestbdd_"))]
"""The `processing` fixture and the step fixtures, for `from tests.bdd.processing_steps import *`."""
