"""Steps of features/reliability/kill_switch.feature: stopping one workflow or a whole organization,
and releasing the stop."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from pytest_bdd import given, parsers, scenarios, then, when

from application.reliability.commands import KillSwitchActivation, KillSwitchRelease
from domain.reliability.errors import KillSwitchEngaged
from domain.reliability.filters import KillSwitchFilter
from domain.reliability.kill_switch import KillSwitch
from tests.bdd.reliability_steps import ORGANIZATION, WORKFLOW, count_of
from tests.bdd.world import World, moment

scenarios("reliability/kill_switch.feature")

OPERATOR = r'the operator "(?P<who>[^"]+)"'
REASON = r'because "(?P<reason>[^"]+)"'


def activate(world: World, tenant_id: uuid.UUID, workflow_id: uuid.UUID | None, who: str, reason: str) -> KillSwitch:
    switch = world.activate_kill_switch(KillSwitchActivation.parse(
        tenant_id=tenant_id, workflow_id=workflow_id, reason=reason, activated_by=who))
    world.switch = switch
    world.switches.append(switch)
    return switch


def release(world: World, switch: KillSwitch, who: str, as_organization: str | None = None) -> KillSwitch:
    tenant_id = world.id_of(as_organization) if as_organization else switch.tenant_id
    return world.release_kill_switch(KillSwitchRelease.parse(
        tenant_id=tenant_id, kill_switch_id=switch.id, released_by=who))


def chosen(world: World) -> KillSwitch:
    assert world.switch is not None, "no kill switch was activated in this scenario"
    return world.switch


def run(world: World, verb: str, action: Callable[[], object]) -> None:
    """`has ...` must succeed (a Given); otherwise a refusal is kept for the Then steps."""
    if verb.startswith("has "):
        action()
    else:
        world.attempt(action)


# -- Given / When -----------------------------------------------------------------------------
@given(parsers.re(f"{OPERATOR} (?P<verb>has stopped|stops) {WORKFLOW} {REASON}"))
@when(parsers.re(f"{OPERATOR} (?P<verb>has stopped|stops) {WORKFLOW} {REASON}"))
def stops_workflow(world: World, who: str, verb: str, workflow: str, reason: str) -> None:
    known = world.workflow(workflow)
    run(world, verb, lambda: activate(world, known.tenant_id, known.id, who, reason))


@given(parsers.re(f"{OPERATOR} (?P<verb>has stopped|stops) everything {ORGANIZATION} runs {REASON}"))
@when(parsers.re(f"{OPERATOR} (?P<verb>has stopped|stops) everything {ORGANIZATION} runs {REASON}"))
def stops_organization(world: World, who: str, verb: str, organization: str, reason: str) -> None:
    run(world, verb, lambda: activate(world, world.id_of(organization), None, who, reason))


@when(parsers.re(f"{OPERATOR} stops a workflow of {ORGANIZATION} that does not exist"))
def stops_missing_workflow(world: World, who: str, organization: str) -> None:
    world.attempt(lambda: activate(world, world.id_of(organization), uuid.uuid4(), who, "maintenance"))


@when(parsers.re(f"{ORGANIZATION} tries to stop {WORKFLOW}"))
def organization_stops_other_workflow(world: World, organization: str, workflow: str) -> None:
    workflow_id = world.workflow(workflow).id
    world.attempt(lambda: activate(world, world.id_of(organization), workflow_id, "ops@intruder", "takeover"))


@given(parsers.re(f"{OPERATOR} (?P<verb>has released|releases) the kill switch"))
@when(parsers.re(f"{OPERATOR} (?P<verb>has released|releases) the kill switch"))
def releases(world: World, who: str, verb: str) -> None:
    run(world, verb, lambda: release(world, chosen(world), who))


@when(parsers.re(f"{OPERATOR} releases the tenant-wide kill switch"))
def releases_tenant_wide(world: World, who: str) -> None:
    tenant_wide = [switch for switch in world.switches if switch.workflow_id is None]
    assert len(tenant_wide) == 1, f"tenant-wide switches activated: {tenant_wide!r}"
    world.attempt(lambda: release(world, tenant_wide[0], who))


@when(parsers.re(f"{ORGANIZATION} tries to release the kill switch"))
def organization_releases_other_switch(world: World, organization: str) -> None:
    world.attempt(lambda: release(world, chosen(world), "ops@intruder", as_organization=organization))


# -- Then -------------------------------------------------------------------------------------
@then(parsers.re(f"the refusal names the kill switch and the workflow {WORKFLOW}"))
def refusal_names_switch(world: World, workflow: str) -> None:
    assert isinstance(world.error, KillSwitchEngaged), f"expected a KillSwitchEngaged, got {world.error!r}"
    assert world.error.switch_id == chosen(world).id
    assert world.error.workflow_id == world.workflow(workflow).id


@then(parsers.re(f"the kill switch is active on {WORKFLOW}"))
def switch_active_on(world: World, workflow: str) -> None:
    stored = world.current_switch()
    assert stored.is_active, f"the kill switch was released by {stored.released_by}"
    assert stored.workflow_id == world.workflow(workflow).id
    assert (stored.released_by, stored.released_at) == (None, None)


@then(parsers.re(f'the kill switch was activated by "(?P<who>[^"]+)" at "(?P<at>[^"]+)" {REASON}'))
def switch_activated_by(world: World, who: str, at: str, reason: str) -> None:
    world.succeeded()
    stored = world.current_switch()
    assert (stored.activated_by, stored.activated_at, stored.reason) == (who, moment(at), reason)


@then(parsers.re('the kill switch is released by "(?P<who>[^"]+)" at "(?P<at>[^"]+)"'))
def switch_released_by(world: World, who: str, at: str) -> None:
    stored = world.current_switch()
    assert not stored.is_active, "the kill switch is still active"
    assert (stored.released_by, stored.released_at) == (who, moment(at))


@then(parsers.re("(?P<which>the same|a different) kill switch is returned"))
def same_or_different_switch(world: World, which: str) -> None:
    world.succeeded()
    assert len(world.switches) >= 2, "fewer than two activations"
    first, last = world.switches[0], world.switches[-1]
    assert (first.id == last.id) is (which == "the same"), f"activated {first.id}, then returned {last.id}"


@then(parsers.re(f"{ORGANIZATION} has (?P<count>no|\\d+) active kill switch(?:es)?"), converters={"count": count_of})
def active_switches(world: World, organization: str, count: int) -> None:
    active = world.read(organization, lambda uow: uow.kill_switches.count(KillSwitchFilter(is_active=True)))
    assert active == count
