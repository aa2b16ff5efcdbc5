"""The control-plane ports (spec 003): applications with their API keys, users, policies, the
append-only audit log and inference requests, through one unit of work (`uow.applications`,
`uow.users`, `uow.policies`, `uow.audit_logs`, `uow.inference_requests`).

Spec 003's organizations are the tenancy context's tenants: its `OrganizationRepository` is
`TenancyUnitOfWork.tenants` (create, get_by_id, get_by_slug, update, delete, list), and a use case
working across both opens the two units of work, which join one transaction.

Every record belongs to its organization by a reference (`Reference`): deleting the organization
deletes everything it owns, on every backend; a reference to a missing row is refused.
Applications and users are visible from system scope, where an API key or an identity is resolved
to its organization before anything else is known.
"""

from __future__ import annotations

import uuid
from abc import ABC, abstractmethod
from collections.abc import Sequence
from datetime import datetime

from domain.control_plane.application import Application
from domain.control_plane.audit import AuditLog
from domain.control_plane.filters import (
    ApplicationFilter,
    AuditLogFilter,
    InferenceRequestFilter,
    PolicyFilter,
    UserFilter,
)
from domain.control_plane.inference import InferenceMetrics, InferenceRequest, InferenceStatus
from domain.control_plane.policy import Policy
from domain.control_plane.user import User
from domain.shared.fields import FieldKind
from domain.shared.sorting import SortDirection, SortField
from ports.records import RecordSchema, Reference, UniqueKey
from ports.repository import CrudRepository
from ports.tenancy import TENANT_SCHEMA
from ports.unit_of_work import UnitOfWork, UnitOfWorkFactory

_COMMON = {"id": FieldKind.UUID, "created_at": FieldKind.DATETIME, "updated_at": FieldKind.DATETIME}
OWNED_BY_ORGANIZATION = Reference("tenant_id", TENANT_SCHEMA)

APPLICATION_SCHEMA: RecordSchema[Application] = RecordSchema(
    entity="Application", model=Application, table="applications",
    fields={**_COMMON, "name": FieldKind.STRING, "is_active": FieldKind.BOOLEAN, "api_key_hash": FieldKind.STRING},
    visible_to_system=True,
    unique_keys={"name": UniqueKey(("tenant_id", "name")), "api_key_hash": UniqueKey(("api_key_hash",))},
    references=(OWNED_BY_ORGANIZATION,),
)
USER_SCHEMA: RecordSchema[User] = RecordSchema(
    entity="User", model=User, table="users",
    fields={**_COMMON, "email": FieldKind.STRING, "subject": FieldKind.STRING, "is_active": FieldKind.BOOLEAN},
    visible_to_system=True,
    unique_keys={"email": UniqueKey(("tenant_id", "email")), "subject": UniqueKey(("subject",))},
    references=(OWNED_BY_ORGANIZATION,),
)
POLICY_SCHEMA: RecordSchema[Policy] = RecordSchema(
    entity="Policy", model=Policy, table="policies",
    fields={**_COMMON, "policy_type": FieldKind.STRING, "priority": FieldKind.INTEGER,
            "application_id": FieldKind.UUID, "user_id": FieldKind.UUID, "enabled": FieldKind.BOOLEAN},
    references=(OWNED_BY_ORGANIZATION, Reference("application_id", APPLICATION_SCHEMA),
                Reference("user_id", USER_SCHEMA)),
)
AUDIT_LOG_SCHEMA: RecordSchema[AuditLog] = RecordSchema(
    entity="AuditLog", model=AuditLog, table="audit_logs",
    fields={**_COMMON, "action": FieldKind.STRING, "resource_type": FieldKind.STRING, "resource_id": FieldKind.UUID,
            "application_id": FieldKind.UUID, "user_id": FieldKind.UUID, "request_id": FieldKind.STRING,
            "occurred_at": FieldKind.DATETIME},
    default_sort=(SortField("occurred_at", SortDirection.DESC),),
    references=(OWNED_BY_ORGANIZATION,),
)
INFERENCE_REQUEST_SCHEMA: RecordSchema[InferenceRequest] = RecordSchema(
    entity="InferenceRequest", model=InferenceRequest, table="inference_requests",
    fields={**_COMMON, "application_id": FieldKind.UUID, "user_id": FieldKind.UUID, "status": FieldKind.STRING,
            "provider": FieldKind.STRING, "model": FieldKind.STRING, "request_id": FieldKind.STRING,
            "latency_ms": FieldKind.INTEGER, "cost_cents": FieldKind.INTEGER, "requested_at": FieldKind.DATETIME},
    default_sort=(SortField("requested_at", SortDirection.DESC),),
    references=(OWNED_BY_ORGANIZATION, Reference("application_id", APPLICATION_SCHEMA),
                Reference("user_id", USER_SCHEMA)),
)

