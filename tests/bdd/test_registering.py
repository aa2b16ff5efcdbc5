"""Steps of features/tenancy/registering.feature: registering one organization or many at once."""

from __future__ import annotations

import json

from pytest_bdd import parsers, scenarios, then, when

from application.tenancy.use_cases import NewTenant
from domain.tenancy.tenant import SLUG_PATTERN
from tests.bdd.world import World, moment, quoted, table_rows

scenarios("tenancy/registering.feature")


@when(parsers.re(f"the operator registers an organization named {quoted('name')} with the slug {quoted('slug')}"))
def register_with_slug(world: World, name: str, slug: str) -> None:
    world.tenant = world.attempt(lambda: world.register(name=name, slug=slug))


@when(parsers.parse('the operator registers an inactive organization named "{name}" with the settings:'))
def register_inactive_with_settings(world: World, name: str, docstring: str) -> None:
    settings = json.loads(docstring)
    world.tenant = world.attempt(lambda: world.register(name=name, is_active=False, settings=settings))


@when(parsers.parse('the operator registers an organization named "{name}" with the unexpected detail "{detail}"'))
def register_with_unexpected_detail(world: World, name: str, detail: str) -> None:
    world.tenant = world.attempt(lambda: world.register(name=name, **{detail: "red"}))


@when(parsers.parse('the operator registers an organization named {count:d} times "{letter}" followed by "{tail}"'))
def register_long_name(world: World, count: int, letter: str, tail: str) -> None:
    world.tenant = world.attempt(lambda: world.register(name=letter * count + tail))


@when("the operator registers these organizations at once:")
def register_at_once(world: World, datatable: list[list[str]]) -> None:
    def register_all() -> None:
        commands = [NewTenant.parse(name=row["name"], slug=row["slug"] or None) for row in table_rows(datatable)]
        for tenant in world.create_tenants(commands):
            world.remember(tenant)

    world.attempt(register_all)


@then(parsers.parse('it can be found by the slug "{slug}"'))
def found_by_slug(world: World, slug: str) -> None:
    world.succeeded()
    assert world.tenant is not None
    found = world.get_tenant.by_slug(slug)
    assert found is not None, f"no organization has the slug {slug!r}"
    assert found == world.tenant


@then(parsers.re("the new organization is (?P<state>active|inactive)"))
def new_organization_state(world: World, state: str) -> None:
    world.succeeded()
    assert world.tenant is not None
    assert world.tenant.is_active is (state == "active")
    assert world.get_tenant(world.tenant.id).is_active is (state == "active")


@then(parsers.parse("the new organization is at version {version:d}"))
def new_organization_version(world: World, version: int) -> None:
    world.succeeded()
    assert world.tenant is not None
    assert world.tenant.version == version


@then("the new organization has no settings")
def new_organization_without_settings(world: World) -> None:
    world.succeeded()
    assert world.tenant is not None
    assert world.get_tenant(world.tenant.id).settings == {}


@then(parsers.parse('the new organization was registered and last changed at "{when_}"'))
def new_organization_times(world: World, when_: str) -> None:
    world.succeeded()
    assert world.tenant is not None
    stored = world.get_tenant(world.tenant.id)
    assert stored.created_at == stored.updated_at == moment(when_)


@then("the new organization has a well-formed slug of at most 63 characters")
def new_organization_has_a_good_slug(world: World) -> None:
    world.succeeded()
    assert world.tenant is not None
    assert len(world.tenant.slug) <= 63
    assert SLUG_PATTERN.fullmatch(world.tenant.slug)
