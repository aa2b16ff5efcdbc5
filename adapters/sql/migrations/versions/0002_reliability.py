"""Reliability (spec 001): workflows, vendors, the append-only events and decisions, incidents,
actions, kill switches, and the shared rate-limit counters (tables in 0002_reliability.toml).

On PostgreSQL every tenant table gets row-level security, and triggers refuse UPDATE, DELETE and
TRUNCATE on events and decisions to everyone, the tables' owner included.
"""

from __future__ import annotations

from alembic import op

from adapters.sql.migrations.steps import confine_to_tenant, create_tables, drop_tables, release_from_tenant

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
    create_tables(__file__)
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
    drop_tables(__file__)