DEFAULT_LIMIT = 50
"""Rows per page of the spec's `(limit, offset)` queries when no limit is given."""


class ApplicationRepository(CrudRepository[Application, ApplicationFilter]):
    @abstractmethod
    def get_by_org_id(self, org_id: uuid.UUID, limit: int = DEFAULT_LIMIT, offset: int = 0) -> list[Application]:
        """The organization's applications, oldest first; `org_id` must be the unit of work's tenant."""

    @abstractmethod
    def get_by_api_key_hash(self, api_key_hash: str) -> Application | None:
        """The application whose current key has this hash (revoked keys included: the caller tells
        a revoked key by `api_key_revoked_at`). From system scope: any organization's."""

    @property
    def entity_name(self) -> str:
        return APPLICATION_SCHEMA.entity


class UserRepository(CrudRepository[User, UserFilter]):
    @abstractmethod
    def get_by_org_id(self, org_id: uuid.UUID, limit: int = DEFAULT_LIMIT, offset: int = 0) -> list[User]: ...

    @abstractmethod
    def get_by_email(self, email: str) -> User | None:
        """In the unit of work's organization; the address is compared normalised (lower case)."""

    @abstractmethod
    def get_by_subject(self, subject: str) -> User | None:
        """The identity provider's subject; from system scope, in any organization."""

    @property
    def entity_name(self) -> str:
        return USER_SCHEMA.entity


class PolicyRepository(CrudRepository[Policy, PolicyFilter]):
    @abstractmethod
    def get_by_org_id(self, org_id: uuid.UUID, limit: int = DEFAULT_LIMIT, offset: int = 0) -> list[Policy]:
        """Every policy of the organization (any scope, enabled or not), oldest first."""

    @abstractmethod
    def get_by_app_id(self, app_id: uuid.UUID) -> list[Policy]:
        """The application-scoped policies of `app_id`, oldest first."""

    @abstractmethod
    def get_by_user_id(self, user_id: uuid.UUID) -> list[Policy]:
        """The user-scoped policies of `user_id`, oldest first."""

    @abstractmethod
    def get_applicable_policies(self, org_id: uuid.UUID, app_id: uuid.UUID,
                                user_id: uuid.UUID | None = None) -> list[Policy]:
        """The enabled policies binding a request of `app_id` by `user_id`: the user's (those naming
        no application or this one), then the application's, then the organization's; in each,
        higher priority first (`domain.control_plane.policy.applicable_order`)."""

    @property
    def entity_name(self) -> str:
        return POLICY_SCHEMA.entity


