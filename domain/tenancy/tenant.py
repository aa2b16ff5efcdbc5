"""Tenant / Organization: one concept, the boundary every other record lives inside.

Spec 001 calls it Tenant (name, is_active, settings); spec 003 calls it Organization (name and a
unique slug). Portside keeps one aggregate with both.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, Field, JsonValue

from domain.shared.entity import Entity

SLUG_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


MAX_NAME_LENGTH = 200
MAX_SLUG_LENGTH = 63


def _clean_name(value: str) -> str:
    value = value.strip()
    if not value:
        raise ValueError("must not be empty")
    if len(value) > MAX_NAME_LENGTH:
        raise ValueError(f"at most {MAX_NAME_LENGTH} characters")
    return value


def _check_slug(value: str) -> str:
    if not SLUG_PATTERN.fullmatch(value):
        raise ValueError("lower-case letters, digits and single hyphens, like 'acme-corp'")
    return value


def slugify(name: str) -> str:
    """A slug suggestion for a display name: 'Acme Corp.' -> 'acme-corp'."""
    # Cut before the last hyphen can end up at the edge: a slug never ends with one.
    return "-".join(re.findall(r"[a-z0-9]+", name.lower()))[:MAX_SLUG_LENGTH].rstrip("-")


# Length is checked after trimming, on the name that is stored.
TenantName = Annotated[str, AfterValidator(_clean_name)]
Slug = Annotated[str, Field(min_length=1, max_length=MAX_SLUG_LENGTH), AfterValidator(_check_slug)]


class Tenant(Entity):
    name: TenantName
    slug: Slug
    is_active: bool = True
    settings: dict[str, JsonValue] = Field(default_factory=dict)

    @classmethod
    def register(cls, *, name: str, slug: str | None, at: datetime, **extra: Any) -> Tenant:
        return cls.new(
            name=name, slug=slug if slug is not None else slugify(name), created_at=at,
            updated_at=at, **extra,
        )

    def rename(self, name: str, at: datetime) -> Tenant:
        return self.evolve(name=name, updated_at=at)

    def deactivate(self, at: datetime) -> Tenant:
        return self.evolve(is_active=False, updated_at=at)

    def activate(self, at: datetime) -> Tenant:
        return self.evolve(is_active=True, updated_at=at)

    def with_settings(self, settings: dict[str, JsonValue], at: datetime) -> Tenant:
        return self.evolve(settings=settings, updated_at=at)
