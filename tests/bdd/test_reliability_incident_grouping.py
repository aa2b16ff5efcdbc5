"""Steps of features/reliability/incident_grouping.feature: failures with one error signature are
one open incident; most steps are shared (reliability_steps.py)."""

from __future__ import annotations

from pytest_bdd import scenarios, then

from tests.bdd.reliability_steps import last_result
from tests.bdd.world import World

scenarios("reliability/incident_grouping.feature")


@then("the report joined that incident")
def joined_that_incident(world: World) -> None:
    result = last_result(world)
    assert result.incident is not None, "the report joined no incident"
    incidents = world.incidents_of(world.organization_of(result.event.tenant_id))
    assert [incident.id for incident in incidents] == [result.incident.id]
    assert incidents[0] == result.incident
