"""The hostile inputs of the bad-input contract (`bad_input.py`) and the probes that send them.

A probe is one call that must raise `ValidationError` naming one field. The builders derive probes
from what they are given, so that no field or method is forgotten: `entity_probes` makes every field
of an aggregate hostile by its type (text, enum, JSON, int, float, UUID), `crud_probes` covers the
generic CRUD methods of spec 004, `argument_probes` one port method's arguments one at a time.
"""

from __future__ import annotations

import base64
import json
import typing
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from types import NoneType, UnionType
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from domain.shared.checks import MAX_JSON_DEPTH
from domain.shared.entity import Entity
from domain.shared.errors import ValidationError
from domain.shared.filters import FilterSet
from domain.shared.pagination import MAX_CURSOR_LENGTH, CursorPageRequest, OffsetPageRequest
from domain.shared.sorting import Sort, SortField

T0 = datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)
HOSTILE_TEXT: tuple[str, ...] = ("nul\x00inside", "\ud800", "tail \udfff")
HUGE_INTS: tuple[int, ...] = (2**63, -(2**63) - 1, 2**200)
BAD_IDS: tuple[Any, ...] = ("\x00", "\ud800", "not-a-uuid", 42, 2**70, None, b"x" * 16)
BAD_VERSIONS: tuple[Any, ...] = ("1", 1.0, True, 0, -1, 2**63, 2**70)
BAD_DATETIMES: tuple[Any, ...] = ("2026-03-01T12:00:00Z", datetime(2026, 3, 1), 1_772_366_400)
BAD_FLAGS: tuple[Any, ...] = ("yes", 1, 0, None)


def hostile_json() -> list[Any]:
    """JSON objects no backend stores alike, deep ones included (built without recursion)."""
    deep: Any = "bottom"
    for _ in range(MAX_JSON_DEPTH + 1):
        deep = {"k": deep}
    abyss: list[Any] = []
    cell = abyss
    for _ in range(20_000):  # far past the recursion limit of any recursive walk
        cell.append([])
        cell = cell[0]
    return [{"x": float("nan")}, {"x": float("inf")}, {"x": [float("-inf")]}, {"nul\x00": 1}, {"x": "nul\x00"},
            {"\ud800": 1}, {"x": {"y": ["\udfff"]}}, {"x": 2**64}, {"x": -(2**63) - 1}, deep, {"x": abyss}]


def _b64(text: str | bytes) -> str:
    raw = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def cursor_of(signature: str, values: list[Any]) -> str:
    """A cursor as the library spells them, carrying any values: for forging hostile ones."""
    return _b64(json.dumps({"s": signature, "v": values}))


def hostile_cursors(sort: Sort) -> list[Any]:
    """Cursors no listing sorted by `sort` (already ending on id) may accept."""
    signature, width = sort.signature(), len(sort.fields)
    shaped = [[bad, *[None] * (width - 1)] for bad in (2**64, "\u0000", "\ud800", [1], {"a": 1}, True)]
    return [
        "", "!!!!", "x", 42, b"cursor", "a" * (MAX_CURSOR_LENGTH + 1), _b64("[" * 1400 + "]" * 1400),
        _b64('{"s":' * 500 + "1" + "}" * 500), _b64(b"\xff\xfe\xfd"), _b64("null"), _b64('{"s": "other", "v": []}'),
        cursor_of(signature, [None] * (width + 1)), cursor_of(signature, []),
        *(cursor_of(signature, values) for values in shaped),
    ]


# -- probes ---------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Probe:
    label: str
    call: Callable[[], object]
    field: str


def assert_refused(probes: Iterable[Probe]) -> int:
    """Run every probe; each must raise `ValidationError` naming its field. All failures are reported
    at once, so one run shows every input an adapter mishandles. Returns how many probes ran."""
    problems: list[str] = []
    count = 0
    for probe in probes:
        count += 1
        try:
            probe.call()
        except ValidationError as error:
            if error.field != probe.field:
                problems.append(f"{probe.label}: ValidationError({error.field!r}), expected {probe.field!r}")
        except Exception as error:
            problems.append(f"{probe.label}: {type(error).__name__}: {str(error)[:200]}")
        else:
            problems.append(f"{probe.label}: accepted")
    assert not problems, f"{len(problems)} of {count} hostile inputs were not refused as expected:\n" + "\n".join(
        problems)
    return count


