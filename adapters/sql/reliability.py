"""The reliability tables (spec 001).

No foreign keys: the memory adapter has none, and a tenant's rows are reached through its unit of
work only, so references are checked by the use cases on every backend alike. `tenant_id` comes
first in every key and index (the explicit tenant filter of every statement drives them).
"""

from __future__ import annotations

import sqlalchemy as sa

from adapters.sql.declarations import aggregate_table, optional, partial_unique_index
from adapters.sql.types import StrEnumText, UtcDateTime, json_document, text
from domain.reliability.action import ActionStatus, ActionType
from domain.reliability.incident import IncidentStatus, Severity
from domain.reliability.vendor import BreakerState
from ports.reliability import INCIDENT_SCHEMA

workflows = aggregate_table(
    "workflows", scope="tenant_id",
    columns={"name": text(255), "description": text(2000), "is_active": sa.Boolean()},
    extras=(sa.UniqueConstraint("tenant_id", "name"),),
)

vendors = aggregate_table(
    "vendors", scope=None,
    columns={
        "name": text(255), "circuit_breaker_state": StrEnumText(BreakerState),
        "circuit_breaker_failure_count": sa.Integer(), "failure_threshold": sa.Integer(),
        "cool_down_seconds": sa.Integer(), "opened_at": optional(UtcDateTime()), "rate_limit_per_minute": sa.Integer(),
    },
    extras=(sa.UniqueConstraint("name"),),
)

events = aggregate_table(
    "events", scope="tenant_id",
    columns={
        "workflow_id": sa.Uuid(), "event_type": text(255), "payload": json_document(), "idempotency_key": text(255),
        "correlation_id": optional(text(255)), "occurred_at": UtcDateTime(),
    },
    # Spec: (tenant_id, workflow_id) and (tenant_id, occurred_at); occurred_at extends the first for
    # get_recent_events, id extends the second for the default listing's order.
    listing=("occurred_at",),
    extras=(
        sa.UniqueConstraint("tenant_id", "idempotency_key"), sa.Index(None, "tenant_id", "workflow_id", "occurred_at"),
    ),
)

incidents = aggregate_table(
    "incidents", scope="tenant_id",
    columns={
        "workflow_id": sa.Uuid(), "signature": text(128), "title": text(500), "status": StrEnumText(IncidentStatus),
        "severity": StrEnumText(Severity), "event_count": sa.Integer(), "first_seen_at": UtcDateTime(),
        "last_seen_at": UtcDateTime(), "correlation_id": optional(text(255)),
    },
    extras=(
        # At most one open incident per signature, even between concurrent transactions.
        partial_unique_index("uq_incidents_open_signature", INCIDENT_SCHEMA, "open_signature"),
        # Spec: (tenant_id, status); created_at serves get_incidents_by_status's newest-first order.
        sa.Index(None, "tenant_id", "status", "created_at"),
    ),
)

decisions = aggregate_table(
    "decisions", scope="tenant_id",
    columns={
        "incident_id": sa.Uuid(), "decision_type": text(100), "reasoning": text(20_000),
        "confidence_score": sa.Double(), "ai_model": text(200),
    },
    extras=(sa.Index(None, "tenant_id", "incident_id", "created_at"),),
)

actions = aggregate_table(
    "actions", scope="tenant_id",
    columns={
        "incident_id": sa.Uuid(), "action_type": StrEnumText(ActionType), "status": StrEnumText(ActionStatus),
        "parameters": json_document(), "result": optional(json_document()), "is_reversible": sa.Boolean(),
        "started_at": optional(UtcDateTime()), "finished_at": optional(UtcDateTime()),
    },
    # Spec: (incident_id, status), behind tenant_id.
    extras=(sa.Index(None, "tenant_id", "incident_id", "status"),),
)

kill_switches = aggregate_table(
    "kill_switches", scope="tenant_id",
    columns={
        "workflow_id": optional(sa.Uuid()), "is_active": sa.Boolean(), "reason": text(2000),
        "activated_by": text(255), "activated_at": UtcDateTime(), "released_by": optional(text(255)),
        "released_at": optional(UtcDateTime()),
    },
    extras=(sa.Index(None, "tenant_id", "is_active", "workflow_id"),),
)
