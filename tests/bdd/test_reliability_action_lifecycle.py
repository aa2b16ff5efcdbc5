"""Steps of features/reliability/action_lifecycle.feature: decisions on an incident, the lifecycle
of a remediation action, and the moves an incident may make."""

from __future__ import annotations

import json
import math
from datetime import timedelta
from typing import Any

from pytest_bdd import given, parsers, scenarios, then, when

from application.reliability.commands import ActionOutcome, NewAction, NewDecision
from domain.reliability.action import Action, ActionStatus
from domain.reliability.decision import Decision
from domain.reliability.incident import IncidentStatus
from tests.bdd.reliability_steps import ORGANIZATION, count_of
from tests.bdd.world import World, moment, table_rows

scenarios("reliability/action_lifecycle.feature")

STATUS = "(?P<status>[A-Z_]+)"


def the_action(world: World) -> Action:
    assert world.action is not None, "no action was proposed in this scenario"
    return world.action


def tenant_of(world: World, organization: str | None) -> object:
    """The organization a request is sent for: `organization`, or the incident's own."""
    if organization:
        return world.id_of(organization)
    return world.current_incident().tenant_id


def propose(world: World, action_type: str, organization: str | None = None,
            parameters: dict[str, Any] | None = None) -> Action:
    incident = world.current_incident()
    return world.propose_action(NewAction.parse(
        tenant_id=tenant_of(world, organization), incident_id=incident.id, action_type=action_type,
        parameters=parameters or {}))


def start(world: World, organization: str | None = None) -> Action:
    return world.start_action(tenant_of(world, organization), the_action(world).id)


def finish(world: World, succeeded: bool, result: dict[str, Any] | None = None,
           organization: str | None = None) -> Action:
    return world.finish_action(ActionOutcome.parse(
        tenant_id=tenant_of(world, organization), action_id=the_action(world).id, succeeded=succeeded,
        result=result or {}))


def decide(world: World, decision_type: str, confidence: str, organization: str | None = None,
           model: str = "gpt-4o", reasoning: str = "Transient upstream timeouts") -> Decision:
    incident = world.current_incident()
    return world.record_decision(NewDecision.parse(
        tenant_id=tenant_of(world, organization), incident_id=incident.id, decision_type=decision_type,
        confidence_score=confidence, reasoning=reasoning, ai_model=model))


def keep(world: World, action: Action) -> Action:
    world.action = action
    return action


# -- Given / When: actions --------------------------------------------------------------------
@given(parsers.re('the operator has proposed a "(?P<action_type>[^"]+)" action on the incident'))
def proposed(world: World, action_type: str) -> None:
    keep(world, propose(world, action_type))


@when(parsers.re('the operator proposes a "(?P<action_type>[^"]+)" action on the incident'))
def proposes(world: World, action_type: str) -> None:
    world.attempt(lambda: keep(world, propose(world, action_type)))


@when(parsers.re('the operator proposes a "(?P<action_type>[^"]+)" action on the incident with the parameters:'))
def proposes_with_parameters(world: World, action_type: str, docstring: str) -> None:
    parameters = json.loads(docstring)
    world.attempt(lambda: keep(world, propose(world, action_type, parameters=parameters)))


@when(parsers.re(f'{ORGANIZATION} proposes a "(?P<action_type>[^"]+)" action on the incident'))
def organization_proposes(world: World, organization: str, action_type: str) -> None:
    world.attempt(lambda: propose(world, action_type, organization))


@given("the operator has started the action")
def started(world: World) -> None:
    keep(world, start(world))


@when("the operator starts the action")
def starts(world: World) -> None:
    world.attempt(lambda: keep(world, start(world)))


@when(parsers.re(f"{ORGANIZATION} starts the action"))
def organization_starts(world: World, organization: str) -> None:
    world.attempt(lambda: start(world, organization))


@when(parsers.re("the operator finishes the action as (?P<outcome>succeeded|failed) with the result:"))
def finishes_with_result(world: World, outcome: str, docstring: str) -> None:
    result = json.loads(docstring)
    world.attempt(lambda: keep(world, finish(world, outcome == "succeeded", result)))


@when(parsers.re("the operator finishes the action as (?P<outcome>succeeded|failed)"))
def finishes(world: World, outcome: str) -> None:
    world.attempt(lambda: keep(world, finish(world, outcome == "succeeded")))


@when(parsers.re(f"{ORGANIZATION} finishes the action as (?P<outcome>succeeded|failed)"))
def organization_finishes(world: World, organization: str, outcome: str) -> None:
    world.attempt(lambda: finish(world, outcome == "succeeded", organization=organization))


