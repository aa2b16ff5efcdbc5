"""Typed filters compile to conditions; every adapter evaluates conditions the same way.

A repository's filter model (for instance `TenantFilter`) turns its typed fields into a tuple of
`Condition`s. The SQL adapter compiles conditions to one WHERE clause, the memory adapter
evaluates them on objects: one vocabulary, so the two cannot drift.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from domain.shared.errors import ValidationError
from domain.shared.fields import FieldKind


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


@dataclass(frozen=True, slots=True)
class Condition:
    field: str
    operator: Operator
    value: Any = None

    def checked(self, allowed: Mapping[str, FieldKind]) -> Condition:
        if self.field not in allowed:
            raise ValidationError(self.field, "is not a filterable field")
        if self.operator is Operator.CONTAINS and allowed[self.field] is not FieldKind.STRING:
            raise ValidationError(self.field, "substring match needs a text field")
        if self.operator is Operator.IN and not isinstance(self.value, tuple | list | frozenset):
            raise ValidationError(self.field, "'in' needs a sequence of values")
        return self


class FilterSet:
    """Base of typed filters: subclasses return their conditions."""

    def conditions(self) -> tuple[Condition, ...]:
        raise NotImplementedError


_ASCII_FOLD = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def fold_ascii(text: str) -> str:
    """Lower-case ASCII letters only, which is what SQLite's LIKE and PostgreSQL's ILIKE under the
    C locale do; other letters compare exactly on every backend."""
    return text.translate(_ASCII_FOLD)
