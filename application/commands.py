"""Commands are pydantic models validated at the boundary; bad input raises our `ValidationError`
naming the field, before any unit of work opens."""

from __future__ import annotations

from typing import Any, Self

import pydantic
from pydantic import BaseModel, ConfigDict

from domain.shared.entity import raise_validation_error


class Command(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    @classmethod
    def parse(cls, **data: Any) -> Self:
        try:
            return cls.model_validate(data)
        except pydantic.ValidationError as error:
            raise_validation_error(error)
            raise
