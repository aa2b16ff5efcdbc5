"""Processing (spec 000): purchased processors, underwriting processors and processor executions.

PostgreSQL stores JSONB, UUID[] (current_executions_list) and TEXT[] (document_revision_ids); SQLite
stores JSON in their place. A partial unique index keeps one pending, running or completed execution
per organization, underwriting processor and payload hash. On PostgreSQL every table gets row-level
security on organization_id.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from adapters.sql.migrations.steps import (
    confine_to_tenant,
    create_aggregate_table,
    create_indexes,
    create_partial_unique_index,
    release_from_tenant,
)

revision = "0003_processing"
down_revision = "0002_reliability"

TABLES = ("purchased_processors", "underwriting_processors", "processor_executions")


def upgrade() -> None:
    create_aggregate_table(
        "purchased_processors", "organization_id",
        "processor text(100), name text(200), auto bool, status text(20), config json, price_amount bigint, "
        "price_unit text(20), purchased_at timestamp, purchased_by uuid?")
    create_indexes("purchased_processors", {
        "ix_purchased_processors_processor": ("organization_id", "processor", "status"),
        "ix_purchased_processors_created": ("organization_id", "created_at", "id"),
    })

    create_aggregate_table(
        "underwriting_processors", "organization_id",
        "underwriting_id uuid, purchased_processor_id uuid, processor text(100), name text(200), auto bool, "
        "enabled bool, config_override json, effective_config json, current_executions_list uuid[]",
        sa.UniqueConstraint("organization_id", "underwriting_id", "processor",
                            name="uq_underwriting_processors_processor"))
    create_indexes("underwriting_processors", {
        "ix_underwriting_processors_created": ("organization_id", "created_at", "id"),
    })

    create_aggregate_table(
        "processor_executions", "organization_id",
        "underwriting_id uuid, underwriting_processor_id uuid, processor text(100), status text(20), enabled bool, "
        "payload json, payload_hash text(64), output json?, factors_delta json?, document_revision_ids text[], "
        "document_ids_hash text(64)?, run_cost_cents bigint?, started_at timestamp?, completed_at timestamp?, "
        "failed_code text(100)?, failed_reason text(5000)?, updated_execution_id uuid?, disabled_at timestamp?")
    key = ("organization_id", "underwriting_processor_id", "payload_hash")
    create_partial_unique_index("uq_processor_executions_live_payload", "processor_executions", key,
                                "status IN ('completed', 'pending', 'running')")
    create_indexes("processor_executions", {
        "ix_processor_executions_payload_hash": (*key, "created_at"),
        "ix_processor_executions_underwriting": ("organization_id", "underwriting_id", "processor", "created_at"),
        "ix_processor_executions_superseded": ("organization_id", "updated_execution_id"),
        "ix_processor_executions_created": ("organization_id", "created_at", "id"),
    })

    confine_to_tenant(TABLES, "organization_id")


def downgrade() -> None:
    release_from_tenant(TABLES)
    # Dropping a table drops its indexes and constraints with it.
    for table in reversed(TABLES):
        op.drop_table(table)