class AuditLogRepository(CrudRepository[AuditLog, AuditLogFilter]):
    """Append-only: `update` and `delete` raise `Unsupported` (PostgreSQL's triggers refuse UPDATE,
    DELETE and TRUNCATE to raw SQL too, except the cascade of deleting the organization). The
    queries return the newest entries first, `limit` at a time from `offset`."""

    @abstractmethod
    def insert(self, entry: AuditLog) -> AuditLog: ...

    @abstractmethod
    def insert_many(self, entries: Sequence[AuditLog]) -> list[AuditLog]:
        """One statement per batch; all or nothing."""

    @abstractmethod
    def get_by_org_id(self, org_id: uuid.UUID, limit: int = DEFAULT_LIMIT, offset: int = 0) -> list[AuditLog]: ...

    @abstractmethod
    def get_by_app_id(self, app_id: uuid.UUID, limit: int = DEFAULT_LIMIT, offset: int = 0) -> list[AuditLog]: ...

    @abstractmethod
    def get_by_user_id(self, user_id: uuid.UUID, limit: int = DEFAULT_LIMIT, offset: int = 0) -> list[AuditLog]: ...

    @abstractmethod
    def get_by_action(self, action: str, limit: int = DEFAULT_LIMIT, offset: int = 0) -> list[AuditLog]: ...

    @abstractmethod
    def get_by_date_range(self, start: datetime, end: datetime, limit: int = DEFAULT_LIMIT,
                          offset: int = 0) -> list[AuditLog]:
        """Entries with `start <= occurred_at < end`."""

    @property
    def entity_name(self) -> str:
        return AUDIT_LOG_SCHEMA.entity


class InferenceRequestRepository(CrudRepository[InferenceRequest, InferenceRequestFilter]):
    """Append-only: a request is recorded once it has finished. Queries return the newest first."""

    @abstractmethod
    def get_by_org_id(self, org_id: uuid.UUID, limit: int = DEFAULT_LIMIT,
                      offset: int = 0) -> list[InferenceRequest]: ...

    @abstractmethod
    def get_by_app_id(self, app_id: uuid.UUID, limit: int = DEFAULT_LIMIT,
                      offset: int = 0) -> list[InferenceRequest]: ...

    @abstractmethod
    def get_by_status(self, status: InferenceStatus, limit: int = DEFAULT_LIMIT,
                      offset: int = 0) -> list[InferenceRequest]: ...

    @abstractmethod
    def get_metrics(self, org_id: uuid.UUID, start: datetime, end: datetime) -> InferenceMetrics:
        """Over the organization's requests with `start <= requested_at < end` (one query on SQL and
        BigQuery); all zeros when there are none."""

    @property
    def entity_name(self) -> str:
        return INFERENCE_REQUEST_SCHEMA.entity


class ControlPlaneUnitOfWork(UnitOfWork):
    """The control-plane context's unit of work (spec 003)."""

    @property
    @abstractmethod
    def applications(self) -> ApplicationRepository: ...

    @property
    @abstractmethod
    def users(self) -> UserRepository: ...

    @property
    @abstractmethod
    def policies(self) -> PolicyRepository: ...

    @property
    @abstractmethod
    def audit_logs(self) -> AuditLogRepository: ...

    @property
    @abstractmethod
    def inference_requests(self) -> InferenceRequestRepository: ...


ControlPlaneUnitOfWorkFactory = UnitOfWorkFactory[ControlPlaneUnitOfWork]


class AuditWriter(ABC):
    """Accepts audit entries without waiting for storage and writes them in batches behind the
    caller (spec 003's `AsyncInsert`). An accepted entry is written before `close()` returns."""

    @abstractmethod
    def submit(self, entry: AuditLog) -> None:
        """Accept `entry` (checked now: a bad entry raises here, not in the background). Blocks while
        the queue is full, so memory stays bounded; after `close()`, raises `UnitOfWorkInactive`."""

    @abstractmethod
    def flush(self) -> None:
        """Return once every entry accepted so far is stored (or its failure recorded)."""

    @abstractmethod
    def close(self) -> None:
        """Flush, then stop the background writer. Idempotent."""

    @property
    @abstractmethod
    def failures(self) -> list[BaseException]:
        """Errors of batches that could not be written after their retries."""
