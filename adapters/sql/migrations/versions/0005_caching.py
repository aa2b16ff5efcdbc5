"""Caching (specs 002 and 004): the L3 tier's cache_entries table (in 0005_caching.toml), UNLOGGED
on PostgreSQL: a cache is rebuilt after a crash, never recovered, so it skips the write-ahead log.

Chained after 0003_processing; the jobs revision (0004) lands in parallel and the chain is set
when both are merged.
"""

from __future__ import annotations

from adapters.sql.migrations.steps import create_tables, drop_tables

revision = "0005_caching"
down_revision = "0004_jobs"


def upgrade() -> None:
    create_tables(__file__)


def downgrade() -> None:
    drop_tables(__file__)
