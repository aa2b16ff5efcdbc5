"""Steps shared by the reliability specifications (features/reliability/*.feature): workflows, time,
reporting events one by one or at once, the events and incidents an organization has, and refusals
that name a lifecycle move.

`conftest.py` imports the step fixtures of this module (its `__all__`), which makes them available
to every feature; steps that one feature uses live in that feature's `test_reliability_*.py`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from pytest_bdd import given, parsers, then, when

from application.reliability.ingestion import Ingested
from domain.reliability.incident import Incident, IncidentStatus
from domain.shared.errors import InvalidTransition
from tests.bdd.world import World, moment, names_in, table_rows

QUOTED = r'"(?P<{}>[^"]*)"'
WORKFLOW = QUOTED.format("workflow")
ORGANIZATION = QUOTED.format("organization")
REPORTS = r"(?P<verb>reports|has reported|has tried to report)"
"""`has reported` must succeed (a Given); `reports` and `has tried to` keep a refusal for the Then steps."""

UNITS = {"second": timedelta(seconds=1), "minute": timedelta(minutes=1), "hour": timedelta(hours=1)}


def count_of(text: str) -> int:
    """'no' -> 0, '3' -> 3."""
    return 0 if text == "no" else int(text)


def event_row(row: dict[str, str]) -> dict[str, Any]:
    """An `IncomingEvent`'s details from a table row: key, type, error code, error message, severity,
    occurred at (every column but key and type may be left out or blank)."""
    data: dict[str, Any] = {"idempotency_key": row["key"], "event_type": row["type"]}
    code, message = row.get("error code", ""), row.get("error message", "")
    if code or message:
        data["payload"] = {"error": {"code": code, "message": message}}
    if row.get("severity"):
        data["severity"] = row["severity"]
    if row.get("occurred at"):
        data["occurred_at"] = moment(row["occurred at"])
    return data


def report(world: World, verb: str, workflow: str, **data: Any) -> None:
    if verb == "has reported":
        world.report(workflow, **data)
    else:
        world.attempt(lambda: world.report(workflow, **data))


# -- Given: the platform's state --------------------------------------------------------------
@given(parsers.re(f"{ORGANIZATION} runs the workflow {WORKFLOW}"))
def runs_workflow(world: World, organization: str, workflow: str) -> None:
    world.add_workflow(organization, workflow)


@given(parsers.re(f"the workflow {WORKFLOW} has been (?P<state>paused|resumed)"))
def workflow_paused_or_resumed(world: World, workflow: str, state: str) -> None:
    known = world.workflow(workflow)
    world.workflows[workflow] = world.set_workflow_active(known.tenant_id, known.id, state == "resumed")


@given(parsers.re(r"(?P<count>\d+) (?P<unit>second|minute|hour)s? pass(?:es)?"), converters={"count": int})
@when(parsers.re(r"(?P<count>\d+) (?P<unit>second|minute|hour)s? pass(?:es)?"), converters={"count": int})
def time_passes(world: World, count: int, unit: str) -> None:
    world.clock.advance(count * UNITS[unit])


@given(parsers.re(r'the incident has gone through "(?P<path>[A-Z_, ]+)"'))
def incident_gone_through(world: World, path: str) -> None:
    start, *moves = [IncidentStatus(status) for status in names_in(path)]
    assert world.current_incident().status is start, f"the incident is {world.current_incident().status}"
    for status in moves:
        world.incident = world.move_incident_to(status)


# -- Given / When: reporting events -----------------------------------------------------------
@given(parsers.re(f'{WORKFLOW} {REPORTS} a "(?P<event_type>[^"]*)" event with the key "(?P<key>[^"]*)"'))
@when(parsers.re(f'{WORKFLOW} {REPORTS} a "(?P<event_type>[^"]*)" event with the key "(?P<key>[^"]*)"'))
def reports_event(world: World, verb: str, workflow: str, event_type: str, key: str) -> None:
    report(world, verb, workflow, event_type=event_type, idempotency_key=key)


PAYLOAD_EVENT = f'{WORKFLOW} {REPORTS} a "(?P<event_type>[^"]*)" event with the key "(?P<key>[^"]*)" and the payload:'


@given(parsers.re(PAYLOAD_EVENT))
@when(parsers.re(PAYLOAD_EVENT))
def reports_event_with_payload(world: World, verb: str, workflow: str, event_type: str, key: str,
                               docstring: str) -> None:
    report(world, verb, workflow, event_type=event_type, idempotency_key=key, payload=json.loads(docstring))


ERROR_EVENT = f'{WORKFLOW} {REPORTS} a "(?P<event_type>[^"]*)" event with the key "(?P<key>[^"]*)" ' \
              r'and the error (?P<code>\w+) "(?P<message>[^"]*)"'


@given(parsers.re(ERROR_EVENT))
@when(parsers.re(ERROR_EVENT))
def reports_failure(world: World, verb: str, workflow: str, event_type: str, key: str,
                    code: str, message: str) -> None:
    payload = {"error": {"code": code, "message": message}}
    report(world, verb, workflow, event_type=event_type, idempotency_key=key, payload=payload)


TABLE = f"{WORKFLOW} (?P<verb>reports|has reported) these events" \
        r"(?:, (?P<count>\d+) (?P<unit>second|minute|hour)s? apart)?:"


@given(parsers.re(TABLE))
@when(parsers.re(TABLE))
def reports_events_one_by_one(world: World, verb: str, workflow: str, count: str | None, unit: str | None,
                              datatable: list[list[str]]) -> None:
    """One request per row, `count` `unit`s apart; a refusal stops the rest."""
    gap = int(count) * UNITS[unit] if count and unit else timedelta()

    def report_all() -> None:
        for number, row in enumerate(table_rows(datatable)):
            if number:
                world.clock.advance(gap)
            world.report(workflow, **event_row(row))

    if verb == "has reported":
        report_all()
    else:
        world.attempt(report_all)


@when(parsers.re(f"{WORKFLOW} reports these events at once:"))
def reports_events_at_once(world: World, workflow: str, datatable: list[list[str]]) -> None:
    rows = [event_row(row) for row in table_rows(datatable)]
    world.attempt(lambda: world.report_at_once(workflow, rows))


# -- Then: what was recorded ------------------------------------------------------------------
def last_result(world: World) -> Ingested:
    world.succeeded()
    assert len(world.results) == 1, f"the last report was answered {len(world.results)} times"
    return world.results[0]


@then("the event is recorded as new")
def recorded_as_new(world: World) -> None:
    result = last_result(world)
    assert result.created, f"the key {result.event.idempotency_key!r} was taken for one already recorded"
    organization = world.organization_of(result.event.tenant_id)
    stored = world.read(organization, lambda uow: uow.events.get_by_idempotency_key(result.event.idempotency_key))
    assert stored == result.event


@then(parsers.re('the event is taken for the one first recorded under the key "(?P<key>[^"]*)"'))
def taken_for_first(world: World, key: str) -> None:
    result = last_result(world)
    first = world.first_recorded(key)
    assert not result.created, "the event was recorded as new"
    assert result.event == first, f"answered with {result.event!r}, first recorded {first!r}"
    organization = world.organization_of(first.tenant_id)
    assert world.read(organization, lambda uow: uow.events.get_by_idempotency_key(key)) == first


@then("the report joined no incident")
def joined_no_incident(world: World) -> None:
    result = last_result(world)
    assert result.incident is None, f"the report joined {result.incident!r}"


@then(parsers.re(f"{ORGANIZATION} has (?P<count>no|\\d+) events? recorded"), converters={"count": count_of})
def events_recorded(world: World, organization: str, count: int) -> None:
    assert len(world.events_of(organization)) == count
    assert world.read(organization, lambda uow: uow.events.count_events()) == count


@then(parsers.re(f"{ORGANIZATION} has (?P<count>no|\\d+) (?P<only_open>open )?incidents?"),
      converters={"count": count_of})
def incidents_count(world: World, organization: str, count: int, only_open: str | None) -> None:
    incidents = world.incidents_of(organization)
    if only_open:
        incidents = [incident for incident in incidents if incident.is_open]
    assert len(incidents) == count, f"{organization} has {incidents!r}"


INCIDENT_COLUMNS: dict[str, Callable[[Incident], str]] = {
    "title": lambda incident: incident.title,
    "status": lambda incident: incident.status.value,
    "severity": lambda incident: incident.severity.value,
    "events": lambda incident: str(incident.event_count),
    "first seen": lambda incident: incident.first_seen_at.isoformat(),
    "last seen": lambda incident: incident.last_seen_at.isoformat(),
}
"""How a column of an incidents table shows an incident."""


@then(parsers.re(f"{ORGANIZATION} has these incidents:"))
def has_incidents(world: World, organization: str, datatable: list[list[str]]) -> None:
    """In any order: incidents opened at the same moment have no order of their own."""
    expected = table_rows(datatable)
    actual = [{column: INCIDENT_COLUMNS[column](incident) for column in datatable[0]}
              for incident in world.incidents_of(organization)]
    assert sorted(actual, key=lambda row: sorted(row.items())) == sorted(expected, key=lambda row: sorted(row.items()))


def check_labels(labelled: list[tuple[str, Incident | None]]) -> None:
    """Rows with one label share one incident, rows with different labels do not; 'none' is no incident."""
    ids: dict[str, object] = {}
    for label, incident in labelled:
        if label == "none":
            assert incident is None, f"expected no incident, got {incident!r}"
            continue
        assert incident is not None, f"expected the incident {label}, got none"
        ids.setdefault(label, incident.id)
        assert ids[label] == incident.id, f"the incident {label} is two incidents"
    assert len(set(ids.values())) == len(ids), f"different labels are one incident: {ids}"


@then("the events were grouped into incidents like this:")
def grouped_like(world: World, datatable: list[list[str]]) -> None:
    world.succeeded()
    joined = {result.event.idempotency_key: result.incident for result in reversed(world.reported) if result.created}
    rows = table_rows(datatable)
    assert all(row["key"] in joined for row in rows), f"keys recorded: {sorted(joined)}"
    check_labels([(row["incident"], joined[row["key"]]) for row in rows])


@then("the batch was answered with:")
def batch_answered(world: World, datatable: list[list[str]]) -> None:
    world.succeeded()
    rows = table_rows(datatable)
    actual = [{"key": result.event.idempotency_key, "recorded": "new" if result.created else "duplicate"}
              for result in world.results]
    assert actual == [{"key": row["key"], "recorded": row["recorded"]} for row in rows]
    check_labels([(row["incident"], result.incident) for row, result in zip(rows, world.results, strict=True)])


# -- Then: refusals ---------------------------------------------------------------------------
@then(parsers.parse('the request is refused with an InvalidTransition from "{from_state}" to "{to_state}"'))
def refused_transition(world: World, from_state: str, to_state: str) -> None:
    assert isinstance(world.error, InvalidTransition), f"expected an InvalidTransition, got {world.error!r}"
    assert (world.error.from_state, world.error.to_state) == (from_state, to_state), str(world.error)


@then(parsers.parse('the request is refused with an {error:w} mentioning "{text}"'))
def refused_mentioning(world: World, error: str, text: str) -> None:
    assert world.error is not None, f"the request succeeded; expected an {error}"
    assert type(world.error).__name__ == error, f"refused with {type(world.error).__name__}: {world.error}"
    assert text in str(world.error), f"{text!r} is not in the message {str(world.error)!r}"


__all__ = [name for name in dict(globals()) if name.startswith("pytestbdd_")]
"""Only the step fixtures, for `from tests.bdd.reliability_steps import *` in conftest.py."""