def _plain(annotation: Any) -> Any:
    if typing.get_origin(annotation) in (typing.Union, UnionType):
        rest = [arg for arg in typing.get_args(annotation) if arg is not NoneType]
        return rest[0] if len(rest) == 1 else annotation
    return annotation


def _hostile_values(annotation: Any) -> list[Any]:
    """Hostile values for a field of this type: text for text (and enum) fields, JSON for JSON ones..."""
    kind = _plain(annotation)
    origin = typing.get_origin(kind)
    if origin is dict:
        return hostile_json()
    if origin is list:
        return [["ok", text] for text in HOSTILE_TEXT]
    if kind is float:
        return [float("nan"), float("inf")]
    if kind is int:
        return list(HUGE_INTS)
    if isinstance(kind, type) and issubclass(kind, str):
        return [*HOSTILE_TEXT, "no such value"] if kind is not str else list(HOSTILE_TEXT)
    if kind is uuid.UUID:
        return ["\x00", "\ud800"]
    return []


def entity_probes(label: str, existing: Entity, write: Callable[[Any], object]) -> Iterator[Probe]:
    """Every field of `existing` made hostile, then handed to `write` (create or update)."""
    for name, info in type(existing).model_fields.items():
        for value in _hostile_values(info.annotation):
            yield Probe(f"{label}({name}={_short(value)})", partial(_write_changed, write, existing, name, value), name)


def _write_changed(write: Callable[[Any], object], existing: Entity, name: str, value: Any) -> object:
    return write(existing.model_copy(update={name: value}))


def made(cls: Callable[..., FilterSet], **fields: Any) -> Callable[[], FilterSet]:
    """A filter built when the probe runs, so that its refusal is part of the probe."""
    return partial(cls, **fields)


def crud_probes(label: str, repository: Any, existing: Entity, *, mutable: bool = True,
                bad_filters: Iterable[tuple[Callable[[], FilterSet], str]] = ()) -> Iterator[Probe]:
    """The generic CRUD methods of spec 004, with a stored `existing` record of the repository."""
    yield from entity_probes(f"{label}.create", existing, repository.create)
    yield from entity_probes(f"{label}.bulk_create", existing, partial(in_list, repository.bulk_create))
    for wrong in ("not an entity", 42, None):
        yield Probe(f"{label}.create({wrong!r})", partial(repository.create, wrong), "entity")
        yield Probe(f"{label}.bulk_create([{wrong!r}])", partial(repository.bulk_create, [wrong]), "entity")
    if mutable:
        yield from entity_probes(f"{label}.update", existing, repository.update)
        yield Probe(f"{label}.update(42)", partial(repository.update, 42), "entity")
    for bad in BAD_IDS:
        yield Probe(f"{label}.get_by_id({_short(bad)})", partial(repository.get_by_id, bad), "id")
        yield Probe(f"{label}.exists({_short(bad)})", partial(repository.exists, bad), "id")
        if mutable:
            yield Probe(f"{label}.delete({_short(bad)})", partial(repository.delete, bad), "id")
    if mutable:
        for version in BAD_VERSIONS:
            yield Probe(f"{label}.delete(expected_version={_short(version)})",
                        partial(repository.delete, existing.id, expected_version=version), "expected_version")
    yield from listing_probes(label, repository, bad_filters)


def in_list(method: Callable[[list[Any]], object], entity: Any) -> object:
    """`method([entity])`: a batch method probed with one hostile record."""
    return method([entity])


def _sorted(field: Any, direction: Any) -> Callable[[], Sort]:
    return lambda: Sort((SortField(field, direction),))


def _listed(method: Callable[..., object], **request: Callable[[], Any]) -> Callable[[], object]:
    """`method` called with arguments built when the probe runs (filters, sorts, pages refuse early)."""
    return lambda: method(**{name: build() for name, build in request.items()})


