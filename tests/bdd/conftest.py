"""Fixtures and shared steps of the tenancy specifications (features/tenancy/*.feature); the steps
shared by the reliability specifications are in `reliability_steps.py`, imported below.

Every scenario gets a fresh in-memory container (manual clock, empty memory database) and a
`World` that carries what one step did to the steps after it: the organizations registered by
name, the last result, and the error a request was refused with.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta

import pytest
from pytest_bdd import given, parsers, then, when

from application.container import Container
from domain.shared.errors import ValidationError
from domain.tenancy.tenant import Tenant
from tests.bdd.processing_steps import *  # noqa: F403 - `processing` and its step fixtures, for every feature
from tests.bdd.reliability_steps import *  # noqa: F403 - its step fixtures (`__all__`), for every feature
from tests.bdd.world import World, moment, names_in, quoted, table_rows, yes_no


# -- fixtures ---------------------------------------------------------------------------------
@pytest.fixture
def container(portside_container: Container) -> Container:
    """A fresh in-memory container per scenario: the plugin's, whose overrides are reset after."""
    return portside_container


@pytest.fixture
def world(container: Container) -> World:
    return World(container)


# -- Given: the state of the platform ---------------------------------------------------------
@given(parsers.parse('it is "{now}"'))
def given_the_time(world: World, now: str) -> None:
    world.clock.set(moment(now))


@given("an hour passes")
def given_an_hour_passes(world: World) -> None:
    world.clock.advance(timedelta(hours=1))


@given(parsers.parse('the organization "{name}" is registered'))
def given_registered(world: World, name: str) -> None:
    world.register(name=name)


@given("these organizations are registered, one minute apart:")
def given_registered_one_minute_apart(world: World, datatable: list[list[str]]) -> None:
    for row in table_rows(datatable):
        world.register(name=row["name"], slug=row.get("slug") or None, is_active=yes_no(row.get("active", "yes")))
        world.clock.advance(timedelta(minutes=1))


@given(parsers.parse('the organization "{name}" has been removed'))
def given_removed(world: World, name: str) -> None:
    world.delete_tenant(world.id_of(name))


@given("no organization is registered")
@then("no organization is registered")
def no_organization(world: World) -> None:
    assert world.registered() == []


# -- When: requests shared by several features ------------------------------------------------
@when(parsers.re(f"the operator registers an organization named {quoted('name')}"))
def when_register(world: World, name: str) -> None:
    world.tenant = world.attempt(lambda: world.register(name=name))


@when(parsers.parse('the operator removes "{name}"'))
def when_remove(world: World, name: str) -> None:
    world.attempt(lambda: world.delete_tenant(world.id_of(name)))


# -- Then: outcomes ---------------------------------------------------------------------------
SHOWN: dict[str, Callable[[Tenant], str]] = {
    "name": lambda tenant: tenant.name,
    "slug": lambda tenant: tenant.slug,
    "active": lambda tenant: "yes" if tenant.is_active else "no",
}
"""How a column of an organizations table shows an organization."""


@then(parsers.parse("the request is refused with a {error:w}"))
def refused(world: World, error: str) -> None:
    assert world.error is not None, f"the request succeeded; expected a {error}"
    assert type(world.error).__name__ == error, f"refused with {type(world.error).__name__}: {world.error}"


@then(parsers.parse('the request is refused with a {error:w} mentioning "{text}"'))
def refused_mentioning(world: World, error: str, text: str) -> None:
    refused(world, error)
    assert text in str(world.error), f"{text!r} is not in the message {str(world.error)!r}"


@then(parsers.parse('the request is refused with a ValidationError naming "{name}"'))
def refused_naming(world: World, name: str) -> None:
    refused(world, "ValidationError")
    assert isinstance(world.error, ValidationError)
    assert world.error.field == name, f"the error names {world.error.field!r}: {world.error}"


@then(parsers.re(r"(?P<count>\d+) organizations? (?:is|are) registered"), converters={"count": int})
def count_registered(world: World, count: int) -> None:
    assert len(world.registered()) == count


@then("the registered organizations are:")
def registered_are(world: World, datatable: list[list[str]]) -> None:
    expected = table_rows(datatable)
    actual = [{column: SHOWN[column](t) for column in datatable[0]} for t in world.registered()]
    assert actual == expected


@then(parsers.parse('the organization "{name}" is registered with the slug "{slug}"'))
def registered_with_slug(world: World, name: str, slug: str) -> None:
    world.succeeded()
    assert world.tenant is not None
    assert (world.tenant.name, world.tenant.slug) == (name, slug)
    stored = world.current(name)
    assert (stored.name, stored.slug) == (name, slug)


@then(parsers.parse('the organization "{name}" is named "{new_name}" at version {version:d}'))
def named_at_version(world: World, name: str, new_name: str, version: int) -> None:
    stored = world.current(name)
    assert (stored.name, stored.version) == (new_name, version)


@then(parsers.parse('the settings of "{name}" are:'))
def settings_are(world: World, name: str, docstring: str) -> None:
    assert world.current(name).settings == json.loads(docstring)


@then(parsers.re(f"the listed organizations are {quoted('names')}"))
def listed_are(world: World, names: str) -> None:
    world.succeeded()
    assert [t.name for t in world.listed] == names_in(names)


@then(parsers.parse("the total is {total:d}"))
def total_is(world: World, total: int) -> None:
    world.succeeded()
    assert world.page is not None, "no page by position was listed"
    assert world.page.total == total
