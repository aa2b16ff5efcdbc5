"""Tenants: the isolation boundary.

Revision ID: 0001_tenants
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from adapters.sql.row_level_security import drop_tenant_isolation_ddl, tenant_isolation_ddl
from adapters.sql.types import UtcDateTime, json_document, text

revision = "0001_tenants"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tenants",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", text(200), nullable=False),
        sa.Column("slug", text(63), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("settings", json_document(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_tenants"),
        sa.UniqueConstraint("slug", name="uq_tenants_slug"),
    )
    op.create_index("ix_tenants_created_at_id", "tenants", ["created_at", "id"])
    op.create_index("ix_tenants_name_id", "tenants", ["name", "id"])
    if op.get_bind().dialect.name == "postgresql":
        # A tenant sees its own row; tenants are created and listed from system scope.
        for statement in tenant_isolation_ddl("tenants", "id", system_visible=True):
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for statement in drop_tenant_isolation_ddl("tenants"):
            op.execute(statement)
    op.drop_index("ix_tenants_name_id", table_name="tenants")
    op.drop_index("ix_tenants_created_at_id", table_name="tenants")
    op.drop_table("tenants")
