"""The validation edge in the domain: argument checks, the screen every aggregate and command runs,
filters, sorts, cursors, and the NULL-lowest order of the memory adapter and the statement builders."""

from __future__ import annotations

import dataclasses
import functools
import importlib
import pkgutil
import typing
import uuid
from datetime import UTC, datetime, timedelta, timezone
from enum import Enum
from types import NoneType, UnionType
from typing import Any, cast

import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

import domain
from adapters.bigquery.querying import Parameters, keyset_sql, order_sql
from adapters.bigquery.schema import EXECUTIONS_TABLE
from adapters.memory import querying
from adapters.sql.ordering import keyset_after, order_by_clauses
from application.reliability.commands import IncomingEvent
from application.tenancy.use_cases import TenantChanges
from domain.processing.hashing import document_set_hash, hash_argument, payload_hash
from domain.reliability.filters import EventFilter, IncidentFilter
from domain.reliability.incident import IncidentStatus
from domain.shared import checks
from domain.shared.entity import MAX_VERSION, Entity, nullable_fields
from domain.shared.errors import ValidationError
from domain.shared.fields import FieldKind
from domain.shared.filters import MAX_IN_VALUES, Condition, FilterSet, Operator
from domain.shared.money import Money
from domain.shared.pagination import (
    MAX_CURSOR_LENGTH,
    CursorPageRequest,
    OffsetPageRequest,
    decode_cursor,
    encode_cursor,
)
from domain.shared.sorting import Sort, SortDirection, SortField
from domain.tenancy.filters import TenantFilter
from domain.tenancy.tenant import Tenant
from ports.records import plan_listing
from ports.reliability import EVENT_SCHEMA, KILL_SWITCH_SCHEMA

T0 = datetime(2026, 3, 1, 12, tzinfo=UTC)
HOSTILE = ["a\x00b", "\ud800", "x\udfffy"]


def refused(field: str, call: Any, *args: Any, **kwargs: Any) -> ValidationError:
    with pytest.raises(ValidationError) as raised:
        call(*args, **kwargs)
    assert raised.value.field == field, raised.value
    return raised.value


def nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return value


# -- checks ------------------------------------------------------------------------------------------
def test_text_checks_refuse_nul_and_lone_surrogates_and_keep_real_unicode() -> None:
    for bad in HOSTILE:
        refused("name", checks.text_argument, bad, "name")
    refused("name", checks.text_argument, 5, "name")
    assert checks.text_argument("é✓😀 ok", "name") == "é✓😀 ok"
    assert checks.optional_text(None, "x") is None


def test_integers_are_64_bits_at_most_and_never_bools() -> None:
    assert checks.int64(2**63 - 1, "n") == 2**63 - 1 and checks.int64(-(2**63), "n") == -(2**63)
    for bad in (2**63, -(2**63) - 1, 2**4000, True, 1.0, "1", None):
        refused("n", checks.int64, bad, "n")
    refused("hours", checks.positive_int, 0, "hours")
    refused("cents", checks.non_negative_int, -1, "cents")
    assert "bits" in refused("n", checks.int64, 2**50000, "n").message  # a huge int is never printed


def test_expected_version_is_none_or_a_positive_int() -> None:
    assert checks.optional_version(None) is None and checks.optional_version(3) == 3
    for bad in ("1", 1.0, True, 0, MAX_VERSION + 1, 2**63):
        refused("expected_version", checks.optional_version, bad)
    assert checks.optional_version(MAX_VERSION) == MAX_VERSION
    for bad in ("1", 1.0, True, MAX_VERSION + 1, 2**70):  # commands too: pydantic's lax mode would take them
        refused("expected_version", TenantChanges.parse, tenant_id=uuid.uuid4(), expected_version=bad, name="Acme")


