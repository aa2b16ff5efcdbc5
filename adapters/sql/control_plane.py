"""The control-plane tables (spec 003), and `get_metrics` in one statement.

Unlike the other contexts' tables these have foreign keys, derived from the record schemas'
references (`foreign_keys`), all `ON DELETE CASCADE`: deleting an organization (a row of `tenants`)
deletes its applications, users, policies, audit log and inference requests; deleting an
application or a user deletes the policies and inference requests naming it. A reference inside a
tenant is composite, `(tenant_id, application_id) -> applications(tenant_id, id)`, so a row can never
name another tenant's row. `tenant_id` leads every index, as in the other contexts.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from adapters.records.store import RecordStore
from adapters.rules.inference_metrics import InferenceMetricsQuery
from adapters.sql.declarations import aggregate_table, foreign_keys, optional
from adapters.sql.errors import translated
from adapters.sql.records import SqlRecordStore
from adapters.sql.types import StrEnumText, UtcDateTime, json_document, text
from domain.control_plane.inference import InferenceMetrics, InferenceRequest, InferenceStatus
from domain.control_plane.policy import PolicyType
from ports.control_plane import (
    APPLICATION_SCHEMA,
    AUDIT_LOG_SCHEMA,
    INFERENCE_REQUEST_SCHEMA,
    POLICY_SCHEMA,
    USER_SCHEMA,
)

applications = aggregate_table(
    "applications", scope="tenant_id",
    columns={
        "name": text(200), "description": text(2000), "api_key_hash": text(64), "api_key_prefix": optional(text(20)),
        "api_key_issued_at": optional(UtcDateTime()), "api_key_revoked_at": optional(UtcDateTime()),
        "is_active": sa.Boolean(),
    },
    # Spec: (org_id) is the listing index; (api_key_hash) is the unique key. (tenant_id, id) is what the
    # composite references of policies and inference requests point at.
    extras=(sa.UniqueConstraint("tenant_id", "name"), sa.UniqueConstraint("api_key_hash"),
            sa.UniqueConstraint("tenant_id", "id"), *foreign_keys(APPLICATION_SCHEMA)),
)

users = aggregate_table(
    "users", scope="tenant_id",
    columns={"email": text(320), "subject": text(255), "display_name": optional(text(200)), "is_active": sa.Boolean()},
    # Spec: (org_id), (email), (cognito_sub): the listing index and the two unique keys.
    extras=(sa.UniqueConstraint("tenant_id", "email"), sa.UniqueConstraint("subject"),
            sa.UniqueConstraint("tenant_id", "id"), *foreign_keys(USER_SCHEMA)),
)

policies = aggregate_table(
    "policies", scope="tenant_id",
    columns={
        "policy_type": StrEnumText(PolicyType), "config": json_document(), "priority": sa.Integer(),
        "application_id": optional(sa.Uuid()), "user_id": optional(sa.Uuid()), "enabled": sa.Boolean(),
    },
    # Spec: (org_id), (app_id), (user_id), behind tenant_id; they also serve the cascades' lookups.
    extras=(sa.Index(None, "tenant_id", "application_id"), sa.Index(None, "tenant_id", "user_id"),
            *foreign_keys(POLICY_SCHEMA)),
)

audit_logs = aggregate_table(
    "audit_logs", scope="tenant_id",
    columns={
        "action": text(100), "resource_type": text(100), "resource_id": optional(sa.Uuid()),
        "application_id": optional(sa.Uuid()), "user_id": optional(sa.Uuid()), "actor": optional(text(255)),
        "details": json_document(), "request_id": optional(text(255)), "occurred_at": UtcDateTime(),
    },
    # Spec: (org_id, timestamp) is the listing index; (app_id), (user_id), (action) with the time that
    # orders their queries; (request_id) for tracing one request.
    listing=("occurred_at",),
    extras=(
        sa.Index(None, "tenant_id", "application_id", "occurred_at"),
        sa.Index(None, "tenant_id", "user_id", "occurred_at"),
        sa.Index(None, "tenant_id", "action", "occurred_at"), sa.Index(None, "tenant_id", "request_id"),
        *foreign_keys(AUDIT_LOG_SCHEMA),
    ),
)

inference_requests = aggregate_table(
    "inference_requests", scope="tenant_id",
    columns={
        "application_id": sa.Uuid(), "user_id": optional(sa.Uuid()), "provider": text(100), "model": text(200),
        "status": StrEnumText(InferenceStatus), "tokens_in": sa.Integer(), "tokens_out": sa.Integer(),
        "cost_cents": sa.BigInteger(), "latency_ms": sa.Integer(), "request_id": optional(text(255)),
        "error": optional(text(5000)), "requested_at": UtcDateTime(),
    },
    # Spec: (org_id, created_at) as the listing index on requested_at, which get_metrics ranges over;
    # (app_id), (user_id), (status), (request_id) behind tenant_id.
    listing=("requested_at",),
    extras=(
        sa.Index(None, "tenant_id", "application_id", "requested_at"), sa.Index(None, "tenant_id", "user_id"),
        sa.Index(None, "tenant_id", "status", "requested_at"), sa.Index(None, "tenant_id", "request_id"),
        *foreign_keys(INFERENCE_REQUEST_SCHEMA),
    ),
)


class SqlInferenceMetrics(InferenceMetricsQuery):
    """Count, cost, mean, nearest-rank p95 and failures of a range in one statement: a window numbers
    the range's latencies, the aggregate picks the one at rank ceil(0.95 n) (`p95_rank`, in integers)."""

    def __init__(self, store: RecordStore[InferenceRequest]) -> None:
        if not isinstance(store, SqlRecordStore):
            raise TypeError("SqlInferenceMetrics reads a SQL record store")
        self._store = store

    def metrics(self, start: Any, end: Any) -> InferenceMetrics:
        store = self._store
        table = inference_requests
        tenant = store.schema.scope_value(store.scope)
        ranged = (
            sa.select(
                table.c.latency_ms, table.c.cost_cents, table.c.status,
                sa.func.row_number().over(order_by=(table.c.latency_ms, table.c.id)).label("position"),
                sa.func.count().over().label("total"),
            )
            .where(table.c.tenant_id == tenant, table.c.requested_at >= start, table.c.requested_at < end)
            .cte("ranged")
        )
        rank = (95 * ranged.c.total + 99) // 100  # integer division on both dialects, as `p95_rank`
        statement = sa.select(
            sa.func.count(),
            sa.func.coalesce(sa.func.sum(ranged.c.cost_cents), 0),
            sa.func.coalesce(sa.func.sum(ranged.c.latency_ms), 0),
            sa.func.max(sa.case((ranged.c.position == rank, ranged.c.latency_ms))),
            sa.func.coalesce(sa.func.sum(sa.case((ranged.c.status == InferenceStatus.FAILED, 1), else_=0)), 0),
        ).select_from(ranged)
        with translated(store.schema.entity):
            count, cost, latency_sum, p95, failed = store.connection.execute(statement).one()
        if not count:
            return InferenceMetrics.empty()
        return InferenceMetrics(int(count), int(cost), int(latency_sum) / int(count), float(p95),
                                int(failed) / int(count))
