"""Jobs (specs 002 and 004): the job queue's records, parallel processings and their chunk tasks
(tables in 0004_jobs.toml).

A partial unique index keeps one queued or running job per tenant and deduplication key; the claim's
partial index is in claim order. On PostgreSQL every table gets row-level security on tenant_id, and
the jobs table is visible to system scope too: a worker serves a queue across tenants.
"""

from __future__ import annotations

from adapters.sql.migrations.steps import (
    confine_to_tenant,
    create_ordered_indexes,
    create_tables,
    drop_tables,
    release_from_tenant,
)

revision = "0004_jobs"
down_revision = "0003_processing"

TABLES = ("processing_jobs", "processing_tasks", "chunk_tasks")


def upgrade() -> None:
    create_tables(__file__)
    create_ordered_indexes(__file__)
    confine_to_tenant(("processing_jobs",), system_visible=True)
    confine_to_tenant(TABLES[1:])


def downgrade() -> None:
    release_from_tenant(TABLES)
    drop_tables(__file__)