def test_datetimes_enums_flags_and_lists() -> None:
    paris = timezone(timedelta(hours=1))
    assert checks.aware_datetime(datetime(2026, 1, 1, 13, tzinfo=paris), "at") == datetime(2026, 1, 1, 12, tzinfo=UTC)
    for when in ("2026-01-01T00:00:00Z", datetime(2026, 1, 1), 0):
        refused("at", checks.aware_datetime, when, "at")
    assert checks.member(IncidentStatus, "NEW", "status") is IncidentStatus.NEW
    for status in ("new", "\x00", 3, None):
        refused("status", checks.member, IncidentStatus, status, "status")
    for flag in ("yes", 1, None):
        refused("enabled", checks.flag, flag, "enabled")
    refused("ids", checks.id_list, "abc", "ids")
    refused("ids", checks.id_list, ["nope"], "ids")
    refused("revs", checks.text_list, ["ok", "\x00"], "revs")
    assert checks.text_list(("a", "b"), "revs") == ["a", "b"]


def test_a_window_of_hours_never_overflows() -> None:
    assert checks.hours_before(T0, 24) == T0 - timedelta(days=1)
    assert checks.hours_before(T0, 2**63 - 1) == datetime.min.replace(tzinfo=UTC)
    refused("hours", checks.hours_before, T0, 2**63)
    refused("now", checks.hours_before, datetime(2026, 1, 1), 1)


def test_json_values_refuse_what_no_backend_stores_alike_without_recursing() -> None:
    for bad in ({"x": float("nan")}, {"x": float("inf")}, [float("-inf")], {"a\x00": 1}, {"\ud800": 1},
                {"x": ["\udfff"]}, {"x": 2**64}, {1: "x"}, {"x": b"bytes"}, {"x": {1, 2}}, nested(65),
                nested(100_000)):
        refused("payload", checks.json_value, bad, "payload")
    assert checks.json_value(nested(64), "payload") == nested(64)
    refused("payload", checks.json_object, [1], "payload")
    cyclic: list[Any] = []
    cyclic.append(cyclic)
    refused("payload", checks.screen, cyclic, "payload")  # the depth bound ends the walk


# -- aggregates and commands -------------------------------------------------------------------------
def _tenant(**extra: Any) -> Tenant:
    return Tenant.register(name="Acme", slug="acme", at=T0, **extra)


def test_every_field_of_an_aggregate_is_screened_however_it_is_built() -> None:
    tenant = _tenant(settings={"ok": [1, "two", None]})
    for field, value in (("name", "a\x00"), ("slug", "\ud800"), ("settings", {"k": float("nan")}),
                         ("settings", nested(80)), ("version", 2**64)):
        refused(field, Tenant.new, **{**tenant.__dict__, field: value})
        refused(field, tenant.evolve, **{field: value})
        refused(field, tenant.model_copy, update={field: value})  # model_copy validates now
    refused("name", tenant.rename, "\x00", T0)
    with pytest.raises(ValueError, match="NUL"):  # pydantic's error, built from ours
        Tenant(name="a\x00", slug="acme", created_at=T0, updated_at=T0)
    assert tenant.model_copy() == tenant and tenant.model_copy(update={"name": "Acme 2"}).name == "Acme 2"


def test_versions_stop_where_an_sql_integer_column_does() -> None:
    tenant = _tenant()
    assert tenant.at_version(2).version == 2 and tenant.at_version(2).name == tenant.name
    assert _tenant(version=MAX_VERSION).version == MAX_VERSION
    refused("version", _tenant, version=MAX_VERSION + 1)
    refused("version", tenant.at_version, MAX_VERSION + 1)
    refused("version", tenant.at_version, True)


def test_commands_are_screened_too() -> None:
    base = {"tenant_id": uuid.uuid4(), "workflow_id": uuid.uuid4(), "event_type": "x.failed", "idempotency_key": "k"}
    refused("payload", IncomingEvent.parse, **base, payload={"error": "\x00"})
    refused("correlation_id", IncomingEvent.parse, **base, correlation_id="\ud800")
    assert IncomingEvent.parse(**base, payload={"n": 2**63 - 1}).payload == {"n": 2**63 - 1}


def test_nullable_fields_come_from_the_model() -> None:
    assert nullable_fields(Tenant) == frozenset()
    assert {"workflow_id", "released_at", "released_by"} == nullable_fields(KILL_SWITCH_SCHEMA.model)


