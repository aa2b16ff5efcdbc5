"""Applications and their API keys, users, policies with their audit trail, inference records.

A change and its audit entry are written in one transaction: both persist or neither does (the
audit entry is `insert`ed in the change's unit of work, not handed to the asynchronous writer).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from application.control_plane.commands import InferenceRecord, NewApplication, NewPolicy, NewUser, PolicyChange
from domain.control_plane.api_keys import IssuedKey, hash_key
from domain.control_plane.application import Application
from domain.control_plane.audit import AuditLog
from domain.control_plane.errors import ApiKeyRejected
from domain.control_plane.inference import InferenceMetrics, InferenceRequest
from domain.control_plane.policy import Policy
from domain.control_plane.user import User
from domain.shared.checks import optional_version
from domain.shared.errors import ConcurrencyConflict, ValidationError
from domain.shared.ids import parse_id
from ports.clock import Clock
from ports.control_plane import ControlPlaneUnitOfWork, ControlPlaneUnitOfWorkFactory
from ports.tenancy import TenancyUnitOfWorkFactory
from ports.transactions import Transaction, TransactionManager


def _audit(uow: ControlPlaneUnitOfWork, *, tenant_id: uuid.UUID, action: str, resource_type: str,
           resource_id: uuid.UUID, at: datetime, user_id: uuid.UUID | None = None, request_id: str | None = None,
           application_id: uuid.UUID | None = None, details: dict[str, Any] | None = None) -> None:
    uow.audit_logs.insert(AuditLog.record(
        tenant_id=tenant_id, action=action, resource_type=resource_type, resource_id=resource_id, at=at,
        user_id=user_id, request_id=request_id, application_id=application_id, details=details or {},
        actor=None if user_id is not None else "system",
    ))


class RegisterApplication:
    """A new application and its first key. The key's secret is returned here and never again."""

    def __init__(self, uow: ControlPlaneUnitOfWorkFactory, clock: Clock, tenants: TenancyUnitOfWorkFactory) -> None:
        self._uow = uow
        self._clock = clock
        self._tenants = tenants

    def __call__(self, command: NewApplication) -> tuple[Application, IssuedKey]:
        at = self._clock.now()
        application, key = Application.register(tenant_id=command.tenant_id, name=command.name, at=at,
                                                description=command.description)
        with self._uow.for_tenant(command.tenant_id) as uow:
            stored = uow.applications.create(application)
            _audit(uow, tenant_id=command.tenant_id, action="application.created", resource_type="application",
                   resource_id=stored.id, application_id=stored.id, user_id=command.actor_user_id,
                   request_id=command.request_id, at=at, details={"name": stored.name, "key_prefix": key.prefix})
        return stored, key


class AuthenticateApiKey:
    """The application a presented key belongs to: found by the key's hash (from system scope, since
    the organization is not known yet), then compared in constant time; `ApiKeyRejected` for an
    unknown, rotated or revoked key or an inactive application."""

    def __init__(self, uow: ControlPlaneUnitOfWorkFactory) -> None:
        self._uow = uow

    def __call__(self, secret: str) -> Application:
        try:
            digest = hash_key(secret)
        except ValidationError:
            raise ApiKeyRejected() from None
        with self._uow.system() as uow:
            found = uow.applications.get_by_api_key_hash(digest)
        if found is None or not found.accepts(secret):
            raise ApiKeyRejected()
        return found


