"""The tenancy port's contract: what every adapter of `TenantRepository` and `TenancyUnitOfWork` does."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from domain.shared.errors import (
    ConcurrencyConflict,
    Conflict,
    NotFound,
    TenantScopeRequired,
    UnitOfWorkInactive,
    ValidationError,
)
from domain.shared.pagination import CursorPageRequest, OffsetPageRequest
from domain.shared.sorting import Sort
from domain.tenancy.filters import TenantFilter
from domain.tenancy.tenant import Tenant
from ports.tenancy import TenancyUnitOfWorkFactory

T0 = datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)

Units = TenancyUnitOfWorkFactory
"""The unit-of-work factory of the context under test."""


def tenant(name: str, slug: str | None = None, minutes: int = 0, **extra: Any) -> Tenant:
    return Tenant.register(name=name, slug=slug, at=T0 + timedelta(minutes=minutes), **extra)


def seed(tenancy_uow: Units, *tenants: Tenant) -> list[Tenant]:
    with tenancy_uow.system() as uow:
        return uow.tenants.bulk_create(list(tenants))


def all_slugs(tenancy_uow: Units) -> list[str]:
    with tenancy_uow.system() as uow:
        return [t.slug for t in uow.tenants.list_and_count(sort=Sort.parse("slug")).items]


class TenancyContract:
    """Bind with a `tenancy_uow` fixture on an empty database."""

    # -- create and read ----------------------------------------------------------------------
    def test_create_then_get_returns_an_equal_tenant(self, tenancy_uow: Units) -> None:
        created = tenant("Acme Corp", settings={"region": "eu", "limits": {"rpm": 60}})
        with tenancy_uow.system() as uow:
            assert uow.tenants.create(created) == created
        with tenancy_uow.system() as uow:
            found = uow.tenants.get_by_id(created.id)
        assert found == created
        assert found is not None and found.created_at.tzinfo is not None
        assert found.created_at == T0

    def test_get_by_slug(self, tenancy_uow: Units) -> None:
        [acme] = seed(tenancy_uow, tenant("Acme Corp"))
        with tenancy_uow.system() as uow:
            assert uow.tenants.get_by_slug("acme-corp") == acme
            assert uow.tenants.get_by_slug("nobody") is None

    def test_missing_ids(self, tenancy_uow: Units) -> None:
        missing = uuid.uuid4()
        with tenancy_uow.system() as uow:
            assert uow.tenants.get_by_id(missing) is None
            assert uow.tenants.exists(missing) is False
            with pytest.raises(NotFound):
                uow.tenants.get_by_id_or_raise(missing)

    def test_duplicate_slug_is_a_conflict_and_the_unit_of_work_goes_on(
        self, tenancy_uow: Units
    ) -> None:
        seed(tenancy_uow, tenant("Acme", "acme"))
        with tenancy_uow.system() as uow:
            with pytest.raises(Conflict, match="slug"):
                uow.tenants.create(tenant("Other Acme", "acme"))
            uow.tenants.create(tenant("Globex", "globex"))
        assert all_slugs(tenancy_uow) == ["acme", "globex"]

    def test_duplicate_id_is_a_conflict(self, tenancy_uow: Units) -> None:
        [acme] = seed(tenancy_uow, tenant("Acme", "acme"))
        with tenancy_uow.system() as uow, pytest.raises(Conflict):
            uow.tenants.create(tenant("Copy", "copy").model_copy(update={"id": acme.id}))
        assert all_slugs(tenancy_uow) == ["acme"]

    # -- update and delete --------------------------------------------------------------------
    def test_update_bumps_the_version(self, tenancy_uow: Units) -> None:
        [acme] = seed(tenancy_uow, tenant("Acme", "acme"))
        with tenancy_uow.system() as uow:
            renamed = uow.tenants.update(acme.rename("Acme Holdings", T0 + timedelta(hours=1)))
        assert renamed.version == 2
        with tenancy_uow.system() as uow:
            assert uow.tenants.get_by_id_or_raise(acme.id) == renamed

    def test_stale_update_is_a_concurrency_conflict(self, tenancy_uow: Units) -> None:
        [acme] = seed(tenancy_uow, tenant("Acme", "acme"))
        with tenancy_uow.system() as uow:
            uow.tenants.update(acme.rename("First", T0))
        with tenancy_uow.system() as uow, pytest.raises(ConcurrencyConflict):
            uow.tenants.update(acme.rename("Second", T0))
        with tenancy_uow.system() as uow:
            assert uow.tenants.get_by_id_or_raise(acme.id).name == "First"

    def test_update_of_a_missing_tenant_is_not_found(self, tenancy_uow: Units) -> None:
        with tenancy_uow.system() as uow, pytest.raises(NotFound):
            uow.tenants.update(tenant("Ghost", "ghost"))

    def test_update_to_a_taken_slug_is_a_conflict_and_changes_nothing(
        self, tenancy_uow: Units
    ) -> None:
        acme, _ = seed(tenancy_uow, tenant("Acme", "acme"), tenant("Globex", "globex"))
        with tenancy_uow.system() as uow:
            with pytest.raises(Conflict):
                uow.tenants.update(acme.evolve(slug="globex"))
            assert uow.tenants.get_by_id_or_raise(acme.id).slug == "acme"
        assert all_slugs(tenancy_uow) == ["acme", "globex"]

    def test_delete(self, tenancy_uow: Units) -> None:
        acme, globex = seed(tenancy_uow, tenant("Acme", "acme"), tenant("Globex", "globex"))
        with tenancy_uow.system() as uow:
            uow.tenants.delete(acme.id)
            with pytest.raises(ConcurrencyConflict):
                uow.tenants.delete(globex.id, expected_version=7)
            uow.tenants.delete(globex.id, expected_version=1)
            with pytest.raises(NotFound):
                uow.tenants.delete(acme.id)
        assert all_slugs(tenancy_uow) == []

    # -- bulk ---------------------------------------------------------------------------------
    def test_bulk_create(self, tenancy_uow: Units) -> None:
        batch = [tenant(f"Tenant {i:03d}", minutes=i) for i in range(250)]
        assert seed(tenancy_uow) == []
        seed(tenancy_uow, *batch)
        with tenancy_uow.system() as uow:
            assert uow.tenants.count() == 250
            assert uow.tenants.get_by_id_or_raise(batch[137].id) == batch[137]

    @pytest.mark.parametrize("clash", ["existing", "within_batch"])
    def test_bulk_create_is_all_or_nothing(self, tenancy_uow: Units, clash: str) -> None:
        seed(tenancy_uow, tenant("Acme", "acme"))
        batch = [tenant("New One", "new-one"), tenant("New Two", "new-two")]
        batch.append(tenant("Again", "acme" if clash == "existing" else "new-one"))
        with tenancy_uow.system() as uow:
            with pytest.raises(Conflict):
                uow.tenants.bulk_create(batch)
            assert uow.tenants.count() == 1
        assert all_slugs(tenancy_uow) == ["acme"]

    # -- filters, sorting, pagination ---------------------------------------------------------
    def _catalogue(self, tenancy_uow: Units) -> list[Tenant]:
        names = ["delta", "Alpha", "charlie", "Bravo", "echo 100%", "foxtrot_x", "Ärger", "zulu"]
        rows = [tenant(name, f"t-{i}", minutes=i % 3, is_active=i % 2 == 0)
                for i, name in enumerate(names)]
        return seed(tenancy_uow, *rows)

    def test_filters(self, tenancy_uow: Units) -> None:
        rows = self._catalogue(tenancy_uow)
        with tenancy_uow.system() as uow:
            assert uow.tenants.count() == len(rows)
            assert uow.tenants.count(TenantFilter(is_active=True)) == 4
            found = uow.tenants.list_and_count(TenantFilter(name_contains="ALP")).items
            assert {t.name for t in found} == {"Alpha"}
            # LIKE wildcards in the needle are literal text
            percent = uow.tenants.list_and_count(TenantFilter(name_contains="0%")).items
            underscore = uow.tenants.list_and_count(TenantFilter(name_contains="t_")).items
            assert [t.name for t in percent] == ["echo 100%"]
            assert [t.name for t in underscore] == ["foxtrot_x"]
            assert uow.tenants.count(TenantFilter(name_contains="%")) == 1
            assert uow.tenants.count(TenantFilter(slugs=("t-1", "t-2", "nope"))) == 2
            assert uow.tenants.count(TenantFilter(slugs=())) == 0
            window = TenantFilter(created_from=T0 + timedelta(minutes=1), created_before=T0 + timedelta(minutes=2))
            assert {t.slug for t in uow.tenants.list_and_count(window).items} == {"t-1", "t-4", "t-7"}
            since = T0 + timedelta(minutes=1)
            both = TenantFilter(is_active=False, created_from=since)
            assert uow.tenants.count(both) == sum(1 for t in rows if not t.is_active and t.created_at >= since)

    def test_sorting_is_byte_order_on_every_backend(self, tenancy_uow: Units) -> None:
        rows = self._catalogue(tenancy_uow)
        with tenancy_uow.system() as uow:
            ascending = [t.name for t in uow.tenants.list_and_count(sort=Sort.parse("name")).items]
            descending = [t.name for t in uow.tenants.list_and_count(sort=Sort.parse("-name")).items]
            by_time = uow.tenants.list_and_count(sort=Sort.parse("-created_at,name")).items
        assert ascending == sorted(t.name for t in rows)
        assert descending == list(reversed(ascending))
        assert [(t.created_at, t.name) for t in by_time] == sorted(
            ((t.created_at, t.name) for t in rows), key=lambda p: (-p[0].timestamp(), p[1]))

    def test_offset_pages_carry_the_total(self, tenancy_uow: Units) -> None:
        rows = self._catalogue(tenancy_uow)
        expected = sorted(t.name for t in rows)
        with tenancy_uow.system() as uow:
            first = uow.tenants.list_and_count(sort=Sort.parse("name"), page=OffsetPageRequest(limit=3))
            last = uow.tenants.list_and_count(sort=Sort.parse("name"), page=OffsetPageRequest(limit=3, offset=6))
            beyond = uow.tenants.list_and_count(page=OffsetPageRequest(limit=3, offset=50))
            active = uow.tenants.list_and_count(TenantFilter(is_active=True), page=OffsetPageRequest(limit=1))
        assert [t.name for t in first.items] == expected[:3] and first.total == 8 and first.has_next
        assert [t.name for t in last.items] == expected[6:] and not last.has_next
        assert beyond.items == [] and beyond.total == 8
        assert active.total == 4 and len(active.items) == 1

    @pytest.mark.parametrize("order", ["name", "-name", "created_at", "-created_at,-name", "is_active,-slug"])
    def test_keyset_pages_walk_every_row_once_in_order(
        self, tenancy_uow: Units, order: str
    ) -> None:
        self._catalogue(tenancy_uow)
        with tenancy_uow.system() as uow:
            expected = [t.id for t in uow.tenants.list_and_count(sort=Sort.parse(order)).items]
            walked: list[uuid.UUID] = []
            cursor: str | None = None
            for _ in range(10):
                page = uow.tenants.list_by_cursor(sort=Sort.parse(order), page=CursorPageRequest(limit=3, after=cursor))
                walked.extend(t.id for t in page.items)
                cursor = page.next_cursor
                if cursor is None:
                    break
        assert walked == expected and len(walked) == 8

    def test_keyset_with_a_filter(self, tenancy_uow: Units) -> None:
        rows = self._catalogue(tenancy_uow)
        with tenancy_uow.system() as uow:
            active, by_name = TenantFilter(is_active=True), Sort.parse("name")
            first = uow.tenants.list_by_cursor(active, by_name, CursorPageRequest(limit=2))
            second = uow.tenants.list_by_cursor(active, by_name, CursorPageRequest(limit=2, after=first.next_cursor))
        names = [t.name for t in first.items + second.items]
        assert names == sorted(t.name for t in rows if t.is_active)
        assert second.next_cursor is None

    # -- bad input ----------------------------------------------------------------------------
    def test_bad_listing_input_names_the_field(self, tenancy_uow: Units) -> None:
        self._catalogue(tenancy_uow)
        with tenancy_uow.system() as uow:
            cases: list[tuple[str, Any]] = [
                ("sort", lambda: uow.tenants.list_and_count(sort=Sort.parse("settings"))),
                ("sort", lambda: uow.tenants.list_and_count(sort=Sort.parse("name,-name"))),
                ("limit", lambda: uow.tenants.list_and_count(page=OffsetPageRequest(limit=-1))),
                ("limit", lambda: uow.tenants.list_by_cursor(page=CursorPageRequest(limit=0))),
                ("offset", lambda: uow.tenants.list_and_count(page=OffsetPageRequest(offset=-5))),
                ("cursor", lambda: uow.tenants.list_by_cursor(page=CursorPageRequest(after="%%%garbage"))),
                ("id", lambda: uow.tenants.get_by_id("not-a-uuid")),  # type: ignore[arg-type]
                ("id", lambda: uow.tenants.exists(42)),  # type: ignore[arg-type]
                ("created_from", lambda: TenantFilter(created_from=datetime(2026, 1, 1))),
            ]
            for field, call in cases:
                with pytest.raises(ValidationError) as raised:
                    call()
                assert raised.value.field == field
            page = uow.tenants.list_by_cursor(sort=Sort.parse("name"), page=CursorPageRequest(limit=2))
            with pytest.raises(ValidationError, match="cursor"):
                uow.tenants.list_by_cursor(sort=Sort.parse("-name"), page=CursorPageRequest(after=page.next_cursor))

    @pytest.mark.parametrize(("data", "field"), [
        ({"name": "   "}, "name"), ({"name": "Acme", "slug": "Bad Slug"}, "slug"),
        ({"name": "Acme", "slug": "-acme"}, "slug"), ({"name": "x" * 201}, "name"),
        ({"name": "Acme", "settings": {"k": object()}}, "settings"),
    ])
    def test_invalid_tenants_are_refused_before_any_write(
        self, tenancy_uow: Units, data: dict[str, Any], field: str
    ) -> None:
        fields = dict(data)  # the parameter is shared between backends: never mutate it
        with pytest.raises(ValidationError) as raised:
            Tenant.register(slug=fields.pop("slug", None), at=T0, **fields)
        assert raised.value.field.split(".")[0] == field
        assert all_slugs(tenancy_uow) == []

    # -- the unit of work ---------------------------------------------------------------------
    def test_an_exception_rolls_everything_back(self, tenancy_uow: Units) -> None:
        with pytest.raises(RuntimeError), tenancy_uow.system() as uow:
            uow.tenants.create(tenant("Acme", "acme"))
            raise RuntimeError("boom")
        assert all_slugs(tenancy_uow) == []

    def test_explicit_commit_and_rollback(self, tenancy_uow: Units) -> None:
        with pytest.raises(RuntimeError), tenancy_uow.system() as uow:
            uow.tenants.create(tenant("Kept", "kept"))
            uow.commit()
            uow.tenants.create(tenant("Dropped", "dropped"))
            uow.rollback()
            assert uow.tenants.get_by_slug("dropped") is None
            uow.tenants.create(tenant("Lost", "lost"))
            raise RuntimeError("after the commit")
        assert all_slugs(tenancy_uow) == ["kept"]

    def test_nested_with_is_a_savepoint(self, tenancy_uow: Units) -> None:
        with tenancy_uow.system() as outer:
            outer.tenants.create(tenant("Outer", "outer"))
            with pytest.raises(RuntimeError), outer:
                outer.tenants.create(tenant("Inner", "inner"))
                raise RuntimeError("inner fails")
            assert outer.tenants.get_by_slug("inner") is None
            with outer:
                outer.tenants.create(tenant("Second", "second"))
        assert all_slugs(tenancy_uow) == ["outer", "second"]

    def test_a_new_unit_of_work_joins_the_active_one(self, tenancy_uow: Units) -> None:
        with pytest.raises(RuntimeError), tenancy_uow.system() as outer:
            with tenancy_uow.system() as inner:  # what a use case called by another one does
                inner.tenants.create(tenant("Joined", "joined"))
            assert outer.tenants.get_by_slug("joined") is not None  # same transaction
            raise RuntimeError("the outer one fails")
        assert all_slugs(tenancy_uow) == []

    def test_joining_across_tenants_is_refused(self, tenancy_uow: Units) -> None:
        acme, globex = seed(tenancy_uow, tenant("Acme", "acme"), tenant("Globex", "globex"))
        with tenancy_uow.for_tenant(acme.id), pytest.raises(TenantScopeRequired):
            tenancy_uow.for_tenant(globex.id).__enter__()

    def test_repositories_outside_the_block_fail_loudly(self, tenancy_uow: Units) -> None:
        uow = tenancy_uow.system()
        with pytest.raises(UnitOfWorkInactive):
            uow.tenants.count()
        with uow:
            uow.tenants.count()
        with pytest.raises(UnitOfWorkInactive):
            uow.tenants.count()
        with pytest.raises(UnitOfWorkInactive):
            uow.commit()

    def test_uncommitted_writes_are_invisible_to_other_units_of_work(
        self, tenancy_uow: Units
    ) -> None:
        seen: list[int] = []
        writing = threading.Event()

        def reader() -> None:
            writing.wait(5)
            with tenancy_uow.system() as uow:
                seen.append(uow.tenants.count())

        thread = threading.Thread(target=reader)
        thread.start()
        with tenancy_uow.system() as uow:
            uow.tenants.create(tenant("Pending", "pending"))
            writing.set()
            thread.join(0.3)  # the reader either reads now or waits for our lock
            uow.rollback()
        thread.join(10)
        assert seen == [0]

    def test_concurrent_creates_of_one_slug_make_one_tenant(self, tenancy_uow: Units) -> None:
        outcomes: list[str] = []
        barrier = threading.Barrier(4)

        def create(index: int) -> None:
            barrier.wait(5)
            try:
                with tenancy_uow.system() as uow:
                    uow.tenants.create(tenant(f"Racer {index}", "racer"))
                outcomes.append("created")
            except Conflict:
                outcomes.append("conflict")

        threads = [threading.Thread(target=create, args=(i,)) for i in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert sorted(outcomes) == ["conflict", "conflict", "conflict", "created"]
        assert all_slugs(tenancy_uow) == ["racer"]

    # -- tenant isolation ---------------------------------------------------------------------
    def test_a_tenant_sees_itself_and_nothing_else(self, tenancy_uow: Units) -> None:
        acme, globex = seed(tenancy_uow, tenant("Acme", "acme"), tenant("Globex", "globex"))
        with tenancy_uow.for_tenant(acme.id) as uow:
            assert uow.tenants.get_by_id(acme.id) == acme
            assert uow.tenants.get_by_id(globex.id) is None
            assert uow.tenants.exists(globex.id) is False
            assert uow.tenants.get_by_slug("globex") is None
            with pytest.raises(NotFound):
                uow.tenants.get_by_id_or_raise(globex.id)
            with pytest.raises(NotFound):
                uow.tenants.delete(globex.id)
            with pytest.raises(TenantScopeRequired):
                uow.tenants.update(globex.rename("Hijacked", T0))
            with pytest.raises(TenantScopeRequired):
                uow.tenants.create(tenant("Intruder", "intruder"))
            assert uow.tenants.count() == 1
            assert [t.id for t in uow.tenants.list_and_count().items] == [acme.id]
            assert [t.id for t in uow.tenants.list_by_cursor().items] == [acme.id]
            assert uow.tenants.update(acme.rename("Acme Two", T0)).version == 2
        with tenancy_uow.system() as uow:
            assert uow.tenants.get_by_id_or_raise(globex.id) == globex
