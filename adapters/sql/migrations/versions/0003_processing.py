"""Processing (spec 000): purchased processors, underwriting processors and processor executions
(tables in 0003_processing.toml).

PostgreSQL stores JSONB, UUID[] (current_executions_list) and TEXT[] (document_revision_ids); SQLite
stores JSON in their place. A partial unique index keeps one pending, running or completed execution
per organization, underwriting processor and payload hash. On PostgreSQL every table gets row-level
security on organization_id.
"""

from __future__ import annotations

from adapters.sql.migrations.steps import confine_to_tenant, create_tables, drop_tables, release_from_tenant

revision = "0003_processing"
down_revision = "0002_reliability"

TABLES = ("purchased_processors", "underwriting_processors", "processor_executions")


def upgrade() -> None:
    create_tables(__file__)
    confine_to_tenant(TABLES, "organization_id")


def downgrade() -> None:
    release_from_tenant(TABLES)
    drop_tables(__file__)
