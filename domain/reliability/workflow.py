"""A workflow a tenant runs; events and kill switches refer to it."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, Field

from domain.shared.entity import TenantOwned


def _clean(value: str) -> str:
    value = value.strip()
    if not value:
        raise ValueError("must not be empty")
    if len(value) > 255:
        raise ValueError("at most 255 characters")
    return value


Name = Annotated[str, AfterValidator(_clean)]


class Workflow(TenantOwned):
    """Name unique per tenant."""

    name: Name
    description: str = Field(default="", max_length=2000)
    is_active: bool = True

    def deactivate(self, at: datetime) -> Workflow:
        return self.evolve(is_active=False, updated_at=at)

    def activate(self, at: datetime) -> Workflow:
        return self.evolve(is_active=True, updated_at=at)

    def rename(self, name: str, at: datetime) -> Workflow:
        return self.evolve(name=name, updated_at=at)
