"""Tenants: the isolation boundary (tables in 0001_tenants.toml). On PostgreSQL a tenant sees its own
row; tenants are created and listed from system scope."""

from __future__ import annotations

from adapters.sql.migrations.steps import confine_to_tenant, create_tables, drop_tables, release_from_tenant

revision = "0001_tenants"
branch_labels = ("portside",)
"""An application's own Alembic environment reaches Portside's revisions by this label."""
down_revision = None


def upgrade() -> None:
    create_tables(__file__)
    confine_to_tenant(["tenants"], "id", system_visible=True)


def downgrade() -> None:
    release_from_tenant(["tenants"])
    drop_tables(__file__)
