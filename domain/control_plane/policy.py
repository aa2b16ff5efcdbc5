"""Policies: rules of a type (rate limit, cost limit, model allow-list) with a JSON configuration,
set for a whole organization, one of its applications, or one of its users.

The scope follows from what the policy names: a user, else an application, else the organization.
The most specific scope applies first (user, then application, then organization), and inside one
scope the higher priority first (`PRECEDENCE` and `applicable_order`).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import Field, JsonValue, model_validator

from domain.shared.checks import INT32_MAX
from domain.shared.entity import TenantOwned
from domain.shared.errors import ValidationError


class PolicyType(StrEnum):
    RATE_LIMIT = "rate_limit"
    COST_LIMIT = "cost_limit"
    MODEL_ALLOWLIST = "model_allowlist"


class PolicyScope(StrEnum):
    ORGANIZATION = "organization"
    APPLICATION = "application"
    USER = "user"


PRECEDENCE = {PolicyScope.USER: 0, PolicyScope.APPLICATION: 1, PolicyScope.ORGANIZATION: 2}
"""Lower applies first."""

COST_PERIODS = ("day", "month")
MAX_ALLOWED_MODELS = 500


def _positive(config: Mapping[str, Any], key: str, *, zero: bool = False) -> None:
    value = config[key]
    if isinstance(value, bool) or not isinstance(value, int) or not (0 if zero else 1) <= value <= INT32_MAX:
        bound = "a non-negative" if zero else "a positive"
        raise ValidationError(f"config.{key}", f"must be {bound} integer up to {INT32_MAX}, got {value!r}")


def _rate_limit(config: Mapping[str, Any]) -> None:
    if not config.keys() & {"requests_per_minute", "tokens_per_minute"}:
        raise ValidationError("config", "a rate limit needs requests_per_minute or tokens_per_minute")
    for key in config:
        _positive(config, key)


def _cost_limit(config: Mapping[str, Any]) -> None:
    if "limit_cents" not in config:
        raise ValidationError("config", "a cost limit needs limit_cents")
    _positive(config, "limit_cents", zero=True)
    if config.get("period", "month") not in COST_PERIODS:
        raise ValidationError("config.period", f"must be one of {', '.join(COST_PERIODS)}")


def _model_allowlist(config: Mapping[str, Any]) -> None:
    models = config.get("models")
    if not isinstance(models, list) or not models or len(models) > MAX_ALLOWED_MODELS:
        raise ValidationError("config.models", f"must be a list of 1 to {MAX_ALLOWED_MODELS} model names")
    if any(not isinstance(model, str) or not model.strip() or len(model) > 200 for model in models):
        raise ValidationError("config.models", "every model name must be non-empty text of at most 200 characters")


_CONFIG_KEYS: dict[PolicyType, frozenset[str]] = {
    PolicyType.RATE_LIMIT: frozenset({"requests_per_minute", "tokens_per_minute"}),
    PolicyType.COST_LIMIT: frozenset({"limit_cents", "period"}),
    PolicyType.MODEL_ALLOWLIST: frozenset({"models"}),
}
_CONFIG_CHECKS: dict[PolicyType, Callable[[Mapping[str, Any]], None]] = {
    PolicyType.RATE_LIMIT: _rate_limit,
    PolicyType.COST_LIMIT: _cost_limit,
    PolicyType.MODEL_ALLOWLIST: _model_allowlist,
}


def check_config(policy_type: PolicyType, config: Mapping[str, Any]) -> None:
    """A configuration the type does not define is refused when the policy is made, so that an
    enforcement point never meets a policy it cannot read."""
    unknown = sorted(set(config) - _CONFIG_KEYS[policy_type])
    if unknown:
        raise ValidationError("config", f"unknown keys for a {policy_type.value} policy: {', '.join(unknown)}")
    _CONFIG_CHECKS[policy_type](config)


def scope_of(application_id: uuid.UUID | None, user_id: uuid.UUID | None) -> PolicyScope:
    if user_id is not None:
        return PolicyScope.USER
    return PolicyScope.ORGANIZATION if application_id is None else PolicyScope.APPLICATION


class Policy(TenantOwned):
    policy_type: PolicyType
    config: dict[str, JsonValue]
    priority: int = Field(default=0, ge=0, le=INT32_MAX)
    application_id: uuid.UUID | None = None
    user_id: uuid.UUID | None = None
    """A user's policy may also name an application: it then binds the user in that application only."""
    enabled: bool = True

    @property
    def scope(self) -> PolicyScope:
        """What the policy names decides it: one source of truth, nothing stored to disagree."""
        return scope_of(self.application_id, self.user_id)

    @model_validator(mode="after")
    def _checked_config(self) -> Policy:
        check_config(self.policy_type, self.config)
        return self

    @classmethod
    def define(cls, *, tenant_id: uuid.UUID, policy_type: PolicyType | str, config: dict[str, Any], at: datetime,
               priority: int = 0, application_id: uuid.UUID | None = None, user_id: uuid.UUID | None = None,
               **extra: Any) -> Policy:
        return cls.new(tenant_id=tenant_id, policy_type=policy_type, config=config, priority=priority,
                       application_id=application_id, user_id=user_id, created_at=at, updated_at=at, **extra)

    def applies_to(self, application_id: uuid.UUID, user_id: uuid.UUID | None) -> bool:
        """Whether the policy binds a request of `application_id` by `user_id` (None: no user)."""
        if not self.enabled:
            return False
        if self.scope is PolicyScope.USER:
            return user_id == self.user_id and self.application_id in (None, application_id)
        return self.scope is PolicyScope.ORGANIZATION or self.application_id == application_id

    def reconfigure(self, config: dict[str, Any], at: datetime) -> Policy:
        return self.evolve(config=config, updated_at=at)

    def reprioritise(self, priority: int, at: datetime) -> Policy:
        return self.evolve(priority=priority, updated_at=at)

    def enable(self, at: datetime) -> Policy:
        return self.evolve(enabled=True, updated_at=at)

    def disable(self, at: datetime) -> Policy:
        return self.evolve(enabled=False, updated_at=at)


def applicable_order(policies: Iterable[Policy]) -> list[Policy]:
    """User policies, then application, then organization; in each, higher priority first, then the
    oldest (by id, which is time-ordered), so the order is total and the same everywhere."""
    return sorted(policies, key=lambda p: (PRECEDENCE[p.scope], -p.priority, p.created_at, p.id))
