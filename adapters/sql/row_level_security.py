"""PostgreSQL row-level security: the second wall behind the explicit `WHERE tenant_id = :t`.

The tenant is set per transaction with `set_config(..., true)`: a session-level setting would
outlive the transaction and leak to the next user of the pooled connection. Policies compare
against `(SELECT ...)` so PostgreSQL evaluates the setting once per statement, not per row.
"""

from __future__ import annotations

from functools import cache

import sqlalchemy as sa

from adapters.sql.driver import dbapi_cursor, direct, driver_error
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


@cache
def _bind_scope_direct(dialect: sa.Dialect) -> tuple[str, tuple[str, ...] | None]:
    """`_BIND_SCOPE` as `dialect`'s driver takes it (`%(tenant)s`, or `$1` with the parameters' order)."""
    compiled = _BIND_SCOPE.compile(dialect=dialect)
    return compiled.string, None if compiled.positiontup is None else tuple(compiled.positiontup)


def bind_scope(connection: sa.Connection, scope: TenantScope) -> None:
    """Tell the policies which tenant this transaction acts for (one round trip). It begins every
    unit of work, so it goes on the DBAPI cursor where nothing could tell (`direct`)."""
    tenant, system = "" if scope.tenant is None else str(scope.tenant), "on" if scope.is_system else "off"
    if not direct(connection):
        connection.execute(_BIND_SCOPE, {"tenant": tenant, "system": system})
        return
    sql, order = _bind_scope_direct(connection.dialect)
    parameters = {"tenant": tenant, "system": system}
    cursor = None
    try:
        cursor = dbapi_cursor(connection)
        cursor.execute(sql, parameters if order is None else tuple(parameters[name] for name in order))
        cursor.close()
    except connection.dialect.loaded_dbapi.Error as error:
        raise driver_error(connection, error, sql, cursor) from error
