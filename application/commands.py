"""Commands are pydantic models validated at the boundary; bad input raises our `ValidationError`
naming the field, before any unit of work opens."""

from __future__ import annotations

from typing import Any, Self

from pydantic import BaseModel, ConfigDict

from domain.shared.entity import validated


class Command(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    @classmethod
    def parse(cls, **data: Any) -> Self:
        return validated(cls, data)
