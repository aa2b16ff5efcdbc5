"""Sort specifications, checked against each repository's allow-list of fields."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from domain.shared.errors import ValidationError
from domain.shared.fields import FieldKind


class SortDirection(StrEnum):
    ASC = "asc"
    DESC = "desc"


@dataclass(frozen=True, slots=True)
class SortField:
    """One field of a sort. The direction is `SortDirection` or exactly its value, `"asc"` or
    `"desc"` (coerced to the member): case-sensitive like field names, so that one spelling means one
    thing and `"DESC "` or `"up"` is a `ValidationError("sort")` rather than a silent ascending sort."""

    field: str
    direction: SortDirection = SortDirection.ASC

    def __post_init__(self) -> None:
        if not isinstance(self.field, str):
            raise ValidationError("sort", f"a sort field is named by text, got {type(self.field).__name__}")
        if not isinstance(self.direction, SortDirection):
            try:
                direction = SortDirection(self.direction) if isinstance(self.direction, str) else None
            except ValueError:
                direction = None
            if direction is None:
                raise ValidationError("sort", f"direction of {self.field!r} must be 'asc' or 'desc', "
                                              f"got {self.direction!r}")
            object.__setattr__(self, "direction", direction)

    @property
    def descending(self) -> bool:
        return self.direction is SortDirection.DESC


@dataclass(frozen=True, slots=True)
class Sort:
    """An ordered list of sort fields. Every listing ends on `id` so that order is total."""

    fields: tuple[SortField, ...] = ()

    def __post_init__(self) -> None:
        fields = self.fields
        if not isinstance(fields, tuple | list) or not all(isinstance(item, SortField) for item in fields):
            raise ValidationError("sort", "expected a tuple of SortField")
        object.__setattr__(self, "fields", tuple(fields))

    @classmethod
    def parse(cls, text: str) -> Sort:
        """`"name,-created_at"`: a leading `-` sorts that field descending."""
        if not isinstance(text, str):
            raise ValidationError("sort", f"expected text such as 'name,-created_at', got {type(text).__name__}")
        fields: list[SortField] = []
        for part in (piece.strip() for piece in text.split(",")):
            if not part:
                continue
            if part.startswith("-"):
                fields.append(SortField(part[1:], SortDirection.DESC))
            else:
                fields.append(SortField(part.lstrip("+"), SortDirection.ASC))
        return cls(tuple(fields))

    @classmethod
    def by(cls, *fields: str | SortField) -> Sort:
        parsed: list[SortField] = []
        for item in fields:
            if not isinstance(item, str | SortField):
                raise ValidationError("sort", f"expected a field name or a SortField, got {type(item).__name__}")
            parsed.extend(cls.parse(item).fields if isinstance(item, str) else (item,))
        return cls(tuple(parsed))

    def checked(self, allowed: Mapping[str, FieldKind], default: Iterable[SortField]) -> Sort:
        """This sort with its fields validated, the default applied and `id` appended."""
        fields = self.fields or tuple(default)
        seen: set[str] = set()
        for item in fields:
            if item.field not in allowed:
                names = ", ".join(sorted(allowed))
                raise ValidationError("sort", f"unknown field {item.field!r}; allowed: {names}")
            if item.field in seen:
                raise ValidationError("sort", f"field {item.field!r} appears twice")
            seen.add(item.field)
        if "id" not in seen:
            fields = (*fields, SortField("id"))
        return Sort(tuple(fields))

    def signature(self) -> str:
        return ",".join(("-" if f.descending else "") + f.field for f in self.fields)
