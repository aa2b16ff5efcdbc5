"""The tenancy scenario: register organizations, list and page them, rename with optimistic
locking, and show that a tenant's unit of work sees only that tenant."""

from __future__ import annotations

from application.console import Report
from application.container import Container
from application.tenancy.use_cases import NewTenant, TenantChanges
from domain.shared.errors import ConcurrencyConflict, Conflict, NotFound, ValidationError
from domain.shared.pagination import CursorPageRequest, OffsetPageRequest
from domain.tenancy.filters import TenantFilter
from domain.tenancy.tenant import Tenant

DEMO_SLUGS = ("acme-corp", "globex", "initech", "umbrella", "hooli", "stark-industries")


def _rows(tenants: list[Tenant]) -> list[list[object]]:
    return [[t.slug, t.name, "yes" if t.is_active else "no", t.version, t.created_at.strftime("%H:%M:%S.%f")]
            for t in tenants]


HEADERS = ["slug", "name", "active", "version", "created (UTC)"]


def run(container: Container, report: Report) -> None:
    uow_factory = container.tenancy_unit_of_work()
    report.heading("tenancy: organizations are the isolation boundary")

    # Start from a clean slate so the demo can run again on the same database file.
    with uow_factory.system() as uow:
        for old in uow.tenants.list_and_count(TenantFilter(slugs=DEMO_SLUGS)).items:
            uow.tenants.delete(old.id)

    created = container.create_tenants()([
        NewTenant.parse(name="Acme Corp", settings={"region": "eu-west", "limits": {"rpm": 600}}),
        NewTenant.parse(name="Globex"),
        NewTenant.parse(name="Initech", is_active=False),
        NewTenant.parse(name="Umbrella"),
        NewTenant.parse(name="Hooli"),
        NewTenant.parse(name="Stark Industries"),
    ])
    report.note(f"registered {len(created)} organizations in one transaction (bulk create)")
    report.table(HEADERS, _rows(created))

    try:
        container.create_tenant()(NewTenant.parse(name="Acme Again", slug="acme-corp"))
    except Conflict as error:
        report.note(f"a taken slug is refused: Conflict: {error}")
    for bad in ({"name": "   "}, {"name": "Bad", "slug": "Not A Slug"}):
        try:
            container.create_tenant()(NewTenant.parse(**bad))
        except ValidationError as error:
            report.note(f"bad input is refused: ValidationError on '{error.field}': {error.message}")

    listing = container.list_tenants()
    page = listing(TenantFilter(is_active=True, slugs=DEMO_SLUGS), "name", OffsetPageRequest(limit=3))
    report.heading("active organizations by name, offset page 1 of 3 rows")
    report.table(HEADERS, _rows(page.items))
    report.note(f"total matching: {page.total}; more pages: {page.has_next}")

    report.heading("keyset pages, newest first (ties in id order)")
    cursor: str | None = None
    number = 0
    while True:
        number += 1
        request = CursorPageRequest(limit=4, after=cursor)
        keyset = listing.by_cursor(TenantFilter(slugs=DEMO_SLUGS), "-created_at", request)
        report.note(f"page {number}: {', '.join(t.slug for t in keyset.items)}")
        cursor = keyset.next_cursor
        if cursor is None:
            break

    acme = next(t for t in created if t.slug == "acme-corp")
    renamed = container.update_tenant()(TenantChanges.parse(tenant_id=acme.id, expected_version=1,
                                                            name="Acme Corporation"))
    report.heading("optimistic locking")
    report.note(f"renamed '{acme.name}' to '{renamed.name}', version {acme.version} -> {renamed.version}")
    try:
        container.update_tenant()(TenantChanges.parse(tenant_id=acme.id, expected_version=1, name="Stale Write"))
    except ConcurrencyConflict as error:
        report.note(f"a write based on version 1 is refused: ConcurrencyConflict: {error}")

    report.heading("tenant isolation")
    globex = next(t for t in created if t.slug == "globex")
    with uow_factory.for_tenant(acme.id) as uow:
        visible = uow.tenants.count()
        try:
            uow.tenants.get_by_id_or_raise(globex.id)
            outcome = "visible (wrong!)"
        except NotFound:
            outcome = "NotFound"
    report.note(f"acme-corp's unit of work counts {visible} organization; globex's id gives {outcome}")

    report.heading("transactions")
    try:
        with uow_factory.system() as uow:
            uow.tenants.create(Tenant.register(name="Doomed", slug="doomed", at=container.clock().now()))
            raise RuntimeError("the use case fails after writing")
    except RuntimeError:
        pass
    with uow_factory.system() as uow:
        left = uow.tenants.get_by_slug("doomed")
    report.note(f"a failing unit of work rolls back: 'doomed' is {'still there (wrong!)' if left else 'gone'}")
