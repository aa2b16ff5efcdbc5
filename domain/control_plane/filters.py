"""Typed filters of the control-plane listings."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from domain.control_plane.inference import InferenceStatus
from domain.control_plane.policy import PolicyScope, PolicyType
from domain.shared.filters import Condition, FilterSet, Operator


def _equal(found: list[Condition], field: str, value: object) -> None:
    if value is not None:
        found.append(Condition(field, Operator.EQ, value))


@dataclass(frozen=True, slots=True)
class ApplicationFilter(FilterSet):
    is_active: bool | None = None
    name_contains: str | None = None

    def conditions(self) -> tuple[Condition, ...]:
        found: list[Condition] = []
        _equal(found, "is_active", self.is_active)
        if self.name_contains:
            found.append(Condition("name", Operator.CONTAINS, self.name_contains))
        return tuple(found)


@dataclass(frozen=True, slots=True)
class UserFilter(FilterSet):
    is_active: bool | None = None
    email_contains: str | None = None

    def conditions(self) -> tuple[Condition, ...]:
        found: list[Condition] = []
        _equal(found, "is_active", self.is_active)
        if self.email_contains:
            found.append(Condition("email", Operator.CONTAINS, self.email_contains))
        return tuple(found)


@dataclass(frozen=True, slots=True)
class PolicyFilter(FilterSet):
    policy_type: PolicyType | None = None
    scope: PolicyScope | None = None
    application_id: uuid.UUID | None = None
    user_id: uuid.UUID | None = None
    enabled: bool | None = None

    def conditions(self) -> tuple[Condition, ...]:
        found: list[Condition] = []
        _equal(found, "policy_type", None if self.policy_type is None else self.policy_type.value)
        if self.scope is not None:  # the scope is what the policy names
            found.append(Condition("user_id", Operator.IS_NULL, self.scope is not PolicyScope.USER))
            if self.scope is not PolicyScope.USER:
                found.append(Condition("application_id", Operator.IS_NULL, self.scope is PolicyScope.ORGANIZATION))
        _equal(found, "application_id", self.application_id)
        _equal(found, "user_id", self.user_id)
        _equal(found, "enabled", self.enabled)
        return tuple(found)


@dataclass(frozen=True, slots=True)
class AuditLogFilter(FilterSet):
    """Entries with `occurred_from <= occurred_at < occurred_before`, of one application, user, action."""

    application_id: uuid.UUID | None = None
    user_id: uuid.UUID | None = None
    action: str | None = None
    resource_id: uuid.UUID | None = None
    request_id: str | None = None
    occurred_from: datetime | None = None
    occurred_before: datetime | None = None

    def conditions(self) -> tuple[Condition, ...]:
        found: list[Condition] = []
        _equal(found, "application_id", self.application_id)
        _equal(found, "user_id", self.user_id)
        _equal(found, "action", self.action)
        _equal(found, "resource_id", self.resource_id)
        _equal(found, "request_id", self.request_id)
        if self.occurred_from is not None:
            found.append(Condition("occurred_at", Operator.GTE, self.occurred_from))
        if self.occurred_before is not None:
            found.append(Condition("occurred_at", Operator.LT, self.occurred_before))
        return tuple(found)


@dataclass(frozen=True, slots=True)
class InferenceRequestFilter(FilterSet):
    application_id: uuid.UUID | None = None
    user_id: uuid.UUID | None = None
    status: InferenceStatus | None = None
    provider: str | None = None
    model: str | None = None
    requested_from: datetime | None = None
    requested_before: datetime | None = None

    def conditions(self) -> tuple[Condition, ...]:
        found: list[Condition] = []
        _equal(found, "application_id", self.application_id)
        _equal(found, "user_id", self.user_id)
        _equal(found, "status", None if self.status is None else self.status.value)
        _equal(found, "provider", self.provider)
        _equal(found, "model", self.model)
        if self.requested_from is not None:
            found.append(Condition("requested_at", Operator.GTE, self.requested_from))
        if self.requested_before is not None:
            found.append(Condition("requested_at", Operator.LT, self.requested_before))
        return tuple(found)
