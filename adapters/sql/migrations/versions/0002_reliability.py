"""Reliability (spec 001): workflows, vendors, the append-only events and decisions, incidents,
actions, kill switches, and the shared rate-limit counters.

On PostgreSQL every tenant table gets row-level security, and triggers refuse UPDATE, DELETE and
TRUNCATE on events and decisions to everyone, the tables' owner included.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from adapters.sql.migrations.steps import (
    columns,
    confine_to_tenant,
    create_aggregate_table,
    create_indexes,
    create_partial_unique_index,
    release_from_tenant,
)

revision = "0002_reliability"
down_revision = "0001_tenants"

TENANT_TABLES = ("workflows", "events", "incidents", "decisions", "actions", "kill_switches")
APPEND_ONLY_TABLES = ("events", "decisions")
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


def upgrade() -> None:
    create_aggregate_table("workflows", "tenant_id", "name text(255), description text(2000), is_active bool",
                           sa.UniqueConstraint("tenant_id", "name", name="uq_workflows_tenant_id_name"))
    create_indexes("workflows", {"ix_workflows_tenant_id_created_at_id": ("tenant_id", "created_at", "id")})

    create_aggregate_table(
        "vendors", None,
        "name text(255), circuit_breaker_state text(20), circuit_breaker_failure_count int, failure_threshold int, "
        "cool_down_seconds int, opened_at timestamp?, rate_limit_per_minute int",
        sa.UniqueConstraint("name", name="uq_vendors_name"))
    create_indexes("vendors", {"ix_vendors_created_at_id": ("created_at", "id")})

    create_aggregate_table(
        "events", "tenant_id",
        "workflow_id uuid, event_type text(255), payload json, idempotency_key text(255), "
        "correlation_id text(255)?, occurred_at timestamp",
        sa.UniqueConstraint("tenant_id", "idempotency_key", name="uq_events_tenant_id_idempotency_key"))
    create_indexes("events", {
        "ix_events_tenant_id_workflow_id_occurred_at": ("tenant_id", "workflow_id", "occurred_at"),
        "ix_events_tenant_id_occurred_at_id": ("tenant_id", "occurred_at", "id"),
    })

    create_aggregate_table(
        "incidents", "tenant_id",
        "workflow_id uuid, signature text(128), title text(500), status text(20), severity text(20), "
        "event_count int, first_seen_at timestamp, last_seen_at timestamp, correlation_id text(255)?")
    create_partial_unique_index("uq_incidents_open_signature", "incidents", ("tenant_id", "signature"),
                                "status IN ('NEW', 'ANALYZING', 'ACTIONED')")
    create_indexes("incidents", {
        "ix_incidents_tenant_id_status_created_at": ("tenant_id", "status", "created_at"),
        "ix_incidents_tenant_id_created_at_id": ("tenant_id", "created_at", "id"),
    })

    create_aggregate_table(
        "decisions", "tenant_id",
        "incident_id uuid, decision_type text(100), reasoning text(20000), confidence_score double, ai_model text(200)")
    create_indexes("decisions", {
        "ix_decisions_tenant_id_incident_id_created_at": ("tenant_id", "incident_id", "created_at"),
        "ix_decisions_tenant_id_created_at_id": ("tenant_id", "created_at", "id"),
    })

    create_aggregate_table(
        "actions", "tenant_id",
        "incident_id uuid, action_type text(20), status text(20), parameters json, result json?, is_reversible bool, "
        "started_at timestamp?, finished_at timestamp?")
    create_indexes("actions", {
        "ix_actions_tenant_id_incident_id_status": ("tenant_id", "incident_id", "status"),
        "ix_actions_tenant_id_created_at_id": ("tenant_id", "created_at", "id"),
    })

    create_aggregate_table(
        "kill_switches", "tenant_id",
        "workflow_id uuid?, is_active bool, reason text(2000), activated_by text(255), activated_at timestamp, "
        "released_by text(255)?, released_at timestamp?")
    create_indexes("kill_switches", {
        "ix_kill_switches_tenant_id_is_active_workflow_id": ("tenant_id", "is_active", "workflow_id"),
        "ix_kill_switches_tenant_id_created_at_id": ("tenant_id", "created_at", "id"),
    })

    op.create_table("rate_limit_counters", *columns("key text(255), window_start timestamp, count int"),
                    sa.PrimaryKeyConstraint("key", "window_start", name="pk_rate_limit_counters"))

    confine_to_tenant(TENANT_TABLES)
    if op.get_bind().dialect.name == "postgresql":
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
    release_from_tenant(TENANT_TABLES)
    # Dropping a table drops its indexes and constraints with it.
    for table in ("rate_limit_counters", "kill_switches", "actions", "decisions", "incidents", "events", "vendors",
                  "workflows"):
        op.drop_table(table)
