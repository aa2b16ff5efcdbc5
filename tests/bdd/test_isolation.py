"""Steps of features/tenancy/isolation.feature: an organization's own unit of work, and units of
work that fail. These steps open `tenancy_unit_of_work().for_tenant(id)` themselves, which is what
a service does for work on behalf of one organization."""

from __future__ import annotations

from pytest_bdd import parsers, scenarios, then, when

from domain.shared.errors import PortsideError
from domain.tenancy.tenant import Tenant
from tests.bdd.world import World, quoted_names

scenarios("tenancy/isolation.feature")


class WorkFailedError(Exception):
    """The failure a scenario injects into a unit of work."""


# -- When: inside one organization's unit of work ---------------------------------------------
@when(parsers.parse('"{name}" lists the organizations in its own unit of work'))
def tenant_lists(world: World, name: str) -> None:
    def run() -> None:
        with world.uow.for_tenant(world.id_of(name)) as uow:
            world.page = uow.tenants.list_and_count()
            world.listed = world.page.items

    world.attempt(run)


@when(parsers.parse('"{name}" looks up "{other}" by id in its own unit of work'))
def tenant_looks_up_by_id(world: World, name: str, other: str) -> None:
    def run() -> Tenant | None:
        with world.uow.for_tenant(world.id_of(name)) as uow:
            return uow.tenants.get_by_id(world.id_of(other))

    world.found = world.attempt(run)


@when(parsers.parse('"{name}" looks up the slug "{slug}" in its own unit of work'))
def tenant_looks_up_by_slug(world: World, name: str, slug: str) -> None:
    def run() -> Tenant | None:
        with world.uow.for_tenant(world.id_of(name)) as uow:
            return uow.tenants.get_by_slug(slug)

    world.found = world.attempt(run)


@when(parsers.parse('"{name}" demands "{other}" by id in its own unit of work'))
def tenant_demands(world: World, name: str, other: str) -> None:
    def run() -> Tenant:
        with world.uow.for_tenant(world.id_of(name)) as uow:
            return uow.tenants.get_by_id_or_raise(world.id_of(other))

    world.found = world.attempt(run)


@when(parsers.parse('"{name}" tries to remove "{other}" in its own unit of work'))
def tenant_removes_another(world: World, name: str, other: str) -> None:
    def run() -> None:
        with world.uow.for_tenant(world.id_of(name)) as uow:
            uow.tenants.delete(world.id_of(other))

    world.attempt(run)


@when(parsers.parse('"{name}" tries to rename "{other}" to "{new_name}" in its own unit of work'))
def tenant_renames_another(world: World, name: str, other: str, new_name: str) -> None:
    read = world.current(other)

    def run() -> None:
        with world.uow.for_tenant(world.id_of(name)) as uow:
            uow.tenants.update(read.rename(new_name, world.clock.now()))

    world.attempt(run)


@when(parsers.parse('"{name}" tries to register "{new_name}" in its own unit of work'))
def tenant_registers_another(world: World, name: str, new_name: str) -> None:
    def run() -> None:
        with world.uow.for_tenant(world.id_of(name)) as uow:
            uow.tenants.create(Tenant.register(name=new_name, slug=None, at=world.clock.now()))

    world.attempt(run)


def rename_itself(world: World, name: str, new_name: str, fail: bool) -> None:
    with world.uow.for_tenant(world.id_of(name)) as uow:
        itself = uow.tenants.get_by_id_or_raise(world.id_of(name))
        uow.tenants.update(itself.rename(new_name, world.clock.now()))
        if fail:
            raise WorkFailedError("the work failed after the rename")


@when(parsers.parse('"{name}" renames itself to "{new_name}" in its own unit of work'))
def tenant_renames_itself(world: World, name: str, new_name: str) -> None:
    world.attempt(lambda: rename_itself(world, name, new_name, fail=False))


@when(parsers.parse('"{name}" renames itself to "{new_name}" in its own unit of work, which then fails'))
def tenant_renames_itself_then_fails(world: World, name: str, new_name: str) -> None:
    try:
        rename_itself(world, name, new_name, fail=True)
    except WorkFailedError:
        world.work_failed = True


@when(parsers.parse('"{name}" looks itself up after its unit of work has ended'))
def tenant_uses_a_closed_unit_of_work(world: World, name: str) -> None:
    with world.uow.for_tenant(world.id_of(name)) as uow:
        pass
    world.found = world.attempt(lambda: uow.tenants.get_by_id(world.id_of(name)))


@when(parsers.parse('a unit of work is opened for the organization "{raw}"'))
def unit_of_work_for_a_malformed_id(world: World, raw: str) -> None:
    world.attempt(lambda: world.uow.for_tenant(raw))


# -- When: units of work around the application's requests ------------------------------------
@when(parsers.re('the operator registers (?P<names>".+") in one unit of work that (?P<outcome>completes|then fails)'))
def register_in_one_unit_of_work(world: World, names: str, outcome: str) -> None:
    try:
        with world.uow.system():
            for name in quoted_names(names):
                try:
                    world.register(name=name)
                except PortsideError as error:
                    world.refusals[name] = error
            if outcome == "then fails":
                raise WorkFailedError("the work failed after the registrations")
    except WorkFailedError:
        world.work_failed = True


@when(parsers.parse('the operator registers "{new_name}" from inside the unit of work of "{name}"'))
def register_inside_a_tenant_unit_of_work(world: World, new_name: str, name: str) -> None:
    def run() -> None:
        with world.uow.for_tenant(world.id_of(name)):
            world.register(name=new_name)

    world.attempt(run)


@when(parsers.parse('the unit of work of "{inner}" is opened inside the unit of work of "{outer}"'))
def nested_units_of_work(world: World, inner: str, outer: str) -> None:
    def run() -> None:
        with world.uow.for_tenant(world.id_of(outer)), world.uow.for_tenant(world.id_of(inner)):
            pass

    world.attempt(run)


# -- Then -------------------------------------------------------------------------------------
@then("nothing is found")
def nothing_found(world: World) -> None:
    world.succeeded()
    assert world.found is None, f"found {world.found!r}"


@then(parsers.parse('"{name}" is found'))
def found(world: World, name: str) -> None:
    world.succeeded()
    assert world.found is not None, "nothing was found"
    assert world.found == world.current(name)


@then("the work failed")
def the_work_failed(world: World) -> None:
    assert world.work_failed, "the unit of work did not fail as the scenario says"


@then(parsers.parse('registering "{name}" was refused with a {error:w}'))
def registration_refused(world: World, name: str, error: str) -> None:
    assert name in world.refusals, f"registering {name!r} was not refused"
    assert type(world.refusals[name]).__name__ == error, f"refused with {world.refusals[name]!r}"
    assert world.refusals.keys() == {name}, f"other registrations were refused too: {world.refusals}"
