"""The shared kernel: ids, money, sorting, cursors, scopes."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest

from domain.shared.errors import TenantScopeRequired, ValidationError
from domain.shared.fields import FieldKind
from domain.shared.ids import new_id, parse_id, tenant_id
from domain.shared.money import Money
from domain.shared.pagination import CursorPageRequest, OffsetPageRequest, decode_cursor, encode_cursor
from domain.shared.scope import TenantScope
from domain.shared.sorting import Sort, SortDirection, SortField
from domain.shared.time import ensure_utc


def test_ids_are_version_7_and_strictly_increasing() -> None:
    ids = [new_id() for _ in range(5000)]
    assert all(i.version == 7 and i.variant == uuid.RFC_4122 for i in ids)
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    millis = ids[0].int >> 80
    assert abs(millis - int(datetime.now(UTC).timestamp() * 1000)) < 60_000


def test_parse_id() -> None:
    known = uuid.uuid4()
    assert parse_id(known) == known and parse_id(str(known)) == known
    for bad in ("nope", 12, None, b"x" * 16):
        with pytest.raises(ValidationError) as raised:
            parse_id(bad, "owner_id")
        assert raised.value.field == "owner_id"
    with pytest.raises(ValidationError, match="tenant_id"):
        tenant_id("x")


def test_money_is_integer_cents_in_one_currency() -> None:
    price = Money(cents=1999)
    assert str(price + Money(cents=1)) == "20.00 USD"
    assert str(price.times(3)) == "59.97 USD"
    assert str(Money(cents=-5) - Money(cents=100)) == "-1.05 USD"
    with pytest.raises(ValidationError, match="currency"):
        price + Money(cents=1, currency="EUR")


def test_utc_only() -> None:
    paris = timezone(timedelta(hours=1))
    assert ensure_utc(datetime(2026, 1, 1, 13, tzinfo=paris)) == datetime(2026, 1, 1, 12, tzinfo=UTC)
    assert ensure_utc(datetime(2026, 1, 1, 13, tzinfo=paris)).tzinfo == UTC
    with pytest.raises(ValidationError, match="at"):
        ensure_utc(datetime(2026, 1, 1), "at")


def test_sort_parse_and_check() -> None:
    sort = Sort.parse(" name , -created_at ")
    assert sort.fields == (SortField("name"), SortField("created_at", SortDirection.DESC))
    allowed = {"id": FieldKind.UUID, "name": FieldKind.STRING, "created_at": FieldKind.DATETIME}
    checked = sort.checked(allowed, default=())
    assert checked.signature() == "name,-created_at,id"
    assert Sort().checked(allowed, default=(SortField("created_at"),)).signature() == "created_at,id"
    with pytest.raises(ValidationError, match="allowed: created_at, id, name"):
        Sort.parse("secret").checked(allowed, default=())


def test_page_requests_refuse_bad_sizes() -> None:
    for limit in (0, -1, 1001, True, 2.5):
        with pytest.raises(ValidationError) as raised:
            OffsetPageRequest(limit=limit)  # type: ignore[arg-type]
        assert raised.value.field == "limit"
    with pytest.raises(ValidationError, match="offset"):
        OffsetPageRequest(offset=-1)
    with pytest.raises(ValidationError, match="cursor"):
        CursorPageRequest(after=5)  # type: ignore[arg-type]


def test_cursor_round_trip_and_tampering() -> None:
    sort = Sort.parse("-created_at,id")
    kinds = [FieldKind.DATETIME, FieldKind.UUID]
    values = [datetime(2026, 5, 1, tzinfo=UTC), uuid.uuid4()]
    cursor = encode_cursor(sort, kinds, values)
    assert decode_cursor(cursor, sort, kinds) == values
    for bad in ("", "!!", cursor[:-3], encode_cursor(Sort.parse("id"), [FieldKind.UUID], [values[1]])):
        with pytest.raises(ValidationError, match="cursor"):
            decode_cursor(bad, sort, kinds)
    wrong_kind = encode_cursor(sort, [FieldKind.STRING, FieldKind.UUID], ["yesterday", values[1]])
    with pytest.raises(ValidationError, match="cursor"):
        decode_cursor(wrong_kind, sort, kinds)


def test_scope() -> None:
    tenant = uuid.uuid4()
    assert TenantScope.of(str(tenant)).tenant == tenant
    assert TenantScope.system().is_system
    with pytest.raises(TenantScopeRequired):
        TenantScope.system().require_tenant("Workflow")
