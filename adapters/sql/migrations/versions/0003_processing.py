"""Processing (spec 000): purchased processors, underwriting processors and processor executions.

PostgreSQL stores JSONB, UUID[] (current_executions_list) and TEXT[] (document_revision_ids); SQLite
stores JSON in their place. A partial unique index keeps one pending, running or completed execution
per organization, underwriting processor and payload hash. On PostgreSQL every table gets row-level
security on organization_id.

Revision ID: 0003_processing
Revises: 0002_reliability
Create Date: 2026-12-14
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from adapters.sql.row_level_security import drop_tenant_isolation_ddl, tenant_isolation_ddl
from adapters.sql.types import UtcDateTime, json_document, text

revision = "0003_processing"
down_revision = "0002_reliability"
branch_labels = None
depends_on = None

TABLES = ("purchased_processors", "underwriting_processors", "processor_executions")
LIVE_EXECUTION = "status IN ('completed', 'pending', 'running')"

# The types as DDL sees them, frozen here rather than imported from the adapter: SQLite's UUID list
# is JSON holding hex ids whatever the adapter's Python type does with them.
UUID_LIST = sa.JSON().with_variant(postgresql.ARRAY(sa.Uuid()), "postgresql")
TEXT_LIST = sa.JSON().with_variant(postgresql.ARRAY(sa.Text()), "postgresql")


def _stamps() -> list[sa.Column[object]]:
    return [
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "purchased_processors",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("processor", text(100), nullable=False),
        sa.Column("name", text(200), nullable=False),
        sa.Column("auto", sa.Boolean(), nullable=False),
        sa.Column("status", text(20), nullable=False),
        sa.Column("config", json_document(), nullable=False),
        sa.Column("price_amount", sa.BigInteger(), nullable=False),
        sa.Column("price_unit", text(20), nullable=False),
        sa.Column("purchased_at", UtcDateTime(), nullable=False),
        sa.Column("purchased_by", sa.Uuid(), nullable=True),
        *_stamps(),
        sa.PrimaryKeyConstraint("id", name="pk_purchased_processors"),
    )
    op.create_index(
        "ix_purchased_processors_processor", "purchased_processors", ["organization_id", "processor", "status"]
    )
    op.create_index(
        "ix_purchased_processors_created", "purchased_processors", ["organization_id", "created_at", "id"]
    )

    op.create_table(
        "underwriting_processors",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("underwriting_id", sa.Uuid(), nullable=False),
        sa.Column("purchased_processor_id", sa.Uuid(), nullable=False),
        sa.Column("processor", text(100), nullable=False),
        sa.Column("name", text(200), nullable=False),
        sa.Column("auto", sa.Boolean(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("config_override", json_document(), nullable=False),
        sa.Column("effective_config", json_document(), nullable=False),
        sa.Column("current_executions_list", UUID_LIST, nullable=False),
        *_stamps(),
        sa.PrimaryKeyConstraint("id", name="pk_underwriting_processors"),
        sa.UniqueConstraint(
            "organization_id", "underwriting_id", "processor", name="uq_underwriting_processors_processor"
        ),
    )
    op.create_index(
        "ix_underwriting_processors_created", "underwriting_processors", ["organization_id", "created_at", "id"]
    )

    op.create_table(
        "processor_executions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("underwriting_id", sa.Uuid(), nullable=False),
        sa.Column("underwriting_processor_id", sa.Uuid(), nullable=False),
        sa.Column("processor", text(100), nullable=False),
        sa.Column("status", text(20), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("payload", json_document(), nullable=False),
        sa.Column("payload_hash", text(64), nullable=False),
        sa.Column("output", json_document(), nullable=True),
        sa.Column("factors_delta", json_document(), nullable=True),
        sa.Column("document_revision_ids", TEXT_LIST, nullable=False),
        sa.Column("document_ids_hash", text(64), nullable=True),
        sa.Column("run_cost_cents", sa.BigInteger(), nullable=True),
        sa.Column("started_at", UtcDateTime(), nullable=True),
        sa.Column("completed_at", UtcDateTime(), nullable=True),
        sa.Column("failed_code", text(100), nullable=True),
        sa.Column("failed_reason", text(5000), nullable=True),
        sa.Column("updated_execution_id", sa.Uuid(), nullable=True),
        sa.Column("disabled_at", UtcDateTime(), nullable=True),
        *_stamps(),
        sa.PrimaryKeyConstraint("id", name="pk_processor_executions"),
    )
    key = ["organization_id", "underwriting_processor_id", "payload_hash"]
    op.create_index(
        "uq_processor_executions_live_payload", "processor_executions", key, unique=True,
        sqlite_where=sa.text(LIVE_EXECUTION), postgresql_where=sa.text(LIVE_EXECUTION),
    )
    op.create_index("ix_processor_executions_payload_hash", "processor_executions", [*key, "created_at"])
    op.create_index(
        "ix_processor_executions_underwriting", "processor_executions",
        ["organization_id", "underwriting_id", "processor", "created_at"],
    )
    op.create_index(
        "ix_processor_executions_superseded", "processor_executions", ["organization_id", "updated_execution_id"]
    )
    op.create_index("ix_processor_executions_created", "processor_executions", ["organization_id", "created_at", "id"])

    if op.get_bind().dialect.name == "postgresql":
        for table in TABLES:
            for statement in tenant_isolation_ddl(table, "organization_id"):
                op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in TABLES:
            for statement in drop_tenant_isolation_ddl(table):
                op.execute(statement)
    # Dropping a table drops its indexes and constraints with it.
    for table in reversed(TABLES):
        op.drop_table(table)
