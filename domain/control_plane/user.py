"""A user of an organization, known by an external identity provider's subject (a Cognito `sub`)."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, Field

from domain.shared.entity import TenantOwned

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def normalise_email(value: str) -> str:
    """Lower-cased and trimmed: `Ann@Acme.test` and `ann@acme.test` are one address, so uniqueness
    per organization and `get_by_email` agree on every backend."""
    value = value.strip().lower()
    if not _EMAIL.fullmatch(value):
        raise ValueError("not an email address")
    return value


Email = Annotated[str, Field(max_length=320), AfterValidator(normalise_email)]
Subject = Annotated[str, Field(min_length=1, max_length=255, pattern=r"^\S+$")]


class User(TenantOwned):
    email: Email
    subject: Subject
    """The identity provider's stable id of the person: unique across organizations, since one
    identity signs in to one organization's account."""
    display_name: str | None = Field(default=None, max_length=200)
    is_active: bool = True

    @classmethod
    def register(cls, *, tenant_id: uuid.UUID, email: str, subject: str, at: datetime, **extra: Any) -> User:
        return cls.new(tenant_id=tenant_id, email=email, subject=subject, created_at=at, updated_at=at, **extra)

    def deactivate(self, at: datetime) -> User:
        return self.evolve(is_active=False, updated_at=at)