def test_money_and_hashes() -> None:
    refused("cents", Money.of, 2**63)
    refused("cents", Money.of(2**62).times, 2)
    refused("cents", Money.of, 1.5)
    assert str(Money.of(150) + Money.of(1)) == "1.51 USD"
    refused("payload", payload_hash, nested(100_000))
    refused("payload", payload_hash, {"x": float("nan")})
    refused("document_revision_ids", document_set_hash, ["ok", "\ud800"])
    refused("payload_hash", hash_argument, "f" * 64 + "\n")
    assert hash_argument("f" * 64) == "f" * 64


# -- filters -------------------------------------------------------------------------------------------
def _filter_classes() -> list[type[FilterSet]]:
    for module in pkgutil.walk_packages(domain.__path__, "domain."):
        importlib.import_module(module.name)
    found: list[type[FilterSet]] = []
    pending = list(FilterSet.__subclasses__())
    while pending:
        cls = pending.pop()
        found.append(cls)
        pending.extend(cls.__subclasses__())
    return found


def _bad_values(annotation: Any) -> list[Any]:
    args = [arg for arg in typing.get_args(annotation) if arg is not NoneType]
    kind = args[0] if typing.get_origin(annotation) in (typing.Union, UnionType) else annotation
    if typing.get_origin(kind) is tuple:
        return ["single", 5, *([[bad] for bad in _bad_values(typing.get_args(kind)[0])])]
    if kind is bool:
        return ["yes", 1, 0]
    if isinstance(kind, type) and issubclass(kind, Enum):
        return ["no such value", 3, "\x00"]
    if kind is str:
        return [*HOSTILE, 5]
    return {uuid.UUID: ["abc", 5, "\x00"], datetime: ["2020-01-01", datetime(2020, 1, 1), 0]}[kind]


def test_every_filter_field_refuses_the_wrong_type_naming_itself() -> None:
    classes = _filter_classes()
    assert len(classes) >= 11
    for cls in classes:
        hints = typing.get_type_hints(cls)
        for item in dataclasses.fields(cls):  # type: ignore[arg-type]
            for bad in _bad_values(hints[item.name]):
                refused(item.name, cls, **{item.name: bad})


def test_filters_coerce_what_is_unambiguous() -> None:
    workflow = uuid.uuid4()
    assert EventFilter(workflow_id=str(workflow)).workflow_id == workflow  # type: ignore[arg-type]
    assert IncidentFilter(statuses=["NEW"]).statuses == (IncidentStatus.NEW,)  # type: ignore[arg-type]
    paris = timezone(timedelta(hours=1))
    assert TenantFilter(created_from=datetime(2026, 1, 1, 1, tzinfo=paris)).created_from == datetime(2026, 1, 1,
                                                                                                      tzinfo=UTC)
    refused("slugs", TenantFilter, slugs=tuple("x" for _ in range(MAX_IN_VALUES + 1)))


def test_conditions_are_checked_against_their_field_kind() -> None:
    allowed = {"name": FieldKind.STRING, "n": FieldKind.INTEGER, "on": FieldKind.BOOLEAN, "at": FieldKind.DATETIME,
               "ref": FieldKind.UUID}
    for condition in (Condition("name", Operator.EQ, "\x00"), Condition("n", Operator.GT, 2**64),
                      Condition("on", Operator.EQ, "yes"), Condition("at", Operator.GTE, "2020-01-01"),
                      Condition("ref", Operator.IN, ("nope",)), Condition("name", Operator.EQ, None),
                      Condition("on", Operator.IS_NULL, "yes"), Condition("n", Operator.CONTAINS, "1"),
                      Condition("name", cast(Operator, "like"), "x")):
        refused(condition.field, condition.checked, allowed)
    refused("secret", Condition("secret", Operator.EQ, 1).checked, allowed)
    coerced = Condition("ref", Operator.IN, [str(uuid.UUID(int=1))]).checked(allowed)
    assert coerced.value == (uuid.UUID(int=1),)


