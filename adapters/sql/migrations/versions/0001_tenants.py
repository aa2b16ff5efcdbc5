"""Tenants: the isolation boundary. On PostgreSQL a tenant sees its own row; tenants are created and
listed from system scope."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from adapters.sql.migrations.steps import confine_to_tenant, create_aggregate_table, create_indexes, release_from_tenant

revision = "0001_tenants"
down_revision = None


def upgrade() -> None:
    create_aggregate_table("tenants", None, "name text(200), slug text(63), is_active bool, settings json",
                           sa.UniqueConstraint("slug", name="uq_tenants_slug"))
    create_indexes("tenants", {"ix_tenants_created_at_id": ("created_at", "id"), "ix_tenants_name_id": ("name", "id")})
    confine_to_tenant(["tenants"], "id", system_visible=True)


def downgrade() -> None:
    release_from_tenant(["tenants"])
    op.drop_index("ix_tenants_name_id", table_name="tenants")
    op.drop_index("ix_tenants_created_at_id", table_name="tenants")
    op.drop_table("tenants")
