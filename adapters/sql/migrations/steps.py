"""The DDL steps the migrations are written with, and their column notation.

Frozen: an applied revision is history, so what these functions emit must never change; a new need
gets a new function. They restate the schema on purpose instead of importing the adapter's tables,
which move with the code (`adapters/sql/declarations.py` is the code's side).

A table's columns are written as DDL reads: `"name text(200), settings json, opened_at timestamp?"`,
comma-separated, `?` marking a nullable column. Every aggregate table starts with `id` (the primary
key) and its scope column, and ends with `created_at`, `updated_at` and `version`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from adapters.sql.row_level_security import drop_tenant_isolation_ddl, tenant_isolation_ddl
from adapters.sql.types import UtcDateTime, json_document, text

_COLUMN = re.compile(r"^(?P<name>[a-z_]+) (?P<type>[a-z\[\]]+)(?:\((?P<length>\d+)\))?(?P<nullable>\?)?$")


def _column_type(name: str, length: int | None) -> sa.types.TypeEngine[Any]:
    match name:
        case "text":
            return text(length)
        case "uuid":
            return sa.Uuid()
        case "bool":
            return sa.Boolean()
        case "int":
            return sa.Integer()
        case "bigint":
            return sa.BigInteger()
        case "double":
            return sa.Double()
        case "json":
            return json_document()
        case "timestamp":
            return UtcDateTime()
        # SQLite's lists are JSON (its UUID list holds hex ids, whatever the adapter's Python type).
        case "uuid[]":
            return sa.JSON().with_variant(postgresql.ARRAY(sa.Uuid()), "postgresql")
        case "text[]":
            return sa.JSON().with_variant(postgresql.ARRAY(sa.Text()), "postgresql")
    raise ValueError(f"unknown column type {name!r}")


def columns(notation: str) -> list[sa.Column[Any]]:
    """`"a uuid, b text(20)?"` as columns."""
    found: list[sa.Column[Any]] = []
    for item in (part.strip() for part in notation.split(",")):
        if not item:
            continue
        match = _COLUMN.match(item)
        if match is None:
            raise ValueError(f"bad column {item!r}")
        length = match["length"]
        found.append(sa.Column(match["name"], _column_type(match["type"], None if length is None else int(length)),
                               nullable=match["nullable"] is not None))
    return found


def create_aggregate_table(name: str, scope: str | None, notation: str, *constraints: sa.Constraint) -> None:
    leading = "id uuid" + ("" if scope is None else f", {scope} uuid")
    op.create_table(
        name, *columns(f"{leading}, {notation}, created_at timestamp, updated_at timestamp, version int"),
        sa.PrimaryKeyConstraint("id", name=f"pk_{name}"), *constraints,
    )


def create_indexes(table: str, indexes: Mapping[str, Sequence[str]]) -> None:
    for index, keys in indexes.items():
        op.create_index(index, table, list(keys))


def create_partial_unique_index(index: str, table: str, keys: Sequence[str], predicate: str) -> None:
    op.create_index(index, table, list(keys), unique=True, sqlite_where=sa.text(predicate),
                    postgresql_where=sa.text(predicate))


def confine_to_tenant(tables: Sequence[str], column: str = "tenant_id", *, system_visible: bool = False) -> None:
    """Row-level security on PostgreSQL (the other dialects have none)."""
    if op.get_bind().dialect.name == "postgresql":
        for table in tables:
            for statement in tenant_isolation_ddl(table, column, system_visible=system_visible):
                op.execute(statement)


def release_from_tenant(tables: Sequence[str]) -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in tables:
            for statement in drop_tenant_isolation_ddl(table):
                op.execute(statement)