# -- sorts and cursors ---------------------------------------------------------------------------------
def test_sort_directions_are_asc_or_desc_exactly() -> None:
    assert SortField("name", "desc").descending  # type: ignore[arg-type]
    assert SortField("name", "asc").direction is SortDirection.ASC  # type: ignore[arg-type]
    for bad in ("up", "DESC", "desc ", "", None, 1):
        refused("sort", SortField, "name", bad)
    refused("sort", SortField, 5)
    refused("sort", Sort, "name")
    refused("sort", Sort.parse, 5)
    refused("sort", Sort.by, 5)
    assert Sort([SortField("name")]).fields == (SortField("name"),)  # type: ignore[arg-type]


def test_listing_requests_name_what_is_wrong() -> None:
    refused("filters", plan_listing, EVENT_SCHEMA, "x", None, OffsetPageRequest())
    refused("sort", plan_listing, EVENT_SCHEMA, None, "occurred_at", OffsetPageRequest())
    refused("page", plan_listing, EVENT_SCHEMA, None, None, 5)
    refused("offset", OffsetPageRequest, offset=2**63)
    refused("cursor", CursorPageRequest, after="a" * (MAX_CURSOR_LENGTH + 1))


def test_null_keys_round_trip_only_for_nullable_fields() -> None:
    sort = Sort.parse("workflow_id,id").checked(KILL_SWITCH_SCHEMA.fields, ())
    page = CursorPageRequest(after=encode_cursor(sort, [FieldKind.UUID, FieldKind.UUID], [None, uuid.UUID(int=3)]))
    assert plan_listing(KILL_SWITCH_SCHEMA, None, sort, page).after == (None, uuid.UUID(int=3))
    refused("cursor", decode_cursor, page.after, sort, [FieldKind.UUID, FieldKind.UUID])  # not nullable there
    by_type = Sort.parse("event_type,id")
    null_type = CursorPageRequest(after=encode_cursor(by_type, [FieldKind.STRING, FieldKind.UUID],
                                                      [None, uuid.UUID(int=3)]))
    refused("cursor", plan_listing, EVENT_SCHEMA, None, by_type, null_type)


def test_the_longest_cursors_fit_and_hostile_ones_are_refused() -> None:
    sort = Sort(tuple(SortField(name, SortDirection.DESC) for name in EVENT_SCHEMA.fields))
    kinds = [EVENT_SCHEMA.fields[item.field] for item in sort.fields]
    worst = {"event_type": "x" * 255, "correlation_id": "😀" * 255, "occurred_at": T0, "created_at": T0,
             "updated_at": T0, "id": uuid.uuid4(), "workflow_id": uuid.uuid4()}
    cursor = encode_cursor(sort, kinds, [worst[item.field] for item in sort.fields])
    assert len(cursor) < MAX_CURSOR_LENGTH
    assert decode_cursor(cursor, sort, kinds) == [worst[item.field] for item in sort.fields]
    by_count = Sort.parse("n")
    for values in ([2**63], ["1"], [True], [None], [[1]]):
        refused("cursor", decode_cursor, encode_cursor(by_count, [FieldKind.INTEGER], values), by_count,
                [FieldKind.INTEGER])
    for text in ("@@", "a", "é", "=abc", "YQ==="):
        refused("cursor", decode_cursor, text, by_count, [FieldKind.INTEGER])


values_of = {FieldKind.STRING: st.text().filter(lambda t: "\x00" not in t), FieldKind.INTEGER:
             st.integers(-(2**63), 2**63 - 1), FieldKind.BOOLEAN: st.booleans(), FieldKind.UUID: st.uuids(),
             FieldKind.DATETIME: st.datetimes(timezones=st.just(UTC))}


@settings(max_examples=60)
@given(st.lists(st.sampled_from(list(FieldKind)), min_size=1, max_size=4).flatmap(
    lambda kinds: st.tuples(st.just(kinds), st.tuples(*(st.none() | values_of[kind] for kind in kinds)))))
def test_every_cursor_the_library_makes_comes_back(case: tuple[list[FieldKind], tuple[Any, ...]]) -> None:
    kinds, values = case
    sort = Sort(tuple(SortField(f"f{index}") for index in range(len(kinds))))
    assert decode_cursor(encode_cursor(sort, kinds, values), sort, kinds, [True] * len(kinds)) == list(values)


