"""Base of every aggregate: identity, timestamps and the optimistic-concurrency version."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from types import NoneType, UnionType
from typing import Any, Self, TypeVar, Union, get_args, get_origin

import pydantic
from pydantic import BaseModel, ConfigDict, Field, model_validator

from domain.shared.checks import MAX_VERSION, int64, optional_version, screen_fields
from domain.shared.errors import ValidationError
from domain.shared.ids import TenantId, new_id
from domain.shared.time import UtcDatetime

M = TypeVar("M", bound=BaseModel)

__all__ = ["MAX_VERSION", "Entity", "Screened", "TenantOwned", "nullable_fields", "translated", "validated"]

VERSION_ARGUMENT = "expected_version"
"""The name every command and port gives the version a caller read (optimistic locking)."""


def validated(model: type[M], data: dict[str, Any]) -> M:
    """Build `model` from `data`; pydantic's error becomes ours, naming the first offending field.

    Every value is screened first (`domain.shared.checks.screen`): hostile text, integers beyond 64
    bits, NaN and deep nesting are refused before pydantic walks them, for aggregates and commands alike.
    An `expected_version` is checked as the repositories check theirs (`optional_version`): pydantic's
    lax mode would turn "1", 1.0 and True into 1, and let through versions no record can have.
    """
    if not issubclass(model, Screened):
        screen_fields(data)
    if VERSION_ARGUMENT in data:
        optional_version(data[VERSION_ARGUMENT], VERSION_ARGUMENT)
    try:
        return model.model_validate(data)
    except pydantic.ValidationError as error:
        raise translated(error) from None


def translated(error: pydantic.ValidationError) -> ValidationError:
    """Our error for pydantic's: the one a validator raised as is, else the first error's field."""
    first = error.errors()[0]
    raised = (first.get("ctx") or {}).get("error")
    if isinstance(raised, ValidationError):
        return raised
    field = ".".join(str(part) for part in first["loc"]) or "input"
    message = first["msg"].removeprefix("Value error, ")
    return ValidationError(field, message)


class Screened(BaseModel):
    """A model whose every input value is screened before validation, however it is built
    (`new`, `model_validate`, the constructor)."""

    @model_validator(mode="before")
    @classmethod
    def _screened(cls, data: Any, info: pydantic.ValidationInfo) -> Any:
        if isinstance(data, Mapping) and info.context is not _ALREADY_SCREENED:
            screen_fields(data)
        return data


_ALREADY_SCREENED: dict[str, bool] = {"screened": True}
"""The validation context of `Entity.evolve`, which screens the changed values itself: the others
were screened when the entity was made (a frozen model's values stay as they were)."""


_NULLABLE: dict[type[BaseModel], frozenset[str]] = {}


def nullable_fields(model: type[BaseModel]) -> frozenset[str]:
    """The fields of `model` that may hold None: sorting and cursors treat their NULLs specially."""
    found = _NULLABLE.get(model)
    if found is None:
        found = _NULLABLE[model] = frozenset(
            name for name, info in model.model_fields.items() if _admits_none(info.annotation)
        )
    return found


def _admits_none(annotation: Any) -> bool:
    if annotation is None or annotation is NoneType:
        return True
    return get_origin(annotation) in (Union, UnionType) and NoneType in get_args(annotation)


class Entity(Screened):
    """Aggregates are frozen: a change makes a new value through `evolve`, which re-validates."""

    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=True)

    id: uuid.UUID = Field(default_factory=new_id)
    created_at: UtcDatetime
    updated_at: UtcDatetime
    version: int = Field(default=1, ge=1, le=MAX_VERSION)

    @classmethod
    def new(cls, **data: Any) -> Self:
        """Build and validate; bad input raises our `ValidationError` naming the field."""
        return validated(cls, data)

    def evolve(self, **changes: Any) -> Self:
        """This entity with `changes`, validated whole (rules across fields hold); only the changed
        values are screened, the others were when this entity was made."""
        screen_fields(changes)
        try:
            return type(self).model_validate({**self.__dict__, **changes}, context=_ALREADY_SCREENED)
        except pydantic.ValidationError as error:
            raise translated(error) from None

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Self:
        """pydantic's copy skips validation, so a copy with `update` is an `evolve`: a value no
        validation passed never reaches a repository. A plain copy stays a copy."""
        if update:
            return self.evolve(**{str(name): value for name, value in update.items()})
        return super().model_copy(deep=deep)

    def __getitem__(self, name: str) -> Any:
        """`execution["status"]`: read access by field name, as the specs' examples read the dicts
        their repositories return. Unknown names are a `KeyError`, as in a dict."""
        if not isinstance(name, str) or name not in type(self).model_fields:
            raise KeyError(name)
        return getattr(self, name)

    def at_version(self, version: int) -> Self:
        """This entity as stored at `version`, without re-validating the rest (it was validated):
        what adapters return after a write. A version past `MAX_VERSION` is refused, identically
        everywhere, instead of overflowing one backend's column."""
        checked = int64(version, "version", minimum=1, maximum=MAX_VERSION)
        # What pydantic's `model_copy(update=...)` does, without its generic path (a fifth of the
        # cost): every write returns one of these.
        copied = self.__class__.__new__(self.__class__)
        assign = object.__setattr__
        assign(copied, "__dict__", {**self.__dict__, "version": checked})
        assign(copied, "__pydantic_fields_set__", self.__pydantic_fields_set__ | {"version"})
        assign(copied, "__pydantic_extra__", None if self.__pydantic_extra__ is None else dict(self.__pydantic_extra__))
        assign(copied, "__pydantic_private__",
               None if self.__pydantic_private__ is None else dict(self.__pydantic_private__))
        return copied


class TenantOwned(Entity):
    """An aggregate that lives inside one tenant."""

    tenant_id: TenantId