class RotateApiKey:
    def __init__(self, uow: ControlPlaneUnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    def __call__(self, tenant_id: object, application_id: object) -> tuple[Application, IssuedKey]:
        at = self._clock.now()
        with self._uow.for_tenant(tenant_id) as uow:
            current = uow.applications.get_by_id_or_raise(parse_id(application_id, "application_id"))
            rotated, key = current.rotate_key(at)
            stored = uow.applications.update(rotated)
            _audit(uow, tenant_id=stored.tenant_id, action="api_key.rotated", resource_type="application",
                   resource_id=stored.id, application_id=stored.id, at=at, details={"key_prefix": key.prefix})
        return stored, key


class RevokeApiKey:
    def __init__(self, uow: ControlPlaneUnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    def __call__(self, tenant_id: object, application_id: object) -> Application:
        at = self._clock.now()
        with self._uow.for_tenant(tenant_id) as uow:
            current = uow.applications.get_by_id_or_raise(parse_id(application_id, "application_id"))
            stored = uow.applications.update(current.revoke_key(at))
            _audit(uow, tenant_id=stored.tenant_id, action="api_key.revoked", resource_type="application",
                   resource_id=stored.id, application_id=stored.id, at=at)
        return stored


class RegisterUser:
    def __init__(self, uow: ControlPlaneUnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    def __call__(self, command: NewUser) -> User:
        at = self._clock.now()
        user = User.register(tenant_id=command.tenant_id, email=command.email, subject=command.subject, at=at,
                             display_name=command.display_name)
        with self._uow.for_tenant(command.tenant_id) as uow:
            stored = uow.users.create(user)
            _audit(uow, tenant_id=command.tenant_id, action="user.created", resource_type="user",
                   resource_id=stored.id, at=at)
        return stored


class DefinePolicy:
    """Spec 003's transaction example: the policy and its `policy.created` audit entry in one
    `in_transaction`; both persist or neither does."""

    def __init__(self, transactions: TransactionManager, uow: ControlPlaneUnitOfWorkFactory, clock: Clock) -> None:
        self._transactions = transactions
        self._uow = uow
        self._clock = clock

    def __call__(self, command: NewPolicy) -> Policy:
        at = self._clock.now()
        policy = Policy.define(tenant_id=command.tenant_id, policy_type=command.policy_type, config=command.config,
                               priority=command.priority, application_id=command.application_id,
                               user_id=command.user_id, at=at)

        def define(transaction: Transaction) -> Policy:
            uow = transaction.join(self._uow)
            stored = uow.policies.create(policy)
            _audit(uow, tenant_id=command.tenant_id, action="policy.created", resource_type="policy",
                   resource_id=stored.id, user_id=command.actor_user_id, request_id=command.request_id,
                   application_id=stored.application_id, at=at,
                   details={"policy_type": stored.policy_type.value, "scope": stored.scope.value,
                            "priority": stored.priority, "config": stored.config})
            return stored

        return self._transactions.in_transaction(define, command.tenant_id)


class ChangePolicy:
    """A policy's configuration, priority or enabled flag, with a `policy.updated` audit entry naming
    what changed, in one transaction."""

    def __init__(self, transactions: TransactionManager, uow: ControlPlaneUnitOfWorkFactory, clock: Clock) -> None:
        self._transactions = transactions
        self._uow = uow
        self._clock = clock

    def __call__(self, command: PolicyChange) -> Policy:
        at = self._clock.now()
        expected = optional_version(command.expected_version)

        def change(transaction: Transaction) -> Policy:
            uow = transaction.join(self._uow)
            policy = uow.policies.get_by_id_or_raise(command.policy_id)
            if expected is not None and policy.version != expected:
                raise ConcurrencyConflict("Policy", policy.id, expected)
            changed = policy
            if command.config is not None:
                changed = changed.reconfigure(command.config, at)
            if command.priority is not None:
                changed = changed.reprioritise(command.priority, at)
            if command.enabled is not None:
                changed = changed.enable(at) if command.enabled else changed.disable(at)
            stored = uow.policies.update(changed)
            before = {"config": policy.config, "priority": policy.priority, "enabled": policy.enabled}
            after = {"config": stored.config, "priority": stored.priority, "enabled": stored.enabled}
            _audit(uow, tenant_id=command.tenant_id, action="policy.updated", resource_type="policy",
                   resource_id=stored.id, user_id=command.actor_user_id, request_id=command.request_id,
                   application_id=stored.application_id, at=at,
                   details={"before": {k: v for k, v in before.items() if after[k] != v},
                            "after": {k: v for k, v in after.items() if before[k] != v}})
            return stored

        return self._transactions.in_transaction(change, command.tenant_id)


class ResolvePolicies:
    def __init__(self, uow: ControlPlaneUnitOfWorkFactory) -> None:
        self._uow = uow

    def __call__(self, tenant_id: object, application_id: object, user_id: object | None = None) -> list[Policy]:
        organization = parse_id(tenant_id, "tenant_id")
        user = None if user_id is None else parse_id(user_id, "user_id")
        with self._uow.for_tenant(organization) as uow:
            return uow.policies.get_applicable_policies(organization, parse_id(application_id, "application_id"),
                                                        user)


class RecordInference:
    def __init__(self, uow: ControlPlaneUnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    def __call__(self, command: InferenceRecord) -> InferenceRequest:
        at = self._clock.now()
        request = InferenceRequest.new(**command.fields(at), created_at=at, updated_at=at)
        with self._uow.for_tenant(command.tenant_id) as uow:
            return uow.inference_requests.create(request)


class InferenceMetricsReport:
    def __init__(self, uow: ControlPlaneUnitOfWorkFactory) -> None:
        self._uow = uow

    def __call__(self, tenant_id: object, start: datetime, end: datetime) -> InferenceMetrics:
        organization = parse_id(tenant_id, "tenant_id")
        with self._uow.for_tenant(organization) as uow:
            return uow.inference_requests.get_metrics(organization, start, end)


