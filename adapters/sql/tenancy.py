"""The tenants table. A tenant is its own scope: the table has no separate scope column."""

from __future__ import annotations

import sqlalchemy as sa

from adapters.sql.declarations import aggregate_table
from adapters.sql.types import json_document, text

tenants = aggregate_table(
    "tenants", scope=None,
    columns={"name": text(200), "slug": text(63), "is_active": sa.Boolean(), "settings": json_document()},
    extras=(sa.UniqueConstraint("slug"), sa.Index(None, "name", "id")),
)
