"""Typed filters compile to conditions; every adapter evaluates conditions the same way.

A repository's filter model (for instance `TenantFilter`) turns its typed fields into a tuple of
`Condition`s. The SQL adapter compiles conditions to one WHERE clause, the memory adapter
evaluates them on objects: one vocabulary, so the two cannot drift.

Values are checked twice, so that no backend ever sees a value another would treat differently:
- a filter checks its fields when it is built, from their annotations (`FilterSet.__post_init__`):
  `bool` fields take only booleans (`"yes"` would match nothing on memory and everything truthy on
  PostgreSQL), enum fields take a member or its value, UUID fields a UUID or its text, datetime fields
  an aware datetime (a string is refused, not parsed), text fields clean text, tuples a list or tuple;
  the error names the filter's field;
- `Condition.checked` checks each condition's value against the kind of its field, for conditions
  that a hand-written filter builds.
"""

from __future__ import annotations

import dataclasses
import typing
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import Enum, StrEnum
from types import NoneType, UnionType
from typing import Any

from domain.shared.checks import aware_datetime, flag, int64, member, text_argument
from domain.shared.errors import ValidationError
from domain.shared.fields import FieldKind
from domain.shared.ids import parse_id

MAX_IN_VALUES = 30_000
"""Values of one `in` condition or tuple filter: SQLite binds at most 32,766 parameters per statement,
so a longer list would fail there alone."""


class Operator(StrEnum):
    EQ = "eq"
    NE = "ne"
    IN = "in"
    LT = "lt"
    LTE = "lte"
    GT = "gt"
    GTE = "gte"
    CONTAINS = "contains"  # case-insensitive substring, ASCII case folding on every backend
    IS_NULL = "is_null"


Check = Callable[[Any, str], Any]
"""A check of one value: the (possibly coerced) value, or a `ValidationError` naming the field."""

_KIND_CHECKS: dict[FieldKind, Check] = {
    FieldKind.STRING: text_argument,
    FieldKind.INTEGER: int64,
    FieldKind.BOOLEAN: flag,
    FieldKind.DATETIME: aware_datetime,
    FieldKind.UUID: parse_id,
}


@dataclass(frozen=True, slots=True)
class Condition:
    field: str
    operator: Operator
    value: Any = None

    def checked(self, allowed: Mapping[str, FieldKind]) -> Condition:
        """This condition with its value checked against its field's kind (UUID text becomes a UUID,
        datetimes become UTC); a NULL comparison is only `is_null`, since `= NULL` means "is null" to
        SQLAlchemy and "nothing" to SQL itself."""
        if not isinstance(self.field, str) or self.field not in allowed:
            raise ValidationError(str(self.field), "is not a filterable field")
        kind = allowed[self.field]
        check = _KIND_CHECKS[kind]
        value = self.value
        if self.operator is Operator.IS_NULL:
            value = flag(value, self.field)
        elif self.operator is Operator.CONTAINS:
            if kind is not FieldKind.STRING:
                raise ValidationError(self.field, "substring match needs a text field")
            value = text_argument(value, self.field)
        elif self.operator is Operator.IN:
            if not isinstance(value, tuple | list | frozenset | set):
                raise ValidationError(self.field, "'in' needs a sequence of values")
            if len(value) > MAX_IN_VALUES:
                raise ValidationError(self.field, f"'in' takes at most {MAX_IN_VALUES} values")
            value = tuple(check(item, self.field) for item in value)
        elif isinstance(self.operator, Operator) and self.operator in _COMPARISONS:
            if value is None:
                raise ValidationError(self.field, "compares to no value: use is_null")
            value = check(value, self.field)
        else:
            raise ValidationError(self.field, f"unsupported operator {self.operator!r}")
        return self if value is self.value else Condition(self.field, self.operator, value)


_COMPARISONS = frozenset({Operator.EQ, Operator.NE, Operator.LT, Operator.LTE, Operator.GT, Operator.GTE})


class FilterSet:
    """Base of typed filters (frozen dataclasses): subclasses return their conditions. Their fields are
    checked, and coerced, when they are built, from their annotations (see the module's docstring)."""

    __slots__ = ()

    def __post_init__(self) -> None:
        for name, check in _checks_of(type(self)):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, check(value, name))

    def conditions(self) -> tuple[Condition, ...]:
        raise NotImplementedError


_CHECKS: dict[type, tuple[tuple[str, Check], ...]] = {}


def _checks_of(cls: type) -> tuple[tuple[str, Check], ...]:
    """The checks of a filter class's fields, derived once from its annotations."""
    found = _CHECKS.get(cls)
    if found is None:
        hints = typing.get_type_hints(cls)
        found = _CHECKS[cls] = tuple(
            (item.name, _check_for(hints[item.name], cls, item.name)) for item in dataclasses.fields(cls)
        )
    return found


def _check_for(annotation: Any, owner: type, name: str) -> Check:
    """The check of a filter field annotated `annotation` (`X | None`, `tuple[X, ...] | None`)."""
    if typing.get_origin(annotation) in (typing.Union, UnionType):
        rest = [arg for arg in typing.get_args(annotation) if arg is not NoneType]
        if len(rest) == 1:
            return _check_for(rest[0], owner, name)
    if typing.get_origin(annotation) is tuple:
        args = typing.get_args(annotation)
        if len(args) == 2 and args[1] is Ellipsis:
            return _tuple_of(_check_for(args[0], owner, name))
    if isinstance(annotation, type):
        if issubclass(annotation, Enum):
            enum = annotation
            return lambda value, field: member(enum, value, field)
        for kind, check in _TYPE_CHECKS:
            if issubclass(annotation, kind):
                return check
    raise TypeError(f"{owner.__name__}.{name}: filters take bool, int, str, UUID, datetime, enums and "
                    f"tuples of them, not {annotation!r}")


def _tuple_of(check: Check) -> Check:
    def checked(value: Any, field: str) -> tuple[Any, ...]:
        # A str is iterable too: ("NEW") is "N", "E", "W", never what the caller meant.
        if not isinstance(value, tuple | list | frozenset | set):
            raise ValidationError(field, f"expected a tuple of values, got {type(value).__name__}")
        if len(value) > MAX_IN_VALUES:
            raise ValidationError(field, f"takes at most {MAX_IN_VALUES} values")
        return tuple(check(item, field) for item in value)

    return checked


_TYPE_CHECKS: tuple[tuple[type, Check], ...] = (
    (bool, flag), (int, int64), (str, text_argument), (uuid.UUID, parse_id), (datetime, aware_datetime),
)
"""In this order: bool before int, since bool is an int to Python."""

_ASCII_FOLD = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def fold_ascii(text: str) -> str:
    """Lower-case ASCII letters only, which is what SQLite's LIKE and PostgreSQL's ILIKE under the
    C locale do; other letters compare exactly on every backend."""
    return text.translate(_ASCII_FOLD)
