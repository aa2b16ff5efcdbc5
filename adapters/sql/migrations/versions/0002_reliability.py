"""Reliability (spec 001): workflows, vendors, the append-only events and decisions, incidents,
actions, kill switches, and the shared rate-limit counters.

On PostgreSQL every tenant table gets row-level security, and triggers refuse UPDATE, DELETE and
TRUNCATE on events and decisions to everyone, the tables' owner included.

Revision ID: 0002_reliability
Revises: 0001_tenants
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from adapters.sql.row_level_security import drop_tenant_isolation_ddl, tenant_isolation_ddl
from adapters.sql.types import UtcDateTime, json_document, text

revision = "0002_reliability"
down_revision = "0001_tenants"
branch_labels = None
depends_on = None

TENANT_TABLES = ("workflows", "events", "incidents", "decisions", "actions", "kill_switches")
APPEND_ONLY_TABLES = ("events", "decisions")
OPEN_INCIDENT = "status IN ('NEW', 'ANALYZING', 'ACTIONED')"
REFUSE_FUNCTION = "portside_refuse_append_only_change"

# The message is concatenated rather than formatted with %, which the driver would take for a
# parameter placeholder. SQLSTATE 0A000 (feature_not_supported): the table does not support it.
_CREATE_REFUSE_FUNCTION = f"""
CREATE FUNCTION {REFUSE_FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION USING
        MESSAGE = TG_OP || ' on ' || TG_TABLE_NAME || ' is refused: the table is append-only',
        ERRCODE = 'feature_not_supported',
        HINT = 'Events and decisions are never changed or removed; record a new one instead.';
END
$$
"""


def _base(tenant: bool = True) -> list[sa.Column[object]]:
    columns: list[sa.Column[object]] = [sa.Column("id", sa.Uuid(), nullable=False)]
    if tenant:
        columns.append(sa.Column("tenant_id", sa.Uuid(), nullable=False))
    return columns


def _stamps() -> list[sa.Column[object]]:
    return [
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "workflows",
        *_base(),
        sa.Column("name", text(255), nullable=False),
        sa.Column("description", text(2000), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        *_stamps(),
        sa.PrimaryKeyConstraint("id", name="pk_workflows"),
        sa.UniqueConstraint("tenant_id", "name", name="uq_workflows_tenant_id_name"),
    )
    op.create_index("ix_workflows_tenant_id_created_at_id", "workflows", ["tenant_id", "created_at", "id"])

    op.create_table(
        "vendors",
        *_base(tenant=False),
        sa.Column("name", text(255), nullable=False),
        sa.Column("circuit_breaker_state", text(20), nullable=False),
        sa.Column("circuit_breaker_failure_count", sa.Integer(), nullable=False),
        sa.Column("failure_threshold", sa.Integer(), nullable=False),
        sa.Column("cool_down_seconds", sa.Integer(), nullable=False),
        sa.Column("opened_at", UtcDateTime(), nullable=True),
        sa.Column("rate_limit_per_minute", sa.Integer(), nullable=False),
        *_stamps(),
        sa.PrimaryKeyConstraint("id", name="pk_vendors"),
        sa.UniqueConstraint("name", name="uq_vendors_name"),
    )
    op.create_index("ix_vendors_created_at_id", "vendors", ["created_at", "id"])

    op.create_table(
        "events",
        *_base(),
        sa.Column("workflow_id", sa.Uuid(), nullable=False),
        sa.Column("event_type", text(255), nullable=False),
        sa.Column("payload", json_document(), nullable=False),
        sa.Column("idempotency_key", text(255), nullable=False),
        sa.Column("correlation_id", text(255), nullable=True),
        sa.Column("occurred_at", UtcDateTime(), nullable=False),
        *_stamps(),
        sa.PrimaryKeyConstraint("id", name="pk_events"),
        sa.UniqueConstraint("tenant_id", "idempotency_key", name="uq_events_tenant_id_idempotency_key"),
    )
    op.create_index(
        "ix_events_tenant_id_workflow_id_occurred_at", "events", ["tenant_id", "workflow_id", "occurred_at"]
    )
    op.create_index("ix_events_tenant_id_occurred_at_id", "events", ["tenant_id", "occurred_at", "id"])

    op.create_table(
        "incidents",
        *_base(),
        sa.Column("workflow_id", sa.Uuid(), nullable=False),
        sa.Column("signature", text(128), nullable=False),
        sa.Column("title", text(500), nullable=False),
        sa.Column("status", text(20), nullable=False),
        sa.Column("severity", text(20), nullable=False),
        sa.Column("event_count", sa.Integer(), nullable=False),
        sa.Column("first_seen_at", UtcDateTime(), nullable=False),
        sa.Column("last_seen_at", UtcDateTime(), nullable=False),
        sa.Column("correlation_id", text(255), nullable=True),
        *_stamps(),
        sa.PrimaryKeyConstraint("id", name="pk_incidents"),
    )
    op.create_index(
        "uq_incidents_open_signature", "incidents", ["tenant_id", "signature"], unique=True,
        sqlite_where=sa.text(OPEN_INCIDENT), postgresql_where=sa.text(OPEN_INCIDENT),
    )
    op.create_index("ix_incidents_tenant_id_status_created_at", "incidents", ["tenant_id", "status", "created_at"])
    op.create_index("ix_incidents_tenant_id_created_at_id", "incidents", ["tenant_id", "created_at", "id"])

    op.create_table(
        "decisions",
        *_base(),
        sa.Column("incident_id", sa.Uuid(), nullable=False),
        sa.Column("decision_type", text(100), nullable=False),
        sa.Column("reasoning", text(20_000), nullable=False),
        sa.Column("confidence_score", sa.Double(), nullable=False),
        sa.Column("ai_model", text(200), nullable=False),
        *_stamps(),
        sa.PrimaryKeyConstraint("id", name="pk_decisions"),
    )
    op.create_index(
        "ix_decisions_tenant_id_incident_id_created_at", "decisions", ["tenant_id", "incident_id", "created_at"]
    )
    op.create_index("ix_decisions_tenant_id_created_at_id", "decisions", ["tenant_id", "created_at", "id"])

    op.create_table(
        "actions",
        *_base(),
        sa.Column("incident_id", sa.Uuid(), nullable=False),
        sa.Column("action_type", text(20), nullable=False),
        sa.Column("status", text(20), nullable=False),
        sa.Column("parameters", json_document(), nullable=False),
        sa.Column("result", json_document(), nullable=True),
        sa.Column("is_reversible", sa.Boolean(), nullable=False),
        sa.Column("started_at", UtcDateTime(), nullable=True),
        sa.Column("finished_at", UtcDateTime(), nullable=True),
        *_stamps(),
        sa.PrimaryKeyConstraint("id", name="pk_actions"),
    )
    op.create_index("ix_actions_tenant_id_incident_id_status", "actions", ["tenant_id", "incident_id", "status"])
    op.create_index("ix_actions_tenant_id_created_at_id", "actions", ["tenant_id", "created_at", "id"])

    op.create_table(
        "kill_switches",
        *_base(),
        sa.Column("workflow_id", sa.Uuid(), nullable=True),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("reason", text(2000), nullable=False),
        sa.Column("activated_by", text(255), nullable=False),
        sa.Column("activated_at", UtcDateTime(), nullable=False),
        sa.Column("released_by", text(255), nullable=True),
        sa.Column("released_at", UtcDateTime(), nullable=True),
        *_stamps(),
        sa.PrimaryKeyConstraint("id", name="pk_kill_switches"),
    )
    op.create_index(
        "ix_kill_switches_tenant_id_is_active_workflow_id", "kill_switches", ["tenant_id", "is_active", "workflow_id"]
    )
    op.create_index("ix_kill_switches_tenant_id_created_at_id", "kill_switches", ["tenant_id", "created_at", "id"])

    op.create_table(
        "rate_limit_counters",
        sa.Column("key", text(255), nullable=False),
        sa.Column("window_start", UtcDateTime(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key", "window_start", name="pk_rate_limit_counters"),
    )

    if op.get_bind().dialect.name == "postgresql":
        for table in TENANT_TABLES:
            for statement in tenant_isolation_ddl(table):
                op.execute(statement)
        op.execute(_CREATE_REFUSE_FUNCTION)
        for table in APPEND_ONLY_TABLES:
            op.execute(
                f"CREATE TRIGGER {table}_append_only_rows BEFORE UPDATE OR DELETE ON {table} "
                f"FOR EACH ROW EXECUTE FUNCTION {REFUSE_FUNCTION}()"
            )
            op.execute(
                f"CREATE TRIGGER {table}_append_only_truncate BEFORE TRUNCATE ON {table} "
                f"FOR EACH STATEMENT EXECUTE FUNCTION {REFUSE_FUNCTION}()"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in APPEND_ONLY_TABLES:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only_truncate ON {table}")
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only_rows ON {table}")
        op.execute(f"DROP FUNCTION IF EXISTS {REFUSE_FUNCTION}()")
        for table in TENANT_TABLES:
            for statement in drop_tenant_isolation_ddl(table):
                op.execute(statement)
    # Dropping a table drops its indexes and constraints with it.
    for table in ("rate_limit_counters", "kill_switches", "actions", "decisions", "incidents", "events", "vendors",
                  "workflows"):
        op.drop_table(table)
