"""Base of every aggregate: identity, timestamps and the optimistic-concurrency version."""

from __future__ import annotations

import uuid
from typing import Any, Self, TypeVar

import pydantic
from pydantic import BaseModel, ConfigDict, Field

from domain.shared.errors import ValidationError
from domain.shared.ids import TenantId, new_id
from domain.shared.time import UtcDatetime

M = TypeVar("M", bound=BaseModel)


def validated(model: type[M], data: dict[str, Any]) -> M:
    """Build `model` from `data`; pydantic's error becomes ours, naming the first offending field."""
    try:
        return model.model_validate(data)
    except pydantic.ValidationError as error:
        first = error.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or "input"
        message = first["msg"].removeprefix("Value error, ")
        raise ValidationError(field, message) from None


class Entity(BaseModel):
    """Aggregates are frozen: a change makes a new value through `evolve`, which re-validates."""

    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=True)

    id: uuid.UUID = Field(default_factory=new_id)
    created_at: UtcDatetime
    updated_at: UtcDatetime
    version: int = Field(default=1, ge=1)

    @classmethod
    def new(cls, **data: Any) -> Self:
        """Build and validate; bad input raises our `ValidationError` naming the field."""
        return validated(cls, data)

    def evolve(self, **changes: Any) -> Self:
        data = {**self.__dict__, **changes}
        return type(self).new(**data)


class TenantOwned(Entity):
    """An aggregate that lives inside one tenant."""

    tenant_id: TenantId
