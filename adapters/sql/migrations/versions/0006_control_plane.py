"""Control plane (spec 003): applications, users, policies, the append-only audit log and inference
requests (tables in 0006_control_plane.toml), the first tables with foreign keys.

Every reference is ON DELETE CASCADE: deleting an organization (a row of `tenants`) deletes what it
owns. On PostgreSQL every table gets row-level security; applications and users are also visible
from system scope (an API key or an identity is resolved before its organization is known).
Triggers refuse UPDATE and TRUNCATE on audit_logs to everyone, and DELETE except when it comes from
the cascade of deleting the organization.
"""

from __future__ import annotations

from alembic import op

from adapters.sql.migrations.steps import confine_to_tenant, create_tables, drop_tables, release_from_tenant

revision = "0006_control_plane"
down_revision = "0005_caching"

SYSTEM_VISIBLE_TABLES = ("applications", "users")
TENANT_TABLES = ("policies", "audit_logs", "inference_requests")
REFUSE_FUNCTION = "portside_refuse_audit_change"

# A cascaded delete runs inside the foreign key's own trigger, so the audit trigger sees a trigger
# depth above 1 there and exactly 1 for a DELETE statement on audit_logs itself. SQLSTATE 0A000, as
# the other append-only tables, which the adapter reports as Unsupported.
_CREATE_REFUSE_FUNCTION = f"""
CREATE FUNCTION {REFUSE_FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND TG_LEVEL = 'ROW' AND pg_trigger_depth() > 1 THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION USING
        MESSAGE = TG_OP || ' on ' || TG_TABLE_NAME || ' is refused: the table is append-only',
        ERRCODE = 'feature_not_supported',
        HINT = 'Audit entries are removed only with their organization; record a new entry instead.';
END
$$
"""


def upgrade() -> None:
    create_tables(__file__)
    confine_to_tenant(SYSTEM_VISIBLE_TABLES, system_visible=True)
    confine_to_tenant(TENANT_TABLES)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_CREATE_REFUSE_FUNCTION)
        op.execute(f"CREATE TRIGGER audit_logs_append_only_rows BEFORE UPDATE OR DELETE ON audit_logs "
                   f"FOR EACH ROW EXECUTE FUNCTION {REFUSE_FUNCTION}()")
        op.execute(f"CREATE TRIGGER audit_logs_append_only_truncate BEFORE TRUNCATE ON audit_logs "
                   f"FOR EACH STATEMENT EXECUTE FUNCTION {REFUSE_FUNCTION}()")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_logs_append_only_truncate ON audit_logs")
        op.execute("DROP TRIGGER IF EXISTS audit_logs_append_only_rows ON audit_logs")
        op.execute(f"DROP FUNCTION IF EXISTS {REFUSE_FUNCTION}()")
    release_from_tenant((*SYSTEM_VISIBLE_TABLES, *TENANT_TABLES))
    drop_tables(__file__)
