"""The control-plane context (spec 003): its repositories and unit of work, on any backend.

Organizations are the tenancy context's tenants (`TenancyUnitOfWork.tenants`, joined in one
transaction with this context's unit of work); this context only references them. Every
repository is spec 004's CRUD over its store, with the references its schema declares checked
before each write (`adapters/records/references.py`), plus its port's methods, whose meaning
(order, scope, ranges) is fixed here once.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, ClassVar, TypeVar

from adapters.records.crud import AppendOnlyCrud, Crud
from adapters.records.references import ReferenceCheck
from adapters.records.store import OLDEST_FIRST, Query, RecordStore, equal
from adapters.rules.inference_metrics import InferenceMetricsQuery, StoreInferenceMetrics
from adapters.transactions import Backend, ContextFactory, ContextUnitOfWork
from domain.control_plane.api_keys import HASH_LENGTH
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
from domain.control_plane.policy import Policy, applicable_order
from domain.control_plane.user import User
from domain.shared.checks import aware_datetime, member, text_argument
from domain.shared.entity import Entity
from domain.shared.errors import Unsupported, ValidationError
from domain.shared.filters import Condition, FilterSet, Operator
from domain.shared.ids import parse_id
from domain.shared.pagination import OffsetPageRequest
from domain.shared.sorting import Sort
from ports.clock import Clock
from ports.control_plane import (
    APPLICATION_SCHEMA,
    AUDIT_LOG_SCHEMA,
    DEFAULT_LIMIT,
    INFERENCE_REQUEST_SCHEMA,
    POLICY_SCHEMA,
    USER_SCHEMA,
    ApplicationRepository,
    AuditLogRepository,
    ControlPlaneUnitOfWork,
    InferenceRequestRepository,
    PolicyRepository,
    UserRepository,
)
from ports.records import RecordSchema
from ports.tenancy import TENANT_SCHEMA

E = TypeVar("E", bound=Entity)
F = TypeVar("F", bound=FilterSet)
R = TypeVar("R")

NEWEST_OCCURRED = Sort.parse("-occurred_at,-id")
NEWEST_REQUESTED = Sort.parse("-requested_at,-id")


def _page(crud: Crud[E, F], conditions: tuple[Condition, ...], sort: Sort, limit: int, offset: int) -> list[E]:
    """The spec's `(limit, offset)` queries: the bounds checked as any page's are."""
    page = OffsetPageRequest(limit=limit, offset=offset)
    return crud.store.find(Query(conditions, sort, limit=page.limit, offset=page.offset))


def _range(start: Any, end: Any, field: str) -> tuple[Condition, ...]:
    since, until = aware_datetime(start, "start"), aware_datetime(end, "end")
    if until < since:
        raise ValidationError("end", "must not be before start")
    return Condition(field, Operator.GTE, since), Condition(field, Operator.LT, until)


class Applications(Crud[Application, ApplicationFilter], ApplicationRepository):
    def get_by_org_id(self, org_id: uuid.UUID, limit: int = DEFAULT_LIMIT, offset: int = 0) -> list[Application]:
        self._same_tenant(parse_id(org_id, "org_id"))
        return _page(self, (), OLDEST_FIRST, limit, offset)

    def get_by_api_key_hash(self, api_key_hash: str) -> Application | None:
        digest = text_argument(api_key_hash, "api_key_hash")
        if len(digest) != HASH_LENGTH:
            raise ValidationError("api_key_hash", f"expected {HASH_LENGTH} hex digits")
        return self._first(equal("api_key_hash", digest))


class Users(Crud[User, UserFilter], UserRepository):
    def get_by_org_id(self, org_id: uuid.UUID, limit: int = DEFAULT_LIMIT, offset: int = 0) -> list[User]:
        self._same_tenant(parse_id(org_id, "org_id"))
        return _page(self, (), OLDEST_FIRST, limit, offset)

    def get_by_email(self, email: str) -> User | None:
        return self._first(equal("email", text_argument(email, "email").strip().lower()))

    def get_by_subject(self, subject: str) -> User | None:
        return self._first(equal("subject", text_argument(subject, "subject")))


class Policies(Crud[Policy, PolicyFilter], PolicyRepository):
    def get_by_org_id(self, org_id: uuid.UUID, limit: int = DEFAULT_LIMIT, offset: int = 0) -> list[Policy]:
        self._same_tenant(parse_id(org_id, "org_id"))
        return _page(self, (), OLDEST_FIRST, limit, offset)

    def get_by_app_id(self, app_id: uuid.UUID) -> list[Policy]:
        return self._find(Query((equal("application_id", parse_id(app_id, "app_id")),
                                 Condition("user_id", Operator.IS_NULL, True))))

    def get_by_user_id(self, user_id: uuid.UUID) -> list[Policy]:
        return self._find(Query((equal("user_id", parse_id(user_id, "user_id")),)))

    def get_applicable_policies(self, org_id: uuid.UUID, app_id: uuid.UUID,
                                user_id: uuid.UUID | None = None) -> list[Policy]:
        self._same_tenant(parse_id(org_id, "org_id"))
        application = parse_id(app_id, "app_id")
        user = None if user_id is None else parse_id(user_id, "user_id")
        # Organization policies name no application (nor do users' policies for every application).
        candidates = [Condition("application_id", Operator.IS_NULL, True), equal("application_id", application)]
        if user is not None:
            candidates.append(equal("user_id", user))
        # One read of the candidates (a tenant has few policies); which bind and in what order is
        # the domain's rule, the same for every backend.
        found = self._find(Query((equal("enabled", True),), any_of=tuple(candidates)))
        return applicable_order(policy for policy in found if policy.applies_to(application, user))


class AuditLogs(AppendOnlyCrud[AuditLog, AuditLogFilter], AuditLogRepository):
    def insert(self, entry: AuditLog) -> AuditLog:
        return self.create(entry)

    def insert_many(self, entries: Sequence[AuditLog]) -> list[AuditLog]:
        return self.bulk_create(entries)

    def get_by_org_id(self, org_id: uuid.UUID, limit: int = DEFAULT_LIMIT, offset: int = 0) -> list[AuditLog]:
        self._same_tenant(parse_id(org_id, "org_id"))
        return _page(self, (), NEWEST_OCCURRED, limit, offset)

    def get_by_app_id(self, app_id: uuid.UUID, limit: int = DEFAULT_LIMIT, offset: int = 0) -> list[AuditLog]:
        return _page(self, (equal("application_id", parse_id(app_id, "app_id")),), NEWEST_OCCURRED, limit, offset)

    def get_by_user_id(self, user_id: uuid.UUID, limit: int = DEFAULT_LIMIT, offset: int = 0) -> list[AuditLog]:
        return _page(self, (equal("user_id", parse_id(user_id, "user_id")),), NEWEST_OCCURRED, limit, offset)

    def get_by_action(self, action: str, limit: int = DEFAULT_LIMIT, offset: int = 0) -> list[AuditLog]:
        return _page(self, (equal("action", text_argument(action, "action")),), NEWEST_OCCURRED, limit, offset)

    def get_by_date_range(self, start: datetime, end: datetime, limit: int = DEFAULT_LIMIT,
                          offset: int = 0) -> list[AuditLog]:
        return _page(self, _range(start, end, "occurred_at"), NEWEST_OCCURRED, limit, offset)


class InferenceRequests(AppendOnlyCrud[InferenceRequest, InferenceRequestFilter], InferenceRequestRepository):
    def __init__(self, store: RecordStore[InferenceRequest], clock: Clock, references: ReferenceCheck,
                 metrics: InferenceMetricsQuery) -> None:
        super().__init__(store, clock, references)
        self._metrics = metrics

    def get_by_org_id(self, org_id: uuid.UUID, limit: int = DEFAULT_LIMIT,
                      offset: int = 0) -> list[InferenceRequest]:
        self._same_tenant(parse_id(org_id, "org_id"))
        return _page(self, (), NEWEST_REQUESTED, limit, offset)

    def get_by_app_id(self, app_id: uuid.UUID, limit: int = DEFAULT_LIMIT,
                      offset: int = 0) -> list[InferenceRequest]:
        conditions = (equal("application_id", parse_id(app_id, "app_id")),)
        return _page(self, conditions, NEWEST_REQUESTED, limit, offset)

    def get_by_status(self, status: InferenceStatus, limit: int = DEFAULT_LIMIT,
                      offset: int = 0) -> list[InferenceRequest]:
        wanted = member(InferenceStatus, status, "status")
        return _page(self, (equal("status", wanted.value),), NEWEST_REQUESTED, limit, offset)

    def get_metrics(self, org_id: uuid.UUID, start: datetime, end: datetime) -> InferenceMetrics:
        self._same_tenant(parse_id(org_id, "org_id"))
        self._schema.scope_value(self._store.scope)  # from system scope this raises before any read
        since, until = (condition.value for condition in _range(start, end, "requested_at"))
        return self._metrics.metrics(since, until)


MetricsFactory = Callable[[RecordStore[InferenceRequest]], InferenceMetricsQuery]
"""Builds a backend's `get_metrics` query from the inference requests' store."""

ANALYTIC_SCHEMAS: tuple[RecordSchema[Any], ...] = (AUDIT_LOG_SCHEMA, INFERENCE_REQUEST_SCHEMA)
"""The append-only tables an analytics backend (BigQuery) may hold instead of the relational one."""


class ControlPlaneWork(ContextUnitOfWork, ControlPlaneUnitOfWork):
    # Tenants are listed because the references point at them: a backend must store them too.
    schemas: ClassVar[tuple[RecordSchema[Any], ...]] = (
        TENANT_SCHEMA, APPLICATION_SCHEMA, USER_SCHEMA, POLICY_SCHEMA, AUDIT_LOG_SCHEMA, INFERENCE_REQUEST_SCHEMA,
    )

    def __init__(self, backend: Backend[Any, Any], scope: Any, clock: Clock | None,
                 metrics: MetricsFactory, analytics: Backend[Any, Any] | None = None) -> None:
        super().__init__(backend, scope, clock)
        self._metrics = metrics
        self._analytics = None if analytics is None else ContextUnitOfWork(analytics, scope, clock)
        """The audit log and inference requests on their own backend: a second transaction, entered
        and ended with this one. Its appends are sent before this one commits, so a failure to store
        them rolls the relational work back; a relational commit failing after them leaves entries of
        work that did not land (never work without its entries)."""

    # -- the analytics backend's transaction follows this one ---------------------------------
    def __enter__(self) -> ControlPlaneWork:
        super().__enter__()
        if self._analytics is not None:
            try:
                self._analytics.__enter__()
            except BaseException as error:
                super().__exit__(type(error), error, error.__traceback__)
                raise
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: Any) -> None:
        if self._analytics is not None and self._analytics.active:
            try:
                self._analytics.__exit__(exc_type, exc, traceback)
            except BaseException as error:
                super().__exit__(type(error), error, error.__traceback__)
                raise
        super().__exit__(exc_type, exc, traceback)

    def commit(self) -> None:
        if self._analytics is not None:
            self._analytics.commit()
        super().commit()

    def rollback(self) -> None:
        if self._analytics is not None:
            self._analytics.rollback()
        super().rollback()

    def _analytic_store(self, schema: RecordSchema[E]) -> RecordStore[E]:
        if self._analytics is None:
            return self.store(schema)
        self._live_guard()
        return self._analytics.store(schema)

    def _owned(self, name: str, build: Callable[[RecordStore[Any], Clock, ReferenceCheck], R],
               schema: RecordSchema[Any]) -> R:
        return self._repository(name, lambda: build(self.store(schema), self.clock,
                                                    ReferenceCheck(schema, self.store)))

    @property
    def applications(self) -> ApplicationRepository:
        return self._owned("applications", Applications, APPLICATION_SCHEMA)

    @property
    def users(self) -> UserRepository:
        return self._owned("users", Users, USER_SCHEMA)

    @property
    def policies(self) -> PolicyRepository:
        return self._owned("policies", Policies, POLICY_SCHEMA)

    @property
    def audit_logs(self) -> AuditLogRepository:
        return self._repository("audit_logs", lambda: AuditLogs(
            self._analytic_store(AUDIT_LOG_SCHEMA), self.clock, ReferenceCheck(AUDIT_LOG_SCHEMA, self.store)))

    @property
    def inference_requests(self) -> InferenceRequestRepository:
        return self._repository("inference_requests", self._inference_requests)

    def _inference_requests(self) -> InferenceRequests:
        store = self._analytic_store(INFERENCE_REQUEST_SCHEMA)
        return InferenceRequests(store, self.clock, ReferenceCheck(INFERENCE_REQUEST_SCHEMA, self.store),
                                 self._metrics(store))


def control_plane_units(backend: Backend[Any, Any], *, clock: Clock | None = None,
                        metrics: MetricsFactory | None = None, analytics: Backend[Any, Any] | None = None,
                        ) -> ContextFactory[ControlPlaneUnitOfWork]:
    """`metrics`: the `get_metrics` query of the backend holding inference requests (SQL's and
    BigQuery's one statement); else read over the store. `analytics`: a backend holding the audit
    log and inference requests instead of `backend` (BigQuery), whose references are still checked
    in `backend`."""
    build = metrics if metrics is not None else StoreInferenceMetrics
    if analytics is not None:
        missing = [schema.table for schema in ANALYTIC_SCHEMAS if not analytics.supports(schema)]
        if missing:
            raise Unsupported(f"the {analytics.name} backend cannot hold {', '.join(missing)}")
    return ContextFactory(backend, "control plane", ControlPlaneWork.schemas,
                          lambda scope: ControlPlaneWork(backend, scope, clock, build, analytics))
