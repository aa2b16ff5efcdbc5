"""Steps of features/tenancy/administering.feature: changing and removing an organization with
optimistic locking (the operator sends the version they read)."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import pytest
from pytest_bdd import given, parsers, scenarios, then, when

from application.tenancy.use_cases import TenantChanges
from domain.shared.errors import NotFound
from tests.bdd.world import World, changes, quoted, yes_no

scenarios("tenancy/administering.feature")


def rename(world: World, name: str, new_name: str, version: int) -> None:
    renamed = world.update_tenant(changes(world, name, version, name=new_name))
    world.remember(renamed)
    world.tenant = renamed


# -- Given ------------------------------------------------------------------------------------
@given(parsers.parse('another operator has renamed "{name}" to "{new_name}"'))
def renamed_by_another_operator(world: World, name: str, new_name: str) -> None:
    rename(world, name, new_name, world.current(name).version)


@given(parsers.parse('the settings of "{name}" have been set to:'))
def settings_set(world: World, name: str, docstring: str) -> None:
    world.update_tenant(changes(world, name, world.current(name).version, settings=json.loads(docstring)))


# -- When -------------------------------------------------------------------------------------
@when(
    parsers.re(
        f"the operator renames {quoted('name')} to {quoted('new_name')} with version (?P<version>-?\\d+)"
    ),
    converters={"version": int},
)
def when_rename(world: World, name: str, new_name: str, version: int) -> None:
    world.attempt(lambda: rename(world, name, new_name, version))


@when(parsers.re('the operator (?P<action>deactivates|reactivates) "(?P<name>[^"]+)" with version (?P<version>\\d+)'),
      converters={"version": int})
def when_switch(world: World, action: str, name: str, version: int) -> None:
    world.attempt(lambda: world.update_tenant(changes(world, name, version, is_active=action == "reactivates")))


@when(parsers.parse('the operator replaces the settings of "{name}" at version {version:d} with:'))
def when_replace_settings(world: World, name: str, version: int, docstring: str) -> None:
    settings = json.loads(docstring)
    world.attempt(lambda: world.update_tenant(changes(world, name, version, settings=settings)))


@when(parsers.parse('the operator changes "{name}" at version {version:d}:'))
def when_change(world: World, name: str, version: int, datatable: list[list[str]]) -> None:
    table = {row[0]: row[1] for row in datatable}
    request = changes(
        world, name, version,
        name=table["name"], is_active=yes_no(table["active"]), settings=json.loads(table["settings"]),
    )
    world.attempt(lambda: world.remember(world.update_tenant(request)))


@when(parsers.parse('the operator renames an organization that does not exist to "{new_name}"'))
def when_rename_missing(world: World, new_name: str) -> None:
    request = TenantChanges.parse(tenant_id=uuid.uuid4(), expected_version=1, name=new_name)
    world.attempt(lambda: world.update_tenant(request))


@when(parsers.parse('the operator removes "{name}" at version {version:d}'))
def when_remove_at_version(world: World, name: str, version: int) -> None:
    world.attempt(lambda: world.delete_tenant(world.id_of(name), version))


@when(parsers.parse('the operator looks up the organization with the id "{raw}"'))
def when_look_up_raw(world: World, raw: str) -> None:
    world.found = world.attempt(lambda: world.get_tenant(raw))


# -- Then -------------------------------------------------------------------------------------
@then(parsers.parse('the slug of "{name}" is still "{slug}"'))
def slug_unchanged(world: World, name: str, slug: str) -> None:
    assert world.current(name).slug == slug


@then(parsers.parse('"{name}" was last changed an hour after it was registered'))
def changed_an_hour_later(world: World, name: str) -> None:
    stored = world.current(name)
    assert stored.updated_at - stored.created_at == timedelta(hours=1)


@then(parsers.re('the organization "(?P<name>[^"]+)" is (?P<state>active|inactive) at version (?P<version>\\d+)'),
      converters={"version": int})
def state_at_version(world: World, name: str, state: str, version: int) -> None:
    world.succeeded()
    stored = world.current(name)
    assert (stored.is_active, stored.version) == (state == "active", version)


@then(parsers.parse('the organization "{name}" no longer exists'))
def no_longer_exists(world: World, name: str) -> None:
    world.succeeded()
    with pytest.raises(NotFound):
        world.current(name)
    assert world.registered() == []