def listing_probes(label: str, repository: Any,
                   bad_filters: Iterable[tuple[Callable[[], FilterSet], str]]) -> Iterator[Probe]:
    """Filters, sorts, pages and cursors of `count`, `list_and_count` and `list_by_cursor`."""
    for make, field in bad_filters:
        yield Probe(f"{label}.count(bad {field})", _listed(repository.count, filters=make), field)
        yield Probe(f"{label}.list_by_cursor(bad {field})", _listed(repository.list_by_cursor, filters=make), field)
    sorts: list[Callable[[], Sort]] = [
        _sorted("id", "up"), _sorted("id", "DESC "), _sorted("id", "DESC"), _sorted(5, "asc"),
        partial(Sort.parse, "no_such_field"), partial(Sort.parse, "id\x00"),
        partial(Sort.parse, "created_at,-created_at"),
    ]
    for index, make_sort in enumerate(sorts):
        yield Probe(f"{label}.list_and_count(bad sort {index})", _listed(repository.list_and_count, sort=make_sort),
                    "sort")
    yield Probe(f"{label}.list_and_count(sort='id')", partial(repository.list_and_count, sort="id"), "sort")
    yield Probe(f"{label}.count(filters='x')", partial(repository.count, "is_active"), "filters")
    yield Probe(f"{label}.list_and_count(page='x')", partial(repository.list_and_count, page="x"), "page")
    offsets: tuple[Any, ...] = (-1, 2**63, 2**70, "1", True)
    for offset in offsets:
        yield Probe(f"{label}.list_and_count(offset={_short(offset)})",
                    _listed(repository.list_and_count, page=partial(OffsetPageRequest, offset=offset)), "offset")
    limits: tuple[Any, ...] = (0, 2**64, "10", True)
    for limit in limits:
        yield Probe(f"{label}.list_by_cursor(limit={_short(limit)})",
                    _listed(repository.list_by_cursor, page=partial(CursorPageRequest, limit=limit)), "limit")
    by_creation = Sort.parse("created_at,id")
    yield from cursor_probes(label, repository, by_creation, hostile_cursors(by_creation))


def cursor_probes(label: str, repository: Any, sort: Sort, cursors: Iterable[Any]) -> Iterator[Probe]:
    for cursor in cursors:
        page = partial(CursorPageRequest, after=cursor)
        yield Probe(f"{label}.list_by_cursor({sort.signature()}, after={_short(cursor)})",
                    _listed(repository.list_by_cursor, sort=partial(_same, sort), page=page), "cursor")


def _same(value: Any) -> Any:
    return value


def argument_probes(label: str, call: Callable[..., object], valid: Mapping[str, Any],
                    bad: Mapping[str, Iterable[Any]]) -> Iterator[Probe]:
    """`call(**valid)` with one argument at a time replaced by each of its bad values."""
    for name, values in bad.items():
        for value in values:
            yield Probe(f"{label}({name}={_short(value)})", partial(call, **{**valid, name: value}), name)


def walk(list_page: Callable[[str | None], tuple[list[Any], str | None]]) -> list[Any]:
    """Every item of a keyset listing, page after page, each cursor handed back as the library made it."""
    items: list[Any] = []
    cursor: str | None = None
    for _ in range(1000):
        page, cursor = list_page(cursor)
        items.extend(page)
        if cursor is None:
            return items
    raise AssertionError("the keyset listing never ended")


def null_lowest(rows: Iterable[Entity], sort: Sort) -> list[uuid.UUID]:
    """Ids in `sort` order (then id) with NULL the lowest value: the order every backend must give."""
    ordered = sorted(rows, key=lambda row: row.id)
    for item in reversed(sort.fields):
        ordered.sort(key=partial(_null_lowest_key, item.field), reverse=item.descending)
    return [row.id for row in ordered]


def _null_lowest_key(field: str, row: Entity) -> tuple[bool, Any]:
    value = getattr(row, field)
    return (value is not None, value)


any_cursor = st.one_of(
    st.text(max_size=40),
    st.binary(max_size=40).map(_b64),
    st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=6),
                 lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(["s", "v"]), inner),
                 max_leaves=6).map(lambda value: _b64(json.dumps(value))),
)
fuzzed = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
"""Few examples: the fixed probes cover the known cases, the fuzz only looks for an untyped error."""


def refuses_or_lists(repository: Any, cursor: str) -> None:
    """Any text handed as a cursor lists a page or is `ValidationError("cursor")`, nothing else."""
    try:
        page = repository.list_by_cursor(page=CursorPageRequest(limit=2, after=cursor))
    except ValidationError as error:
        assert error.field == "cursor", error
    else:
        assert len(page.items) <= 2


def _short(value: Any) -> str:
    if isinstance(value, list | dict):
        return f"<{type(value).__name__} of {len(value)}>"
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 64:
        return f"<{value.bit_length()}-bit int>"
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."

