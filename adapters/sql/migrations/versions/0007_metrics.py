"""Metrics (spec 002): the `metrics` table, one row per sample of a tenant's series (table in
0007_metrics.toml).

Time is milliseconds since the epoch; a series is identified by `series_key`, a digest of its labels
(`tags`, JSONB on PostgreSQL). One sample per tenant, name, series and instant. On PostgreSQL the
table gets row-level security on tenant_id.
"""

from __future__ import annotations

from adapters.sql.migrations.steps import confine_to_tenant, create_tables, drop_tables, release_from_tenant

revision = "0007_metrics"
down_revision = "0006_control_plane"

TABLES = ("metrics",)


def upgrade() -> None:
    create_tables(__file__)
    confine_to_tenant(TABLES)


def downgrade() -> None:
    release_from_tenant(TABLES)
    drop_tables(__file__)