@settings(max_examples=80)
@given(st.text(max_size=60) | st.binary(max_size=60).map(lambda raw: raw.hex()))
def test_any_text_decodes_or_is_a_cursor_error(text: str) -> None:
    try:
        decode_cursor(text, Sort.parse("n,id"), [FieldKind.INTEGER, FieldKind.UUID], [True, False])
    except ValidationError as error:
        assert error.field == "cursor"


# -- NULL lowest, on objects and in the statement builders ------------------------------------------
@dataclasses.dataclass(frozen=True)
class Row:
    id: int
    a: int | None
    b: str | None


def _reference(rows: list[Row], sort: Sort) -> list[Row]:
    """NULL lowest by definition: each field compares as (is not None, value), so None is below every
    value; one comparison per pair of rows, independent of the adapter's stable passes."""
    def compare(left: Row, right: Row) -> int:
        for item in sort.fields:
            x, y = getattr(left, item.field), getattr(right, item.field)
            if x == y:
                continue
            lower = x is None or (y is not None and x < y)
            return (1 if lower else -1) if item.descending else (-1 if lower else 1)
        return 0

    return sorted(rows, key=functools.cmp_to_key(compare))


rows_strategy = st.lists(st.builds(Row, st.just(0), st.none() | st.integers(-2, 2), st.none() | st.sampled_from(
    ["", "a", "B", "é"])), max_size=12).map(lambda rows: [dataclasses.replace(r, id=i) for i, r in enumerate(rows)])
sorts_strategy = st.sampled_from(["a", "-a", "b", "-b", "a,-b", "-a,b", "b,a"]).map(lambda text: Sort.parse(
    f"{text},id"))


@settings(max_examples=60)
@given(rows_strategy, sorts_strategy)
def test_memory_and_sqlite_order_and_page_with_null_lowest(rows: list[Row], sort: Sort) -> None:
    expected = _reference(rows, sort)
    in_memory: list[Any] = querying.order(cast(list[Entity], list(rows)), sort)
    assert in_memory == expected
    table = sa.Table("t", sa.MetaData(), sa.Column("id", sa.Integer, primary_key=True),
                     sa.Column("a", sa.Integer, nullable=True), sa.Column("b", sa.Text, nullable=True))
    engine = sa.create_engine("sqlite://")
    with engine.begin() as connection:
        table.create(connection)
        if rows:
            connection.execute(table.insert(), [dataclasses.asdict(row) for row in rows])
        ordered = sa.select(table.c.id).order_by(*order_by_clauses(table, sort))
        assert list(connection.scalars(ordered)) == [row.id for row in expected]
        for index, anchor in enumerate(expected):
            position = [getattr(anchor, item.field) for item in sort.fields]
            after = [row.id for row in expected if querying.after(cast(Entity, row), sort, position)]
            assert after == [row.id for row in expected[index + 1:]]
            assert list(connection.scalars(ordered.where(keyset_after(table, sort, position)))) == after
    engine.dispose()


def test_bigquery_statements_spell_out_null_ordering() -> None:
    sort = Sort.parse("started_at,-failed_code,processor,id")
    assert order_sql(EXECUTIONS_TABLE, sort) == ("r.started_at ASC NULLS FIRST, r.failed_code DESC NULLS LAST, "
                                                 "r.processor ASC, r.id ASC")
    params = Parameters()
    sql = keyset_sql(EXECUTIONS_TABLE, params, sort, [None, "x", "p_bank", uuid.UUID(int=1)])
    assert sql.startswith("((r.started_at IS NOT NULL) OR (r.started_at IS NULL AND (r.failed_code < @p0 OR "
                          "r.failed_code IS NULL))")
    assert [item.value for item in params.items] == ["x", "p_bank", str(uuid.UUID(int=1))]
    assert keyset_sql(EXECUTIONS_TABLE, Parameters(), Sort.parse("-started_at"), [None]) == "FALSE"
