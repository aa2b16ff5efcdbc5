"""The tenants table."""

from __future__ import annotations

import sqlalchemy as sa

from adapters.sql.metadata import metadata
from adapters.sql.types import UtcDateTime, json_document, text

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