@given(parsers.re(f"the operator has taken the action to {STATUS}"))
def taken_to(world: World, status: str) -> None:
    target = ActionStatus(status)
    if target is not ActionStatus.PENDING:
        keep(world, start(world))
    if target in (ActionStatus.SUCCEEDED, ActionStatus.FAILED):
        keep(world, finish(world, target is ActionStatus.SUCCEEDED))
    assert world.current_action().status is target


# -- When: decisions and incident moves -------------------------------------------------------
@when(parsers.re("the decision engine records these decisions on the incident, (?P<minutes>\\d+) minutes? apart:"),
      converters={"minutes": int})
def records_decisions(world: World, minutes: int, datatable: list[list[str]]) -> None:
    def record_all() -> None:
        for number, row in enumerate(table_rows(datatable)):
            if number:
                world.clock.advance(timedelta(minutes=minutes))
            decide(world, row["decision"], row["confidence"], model=row["model"], reasoning=row["reasoning"])

    world.attempt(record_all)


@when(parsers.re('the decision engine records a "(?P<decision_type>[^"]+)" decision on the incident '
                 "with the confidence (?P<confidence>\\S+)"))
def records_decision(world: World, decision_type: str, confidence: str) -> None:
    world.attempt(lambda: decide(world, decision_type, confidence))


@when(parsers.re(f'{ORGANIZATION} records a "(?P<decision_type>[^"]+)" decision on the incident '
                 "with the confidence (?P<confidence>\\S+)"))
def organization_records_decision(world: World, organization: str, decision_type: str, confidence: str) -> None:
    world.attempt(lambda: decide(world, decision_type, confidence, organization))


@when(parsers.re(f"the operator moves the incident to {STATUS}"))
def moves_incident(world: World, status: str) -> None:
    world.attempt(lambda: world.move_incident_to(IncidentStatus(status)))


@when(parsers.re(f"{ORGANIZATION} moves the incident to {STATUS}"))
def organization_moves_incident(world: World, organization: str, status: str) -> None:
    world.attempt(lambda: world.move_incident_to(IncidentStatus(status), organization))


# -- Then -------------------------------------------------------------------------------------
@then(parsers.re(f"the action is (?P<still>still )?{STATUS} at version (?P<version>\\d+)"),
      converters={"version": int})
def action_is(world: World, still: str | None, status: str, version: int) -> None:
    if not still:
        world.succeeded()
    stored = world.current_action()
    assert (stored.status, stored.version) == (ActionStatus(status), version)
    if not still:
        assert stored == world.action, "the stored action is not the one the request returned"


@then(parsers.re("the action has the (?P<what>parameters|result):"))
def action_has(world: World, what: str, docstring: str) -> None:
    stored = world.current_action()
    assert (stored.parameters if what == "parameters" else stored.result) == json.loads(docstring)


@then(parsers.re('the action was (?P<what>started|finished) at "(?P<at>[^"]+)"'))
def action_time(world: World, what: str, at: str) -> None:
    stored = world.current_action()
    assert (stored.started_at if what == "started" else stored.finished_at) == moment(at)


@then(parsers.re(f"the incident is (?P<still>still )?{STATUS}"))
def incident_is(world: World, still: str | None, status: str) -> None:
    if not still:
        world.succeeded()
    assert world.current_incident().status is IncidentStatus(status)


@then(parsers.re("the incident has (?P<count>no|\\d+) actions?"), converters={"count": count_of})
def incident_actions(world: World, count: int) -> None:
    incident = world.current_incident()
    organization = world.organization_of(incident.tenant_id)
    assert len(world.read(organization, lambda uow: uow.actions.list_for_incident(incident.id))) == count


def decisions_on_incident(world: World) -> list[Decision]:
    incident = world.current_incident()
    organization = world.organization_of(incident.tenant_id)
    return world.read(organization, lambda uow: uow.decisions.list_for_incident(incident.id))


@then(parsers.re("the incident has (?P<count>no|\\d+) decisions?"), converters={"count": count_of})
def incident_decisions(world: World, count: int) -> None:
    assert len(decisions_on_incident(world)) == count


@then("the decisions on the incident are:")
def decisions_are(world: World, datatable: list[list[str]]) -> None:
    world.succeeded()
    actual = [
        {"decision": d.decision_type, "confidence": d.confidence_score, "model": d.ai_model, "taken at": d.created_at}
        for d in decisions_on_incident(world)
    ]
    expected = [
        {"decision": row["decision"], "confidence": float(row["confidence"]), "model": row["model"],
         "taken at": moment(row["taken at"])}
        for row in table_rows(datatable)
    ]
    assert all(math.isfinite(float(row["confidence"])) for row in table_rows(datatable))
    assert actual == expected
