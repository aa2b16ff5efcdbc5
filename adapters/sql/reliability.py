"""The reliability tables (spec 001).

No foreign keys: the memory adapter has none, and a tenant's rows are reached through its unit of
work only, so references are checked by the use cases on every backend alike. `tenant_id` comes
first in every key and index (the explicit tenant filter of every statement drives them).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from adapters.sql.metadata import metadata
from adapters.sql.types import StrEnumText, UtcDateTime, json_document, text, version_columns
from domain.reliability.action import ActionStatus, ActionType
from domain.reliability.incident import IncidentStatus, Severity
from domain.reliability.vendor import BreakerState
from ports.reliability import INCIDENT_SCHEMA


def _base_columns(*, tenant: bool = True) -> list[sa.Column[Any]]:
    columns: list[sa.Column[Any]] = [sa.Column("id", sa.Uuid(), primary_key=True)]
    if tenant:
        columns.append(sa.Column("tenant_id", sa.Uuid(), nullable=False))
    return columns


workflows = sa.Table(
    "workflows",
    metadata,
    *_base_columns(),
    sa.Column("name", text(255), nullable=False),
    sa.Column("description", text(2000), nullable=False),
    sa.Column("is_active", sa.Boolean(), nullable=False),
    *version_columns(),
    sa.UniqueConstraint("tenant_id", "name"),
    sa.Index(None, "tenant_id", "created_at", "id"),
)

vendors = sa.Table(
    "vendors",
    metadata,
    *_base_columns(tenant=False),
    sa.Column("name", text(255), nullable=False),
    sa.Column("circuit_breaker_state", StrEnumText(BreakerState), nullable=False),
    sa.Column("circuit_breaker_failure_count", sa.Integer(), nullable=False),
    sa.Column("failure_threshold", sa.Integer(), nullable=False),
    sa.Column("cool_down_seconds", sa.Integer(), nullable=False),
    sa.Column("opened_at", UtcDateTime(), nullable=True),
    sa.Column("rate_limit_per_minute", sa.Integer(), nullable=False),
    *version_columns(),
    sa.UniqueConstraint("name"),
    sa.Index(None, "created_at", "id"),
)

events = sa.Table(
    "events",
    metadata,
    *_base_columns(),
    sa.Column("workflow_id", sa.Uuid(), nullable=False),
    sa.Column("event_type", text(255), nullable=False),
    sa.Column("payload", json_document(), nullable=False),
    sa.Column("idempotency_key", text(255), nullable=False),
    sa.Column("correlation_id", text(255), nullable=True),
    sa.Column("occurred_at", UtcDateTime(), nullable=False),
    *version_columns(),
    sa.UniqueConstraint("tenant_id", "idempotency_key"),
    # Spec: (tenant_id, workflow_id) and (tenant_id, occurred_at); occurred_at extends the first for
    # get_recent_events, id extends the second for the default listing's order.
    sa.Index(None, "tenant_id", "workflow_id", "occurred_at"),
    sa.Index(None, "tenant_id", "occurred_at", "id"),
)

OPEN_INCIDENT = INCIDENT_SCHEMA.unique_keys["open_signature"].predicate_sql()
"""The predicate of the partial unique index, from the schema's partial key."""

incidents = sa.Table(
    "incidents",
    metadata,
    *_base_columns(),
    sa.Column("workflow_id", sa.Uuid(), nullable=False),
    sa.Column("signature", text(128), nullable=False),
    sa.Column("title", text(500), nullable=False),
    sa.Column("status", StrEnumText(IncidentStatus), nullable=False),
    sa.Column("severity", StrEnumText(Severity), nullable=False),
    sa.Column("event_count", sa.Integer(), nullable=False),
    sa.Column("first_seen_at", UtcDateTime(), nullable=False),
    sa.Column("last_seen_at", UtcDateTime(), nullable=False),
    sa.Column("correlation_id", text(255), nullable=True),
    *version_columns(),
    # At most one open incident per signature, even between concurrent transactions.
    sa.Index(
        "uq_incidents_open_signature", "tenant_id", "signature", unique=True,
        sqlite_where=sa.text(OPEN_INCIDENT), postgresql_where=sa.text(OPEN_INCIDENT),
    ),
    # Spec: (tenant_id, status); created_at serves get_incidents_by_status's newest-first order.
    sa.Index(None, "tenant_id", "status", "created_at"),
    sa.Index(None, "tenant_id", "created_at", "id"),
)

decisions = sa.Table(
    "decisions",
    metadata,
    *_base_columns(),
    sa.Column("incident_id", sa.Uuid(), nullable=False),
    sa.Column("decision_type", text(100), nullable=False),
    sa.Column("reasoning", text(20_000), nullable=False),
    sa.Column("confidence_score", sa.Double(), nullable=False),
    sa.Column("ai_model", text(200), nullable=False),
    *version_columns(),
    sa.Index(None, "tenant_id", "incident_id", "created_at"),
    sa.Index(None, "tenant_id", "created_at", "id"),
)

actions = sa.Table(
    "actions",
    metadata,
    *_base_columns(),
    sa.Column("incident_id", sa.Uuid(), nullable=False),
    sa.Column("action_type", StrEnumText(ActionType), nullable=False),
    sa.Column("status", StrEnumText(ActionStatus), nullable=False),
    sa.Column("parameters", json_document(), nullable=False),
    sa.Column("result", json_document(), nullable=True),
    sa.Column("is_reversible", sa.Boolean(), nullable=False),
    sa.Column("started_at", UtcDateTime(), nullable=True),
    sa.Column("finished_at", UtcDateTime(), nullable=True),
    *version_columns(),
    # Spec: (incident_id, status), behind tenant_id.
    sa.Index(None, "tenant_id", "incident_id", "status"),
    sa.Index(None, "tenant_id", "created_at", "id"),
)

kill_switches = sa.Table(
    "kill_switches",
    metadata,
    *_base_columns(),
    sa.Column("workflow_id", sa.Uuid(), nullable=True),
    sa.Column("is_active", sa.Boolean(), nullable=False),
    sa.Column("reason", text(2000), nullable=False),
    sa.Column("activated_by", text(255), nullable=False),
    sa.Column("activated_at", UtcDateTime(), nullable=False),
    sa.Column("released_by", text(255), nullable=True),
    sa.Column("released_at", UtcDateTime(), nullable=True),
    *version_columns(),
    sa.Index(None, "tenant_id", "is_active", "workflow_id"),
    sa.Index(None, "tenant_id", "created_at", "id"),
)
