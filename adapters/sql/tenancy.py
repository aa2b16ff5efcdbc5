"""Tenants in SQL."""

from __future__ import annotations

import sqlalchemy as sa

from adapters.sql.crud import SqlCrud
from adapters.sql.errors import translated
from adapters.sql.metadata import metadata
from adapters.sql.types import UtcDateTime, json_document, text
from domain.shared.scope import TenantScope
from domain.tenancy.filters import TenantFilter
from domain.tenancy.tenant import Tenant
from ports.tenancy import TENANT_SCHEMA, TenantRepository

tenants = sa.Table(
    "tenants",
    metadata,
    sa.Column("id", sa.Uuid(), primary_key=True),
    sa.Column("name", text(200), nullable=False),
    sa.Column("slug", text(63), nullable=False),
    sa.Column("is_active", sa.Boolean(), nullable=False),
    sa.Column("settings", json_document(), nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
    sa.Column("version", sa.Integer(), nullable=False),
    sa.UniqueConstraint("slug"),
    sa.Index(None, "created_at", "id"),
    sa.Index(None, "name", "id"),
)


class SqlTenantRepository(SqlCrud[Tenant, TenantFilter], TenantRepository):
    def __init__(self, connection: sa.Connection, scope: TenantScope) -> None:
        super().__init__(TENANT_SCHEMA, tenants, connection, scope)

    def get_by_slug(self, slug: str) -> Tenant | None:
        with translated(self._schema.entity):
            row = self._connection.execute(self._select().where(tenants.c.slug == slug)).first()
        return None if row is None else self._from_row(row)
