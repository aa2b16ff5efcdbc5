"""Steps of features/tenancy/listing.feature: filters, sorting, pages by position and keyset walks."""

from __future__ import annotations

from pytest_bdd import parsers, scenarios, then, when

from domain.shared.pagination import CursorPageRequest, OffsetPageRequest
from domain.tenancy.filters import TenantFilter
from domain.tenancy.tenant import Tenant
from tests.bdd.world import World, moment, names_in, table_rows

scenarios("tenancy/listing.feature")

MAX_PAGES = 100
"""A walk that has not ended after this many pages is going round in circles."""

STATES = {"active": True, "inactive": False}


def list_page(world: World, filters: TenantFilter | None = None, sort: str | None = None,
              page: OffsetPageRequest | None = None) -> None:
    world.page = world.list_tenants(filters, sort, page)
    world.listed = world.page.items


def read_keyset_page(world: World, sort: str, limit: int, after: str | None) -> None:
    world.cursor_page = world.list_tenants.by_cursor(None, sort, CursorPageRequest(limit=limit, after=after))
    world.cursor_sort = sort
    world.listed = world.cursor_page.items


def walk(world: World, filters: TenantFilter | None, sort: str, size: int) -> None:
    world.walk = []
    after: str | None = None
    while len(world.walk) < MAX_PAGES:
        page = world.list_tenants.by_cursor(filters, sort, CursorPageRequest(limit=size, after=after))
        world.walk.append(page.items)
        if page.next_cursor is None:
            return
        after = page.next_cursor
    raise AssertionError(f"the walk did not end after {MAX_PAGES} pages")


# -- When: listing ----------------------------------------------------------------------------
@when("the operator lists the organizations")
def list_all(world: World) -> None:
    world.attempt(lambda: list_page(world))


@when(parsers.re("the operator lists the (?P<state>active|inactive) organizations"))
def list_by_state(world: World, state: str) -> None:
    world.attempt(lambda: list_page(world, TenantFilter(is_active=STATES[state])))


@when(parsers.parse('the operator lists the organizations whose name contains "{text}"'))
def list_by_name(world: World, text: str) -> None:
    world.attempt(lambda: list_page(world, TenantFilter(name_contains=text)))


@when(parsers.re("the operator lists the (?P<state>active|inactive) organizations "
                 'whose name contains "(?P<text>[^"]+)"'))
def list_by_state_and_name(world: World, state: str, text: str) -> None:
    world.attempt(lambda: list_page(world, TenantFilter(is_active=STATES[state], name_contains=text)))


@when(parsers.parse('the operator lists the organizations with the slugs "{slugs}"'))
def list_by_slugs(world: World, slugs: str) -> None:
    world.attempt(lambda: list_page(world, TenantFilter(slugs=tuple(names_in(slugs)))))


@when(parsers.parse('the operator lists the organizations registered from "{start}" and before "{end}"'))
def list_by_registration_time(world: World, start: str, end: str) -> None:
    filters = TenantFilter(created_from=moment(start), created_before=moment(end))
    world.attempt(lambda: list_page(world, filters))


@when(parsers.parse('the operator lists the organizations sorted by "{sort}"'))
def list_sorted(world: World, sort: str) -> None:
    world.attempt(lambda: list_page(world, sort=sort))


@when(parsers.parse('the operator lists {limit:d} organizations from position {offset:d}, sorted by "{sort}"'))
def list_offset_page(world: World, limit: int, offset: int, sort: str) -> None:
    world.attempt(lambda: list_page(world, sort=sort, page=OffsetPageRequest(limit=limit, offset=offset)))


# -- When: keyset pages -----------------------------------------------------------------------
@when(parsers.parse('the operator walks through the organizations sorted by "{sort}", {size:d} at a time'))
def walk_all(world: World, sort: str, size: int) -> None:
    world.attempt(lambda: walk(world, None, sort, size))


@when(parsers.re('the operator walks through the (?P<state>active|inactive) organizations sorted by "(?P<sort>[^"]+)", '
                 "(?P<size>\\d+) at a time"), converters={"size": int})
def walk_by_state(world: World, state: str, sort: str, size: int) -> None:
    world.attempt(lambda: walk(world, TenantFilter(is_active=STATES[state]), sort, size))


@when(parsers.parse('the operator reads the first {limit:d} organizations sorted by "{sort}"'))
def read_first(world: World, limit: int, sort: str) -> None:
    world.attempt(lambda: read_keyset_page(world, sort, limit, None))


@when(parsers.parse("the operator reads the next {limit:d} organizations"))
def read_next(world: World, limit: int) -> None:
    assert world.cursor_page is not None and world.cursor_sort is not None, "no page was read before"
    cursor, sort = world.cursor_page.next_cursor, world.cursor_sort
    assert cursor is not None, "the page read before was the last one"
    world.attempt(lambda: read_keyset_page(world, sort, limit, cursor))


@when(parsers.parse('the operator reads the next {limit:d} organizations, sorted by "{sort}" instead'))
def read_next_in_another_order(world: World, limit: int, sort: str) -> None:
    assert world.cursor_page is not None and world.cursor_page.next_cursor is not None, "no next page to read"
    cursor = world.cursor_page.next_cursor
    world.attempt(lambda: read_keyset_page(world, sort, limit, cursor))


@when(parsers.parse('the operator reads {limit:d} organizations sorted by "{sort}" after the cursor "{cursor}"'))
def read_after_cursor(world: World, limit: int, sort: str, cursor: str) -> None:
    world.attempt(lambda: read_keyset_page(world, sort, limit, cursor))


# -- Then -------------------------------------------------------------------------------------
@then(parsers.re("there is (?P<more>another|no) page after it"))
def page_after(world: World, more: str) -> None:
    world.succeeded()
    assert world.page is not None, "no page by position was listed"
    assert world.page.has_next is (more == "another")


@then("the walk went through these pages:")
def walked_pages(world: World, datatable: list[list[str]]) -> None:
    world.succeeded()
    expected = [(int(row["page"]), names_in(row["organizations"])) for row in table_rows(datatable)]
    assert [(number, [t.name for t in page]) for number, page in enumerate(world.walk, 1)] == expected


@then(parsers.parse("the walk took {pages:d} pages"))
def walk_length(world: World, pages: int) -> None:
    world.succeeded()
    assert len(world.walk) == pages
    assert all(world.walk), "a page of the walk was empty"


@then(parsers.parse('the walk saw every organization once, sorted by "{sort}"'))
def walk_saw_everything(world: World, sort: str) -> None:
    seen: list[Tenant] = [tenant for page in world.walk for tenant in page]
    assert len({t.id for t in seen}) == len(seen), "an organization was seen twice"
    everything = world.list_tenants(sort=sort, page=OffsetPageRequest(limit=1000)).items
    assert [t.id for t in seen] == [t.id for t in everything]
    assert {t.id for t in seen} == {t.id for t in world.registered()}
