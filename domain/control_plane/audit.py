"""The audit log: who did what to which resource, when, under which request. Append-only: an entry
is never changed or removed (except with its organization, which takes its history with it)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import Field, JsonValue

from domain.shared.entity import TenantOwned
from domain.shared.time import UtcDatetime

AuditAction = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[a-z0-9_]+(\.[a-z0-9_]+)*$")]
"""Dotted lower-case names: `policy.created`, `api_key.revoked`."""
ResourceType = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[a-z0-9_]+$")]


class AuditLog(TenantOwned):
    action: AuditAction
    resource_type: ResourceType
    resource_id: uuid.UUID | None = None
    application_id: uuid.UUID | None = None
    """The application that acted or was acted on; a recorded id, not a reference: the history of
    an application outlives it."""
    user_id: uuid.UUID | None = None
    """The user who acted; recorded like `application_id`."""
    actor: str | None = Field(default=None, max_length=255)
    """Who acted when no user did (`system`, a service name)."""
    details: dict[str, JsonValue] = Field(default_factory=dict)
    request_id: str | None = Field(default=None, max_length=255)
    occurred_at: UtcDatetime

    @classmethod
    def record(cls, *, tenant_id: uuid.UUID, action: str, resource_type: str, at: datetime,
               **extra: Any) -> AuditLog:
        return cls.new(tenant_id=tenant_id, action=action, resource_type=resource_type, occurred_at=at,
                       created_at=at, updated_at=at, **extra)
