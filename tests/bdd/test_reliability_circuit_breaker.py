"""Steps of features/reliability/circuit_breaker.feature: a vendor's circuit breaker (CLOSED, OPEN,
HALF_OPEN) and its per-minute rate limit."""

from __future__ import annotations

import uuid

from pytest_bdd import given, parsers, scenarios, then, when

from application.reliability.commands import NewVendor
from domain.reliability.vendor import BreakerState
from tests.bdd.world import World, names_in, table_rows

scenarios("reliability/circuit_breaker.feature")

VENDOR = r'"(?P<vendor>[^"]+)"'


def ask(world: World, vendor: str, times: int) -> None:
    vendor_id = world.vendor(vendor).id
    world.admissions = []
    for _ in range(times):
        world.admissions.append(world.admit_vendor_call(vendor_id))


def record_calls(world: World, vendor: str, outcomes: list[bool]) -> None:
    vendor_id = world.vendor(vendor).id
    for succeeded in outcomes:
        world.record_vendor_call(vendor_id, succeeded)


# -- Given ------------------------------------------------------------------------------------
@given(parsers.parse('the vendor "{name}" opens its breaker after {threshold:d} consecutive failures for '
                     "{seconds:d} seconds and takes {limit:d} calls a minute"))
def vendor_registered(world: World, name: str, threshold: int, seconds: int, limit: int) -> None:
    world.vendors[name] = world.register_vendor(NewVendor.parse(
        name=name, failure_threshold=threshold, cool_down_seconds=seconds, rate_limit_per_minute=limit))


@given(parsers.re(f"the breaker of {VENDOR} has opened"))
def breaker_opened(world: World, vendor: str) -> None:
    record_calls(world, vendor, [False] * world.vendor(vendor).failure_threshold)
    assert world.current_vendor(vendor).circuit_breaker_state is BreakerState.OPEN


@given(parsers.re(f"a workflow has been admitted to make the trial call to {VENDOR}"))
def trial_admitted(world: World, vendor: str) -> None:
    ask(world, vendor, 1)
    assert (world.admissions[0].allowed, world.admissions[0].reason) == (True, "trial call")


# -- When -------------------------------------------------------------------------------------
@when(parsers.re(f"(?P<count>\\d+) calls? to {VENDOR} (?P<outcome>fails?|succeeds?)"), converters={"count": int})
def calls_end(world: World, count: int, vendor: str, outcome: str) -> None:
    world.attempt(lambda: record_calls(world, vendor, [outcome.startswith("succeed")] * count))


@when(parsers.re(f"the calls to {VENDOR} end in: (?P<outcomes>[a-z, ]+)"))
def calls_end_in(world: World, vendor: str, outcomes: str) -> None:
    results = {"success": True, "failure": False}
    world.attempt(lambda: record_calls(world, vendor, [results[outcome] for outcome in names_in(outcomes)]))


@when(parsers.re(f"a workflow asks to call {VENDOR}"))
def asks_once(world: World, vendor: str) -> None:
    world.attempt(lambda: ask(world, vendor, 1))


@given(parsers.re(f"workflows have asked to call {VENDOR} (?P<times>\\d+) times"), converters={"times": int})
@when(parsers.re(f"workflows ask to call {VENDOR} (?P<times>\\d+) times"), converters={"times": int})
def asks_many(world: World, vendor: str, times: int) -> None:
    world.attempt(lambda: ask(world, vendor, times))


@when("a workflow asks to call a vendor that does not exist")
def asks_missing_vendor(world: World) -> None:
    world.attempt(lambda: world.admit_vendor_call(uuid.uuid4()))


@when(parsers.parse('the operator registers the vendor "{name}" with {setting} set to {value:d}'))
def registers_vendor_with(world: World, name: str, setting: str, value: int) -> None:
    world.attempt(lambda: world.register_vendor(NewVendor.parse(name=name, **{setting: value})))


# -- Then -------------------------------------------------------------------------------------
@then("the answers were:")
def answers_were(world: World, datatable: list[list[str]]) -> None:
    world.succeeded()
    actual = [
        {"allowed": "yes" if admission.allowed else "no", "reason": admission.reason,
         "breaker": admission.state.value, "calls this minute": str(admission.calls_this_minute)}
        for admission in world.admissions
    ]
    assert actual == table_rows(datatable)


@then(parsers.re('the call is (?P<verdict>admitted as|refused because) "(?P<reason>[^"]+)"'))
def call_verdict(world: World, verdict: str, reason: str) -> None:
    world.succeeded()
    assert len(world.admissions) == 1, f"asked {len(world.admissions)} times"
    admission = world.admissions[0]
    assert (admission.allowed, admission.reason) == (verdict == "admitted as", reason), repr(admission)


@then(parsers.re(f"the breaker of {VENDOR} is (?P<state>CLOSED|OPEN|HALF_OPEN)"
                 "(?: with (?P<failures>\\d+) consecutive failures counted)?"))
def breaker_state(world: World, vendor: str, state: str, failures: str | None) -> None:
    world.succeeded()
    stored = world.current_vendor(vendor)
    assert stored.circuit_breaker_state is BreakerState(state)
    if failures is not None:
        assert stored.circuit_breaker_failure_count == int(failures)

