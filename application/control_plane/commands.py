"""The control plane's commands, validated at the boundary (bad input: `ValidationError` naming the
field, before any unit of work opens)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import Field, JsonValue, model_validator

from application.commands import Command
from domain.control_plane.inference import InferenceStatus
from domain.control_plane.policy import PolicyType, check_config
from domain.shared.checks import INT32_MAX
from domain.shared.time import UtcDatetime


class NewApplication(Command):
    tenant_id: uuid.UUID
    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=2000)
    actor_user_id: uuid.UUID | None = None
    request_id: str | None = Field(default=None, max_length=255)


class NewUser(Command):
    tenant_id: uuid.UUID
    email: str = Field(max_length=320)
    subject: str = Field(min_length=1, max_length=255)
    display_name: str | None = Field(default=None, max_length=200)


class NewPolicy(Command):
    tenant_id: uuid.UUID
    policy_type: PolicyType
    config: dict[str, JsonValue]
    priority: int = Field(default=0, ge=0, le=INT32_MAX)
    application_id: uuid.UUID | None = None
    user_id: uuid.UUID | None = None
    actor_user_id: uuid.UUID | None = None
    request_id: str | None = Field(default=None, max_length=255)

    @model_validator(mode="after")
    def _config_fits_the_type(self) -> NewPolicy:
        check_config(self.policy_type, self.config)
        return self


class PolicyChange(Command):
    tenant_id: uuid.UUID
    policy_id: uuid.UUID
    expected_version: int | None = None
    config: dict[str, JsonValue] | None = None
    priority: int | None = Field(default=None, ge=0, le=INT32_MAX)
    enabled: bool | None = None
    actor_user_id: uuid.UUID | None = None
    request_id: str | None = Field(default=None, max_length=255)


class InferenceRecord(Command):
    tenant_id: uuid.UUID
    application_id: uuid.UUID
    user_id: uuid.UUID | None = None
    provider: str = Field(min_length=1, max_length=100)
    model: str = Field(min_length=1, max_length=200)
    status: InferenceStatus
    tokens_in: int = Field(default=0, ge=0, le=INT32_MAX)
    tokens_out: int = Field(default=0, ge=0, le=INT32_MAX)
    cost_cents: int = Field(default=0, ge=0, le=2**53)
    latency_ms: int = Field(default=0, ge=0, le=INT32_MAX)
    request_id: str | None = Field(default=None, max_length=255)
    error: str | None = Field(default=None, max_length=5000)
    requested_at: UtcDatetime | None = None
    """When the request was made; the clock's now when not given."""

    def fields(self, at: datetime) -> dict[str, Any]:
        data = self.model_dump(exclude={"requested_at"})
        data["requested_at"] = self.requested_at or at
        return data
