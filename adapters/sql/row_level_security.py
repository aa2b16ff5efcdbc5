"""PostgreSQL row-level security: the second wall behind the explicit `WHERE tenant_id = :t`.

The tenant is set per transaction with `set_config(..., true)`: a session-level setting would
outlive the transaction and leak to the next user of the pooled connection. Policies compare
against `(SELECT ...)` so PostgreSQL evaluates the setting once per statement, not per row.
"""

from __future__ import annotations

import sqlalchemy as sa

from adapters.sql.driver import direct, driver_error
from domain.shared.scope import TenantScope

TENANT_SETTING = "app.tenant_id"
SYSTEM_SETTING = "app.system_scope"

_CURRENT_TENANT = f"(SELECT NULLIF(current_setting('{TENANT_SETTING}', true), '')::uuid)"
_SYSTEM_SCOPE = f"(SELECT current_setting('{SYSTEM_SETTING}', true) = 'on')"


def tenant_isolation_ddl(table: str, column: str = "tenant_id", *, system_visible: bool = False) -> list[str]:
    """DDL that confines `table` to the transaction's tenant, for the table's owner too (FORCE).

    `system_visible` tables (global data such as tenants themselves) are also readable and writable
    from a system-scope unit of work.
    """
    condition = f"{column} = {_CURRENT_TENANT}"
    if system_visible:
        condition = f"({condition} OR {_SYSTEM_SCOPE})"
    return [
        f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY",
        f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY",
        f"CREATE POLICY {table}_tenant_isolation ON {table} USING ({condition}) WITH CHECK ({condition})",
    ]


def drop_tenant_isolation_ddl(table: str) -> list[str]:
    return [
        f"DROP POLICY IF EXISTS {table}_tenant_isolation ON {table}",
        f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY",
        f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY",
    ]


_BIND_SCOPE = sa.text(
    f"SELECT set_config('{TENANT_SETTING}', :tenant, true), set_config('{SYSTEM_SETTING}', :system, true)"
)
_BIND_SCOPE_DIRECT = (f"SELECT set_config('{TENANT_SETTING}', %(tenant)s, true), "
                      f"set_config('{SYSTEM_SETTING}', %(system)s, true)")


def bind_scope(connection: sa.Connection, scope: TenantScope) -> None:
    """Tell the policies which tenant this transaction acts for (one round trip). It begins every
    unit of work, so it goes on the DBAPI cursor where nothing could tell (`direct`)."""
    parameters = {"tenant": "" if scope.tenant is None else str(scope.tenant),
                  "system": "on" if scope.is_system else "off"}
    if not (direct(connection) and connection.dialect.driver == "psycopg2"):
        connection.execute(_BIND_SCOPE, parameters)
        return
    driver = connection.connection.driver_connection
    assert driver is not None
    cursor = None
    try:
        with driver.cursor() as cursor:
            cursor.execute(_BIND_SCOPE_DIRECT, parameters)
    except connection.dialect.loaded_dbapi.Error as error:
        raise driver_error(connection, error, _BIND_SCOPE_DIRECT, cursor) from error
