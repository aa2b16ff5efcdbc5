"""Steps of features/reliability/idempotent_ingestion.feature: an idempotency key records one event
per organization, and events for workflows that cannot take them are refused with nothing written."""

from __future__ import annotations

import json
import uuid
from typing import Any

from pytest_bdd import parsers, scenarios, then, when

from application.reliability.commands import IncomingEvent
from domain.reliability.event import Event
from tests.bdd.reliability_steps import ORGANIZATION, WORKFLOW, event_row
from tests.bdd.world import World, table_rows

scenarios("reliability/idempotent_ingestion.feature")


def ingest_as(world: World, organization: str, workflow_id: uuid.UUID, **data: Any) -> None:
    command = IncomingEvent.parse(tenant_id=world.id_of(organization), workflow_id=workflow_id, **data)
    world.attempt(lambda: world.ingest_event(command))


def stored(world: World, event: Event) -> Event | None:
    """`event` as its organization has it recorded."""
    return world.read(world.organization_of(event.tenant_id), lambda uow: uow.events.get_by_id(event.id))


# -- When -------------------------------------------------------------------------------------
@when(parsers.re(f'{ORGANIZATION} reports a "(?P<event_type>[^"]+)" event with the key "(?P<key>[^"]+)" '
                 "for a workflow that does not exist"))
def reports_for_missing_workflow(world: World, organization: str, event_type: str, key: str) -> None:
    ingest_as(world, organization, uuid.uuid4(), event_type=event_type, idempotency_key=key)


@when(parsers.re(f'{ORGANIZATION} reports a "(?P<event_type>[^"]+)" event with the key "(?P<key>[^"]+)" '
                 f"for the workflow {WORKFLOW}"))
def reports_for_other_workflow(world: World, organization: str, event_type: str, key: str, workflow: str) -> None:
    ingest_as(world, organization, world.workflow(workflow).id, event_type=event_type, idempotency_key=key)


@when(parsers.re(f"{WORKFLOW} reports an event with:"))
def reports_event_with(world: World, workflow: str, datatable: list[list[str]]) -> None:
    details = {row[0]: row[1] for row in datatable}
    data = {"event_type": details["type"], "idempotency_key": details["key"], "severity": details["severity"]}
    world.attempt(lambda: world.report(workflow, **data))


@when(parsers.re(f'{WORKFLOW} reports a "(?P<event_type>[^"]+)" event with a key of (?P<length>\\d+) '
                 "(?P<what>spaces|characters)"), converters={"length": int})
def reports_with_key_of(world: World, workflow: str, event_type: str, length: int, what: str) -> None:
    key = (" " if what == "spaces" else "k") * length
    world.attempt(lambda: world.report(workflow, event_type=event_type, idempotency_key=key))


@when(parsers.re(f"{WORKFLOW} reports these events at once, the last for a workflow that does not exist:"))
def reports_batch_with_missing_workflow(world: World, workflow: str, datatable: list[list[str]]) -> None:
    known = world.workflow(workflow)
    rows = [event_row(row) for row in table_rows(datatable)]
    workflow_ids = [known.id] * (len(rows) - 1) + [uuid.uuid4()]
    commands = [IncomingEvent.parse(tenant_id=known.tenant_id, workflow_id=workflow_id, **row)
                for row, workflow_id in zip(rows, workflow_ids, strict=True)]
    world.attempt(lambda: world.ingest_events(commands))


@when(parsers.parse('the events "{first_key}" of "{first}" and "{second_key}" of "{second}" are reported at once'))
def reports_batch_of_two_organizations(world: World, first_key: str, first: str, second_key: str,
                                       second: str) -> None:
    commands = [
        IncomingEvent.parse(tenant_id=world.workflow(name).tenant_id, workflow_id=world.workflow(name).id,
                            event_type="run.started", idempotency_key=key)
        for key, name in ((first_key, first), (second_key, second))
    ]
    world.attempt(lambda: world.ingest_events(commands))


# -- Then -------------------------------------------------------------------------------------
@then(parsers.parse('the event recorded under the key "{key}" has the payload:'))
def recorded_payload(world: World, key: str, docstring: str) -> None:
    first = world.first_recorded(key)
    stored = world.read(world.organization_of(first.tenant_id), lambda uow: uow.events.get_by_idempotency_key(key))
    assert stored is not None, f"no event is recorded under the key {key!r}"
    assert stored.payload == json.loads(docstring)


@then(parsers.parse('the events recorded under the key "{key}" are {count:d} different events'))
def different_events(world: World, key: str, count: int) -> None:
    events = [result.event for result in world.reported if result.created and result.event.idempotency_key == key]
    assert len({event.id for event in events}) == count, f"recorded under {key!r}: {events!r}"
    for event in events:
        assert stored(world, event) == event


@then("every duplicate in the batch is the event first recorded under its key")
def duplicates_are_first(world: World) -> None:
    world.succeeded()
    duplicates = [result for result in world.results if not result.created]
    assert duplicates, "the batch had no duplicate"
    for result in duplicates:
        assert result.event == world.first_recorded(result.event.idempotency_key)
