"""How an aggregate's table is declared: its id, its scope column, its own columns, the version
columns and the listing index every aggregate table has, and partial unique indexes derived from the
record schema, so that each table states only what is its own."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.schema import SchemaItem

from adapters.sql.metadata import metadata
from adapters.sql.types import UtcDateTime
from ports.records import RecordSchema

ColumnType = sa.types.TypeEngine[Any]


@dataclass(frozen=True, slots=True)
class Optional:
    """A nullable column of this type (columns are NOT NULL unless wrapped)."""

    type: ColumnType


def optional(column_type: ColumnType) -> Optional:
    return Optional(column_type)


def aggregate_table(
    name: str, *, scope: str | None, columns: Mapping[str, ColumnType | Optional], listing: tuple[str, ...] = (),
    listing_index: str | None = None, extras: tuple[SchemaItem, ...] = (),
) -> sa.Table:
    """`id` (the primary key), the `scope` column when the table is tenant-scoped, `columns` in order,
    `created_at`, `updated_at`, `version`, then the listing index `(scope, *listing or created_at,
    id)` named `listing_index` (None: the naming convention's name) and `extras`."""
    declared: list[SchemaItem] = [sa.Column("id", sa.Uuid(), primary_key=True)]
    if scope is not None:
        declared.append(sa.Column(scope, sa.Uuid(), nullable=False))
    for column, kind in columns.items():
        nullable = isinstance(kind, Optional)
        declared.append(sa.Column(column, kind.type if isinstance(kind, Optional) else kind, nullable=nullable))
    declared += [sa.Column(stamp, UtcDateTime(), nullable=False) for stamp in ("created_at", "updated_at")]
    declared.append(sa.Column("version", sa.Integer(), nullable=False))
    declared += extras
    leading = () if scope is None else (scope,)
    declared.append(sa.Index(listing_index, *leading, *(listing or ("created_at",)), "id"))
    return sa.Table(name, metadata, *declared)


def partial_unique_index(index_name: str, schema: RecordSchema[Any], key_name: str) -> sa.Index:
    """The partial unique index of a schema's partial key: its columns, and its predicate on both
    dialects (what makes the key hold between concurrent transactions)."""
    key = schema.unique_keys[key_name]
    predicate = sa.text(key.predicate_sql())
    return sa.Index(index_name, *key.fields, unique=True, sqlite_where=predicate, postgresql_where=predicate)


def foreign_keys(schema: RecordSchema[Any]) -> tuple[sa.ForeignKeyConstraint, ...]:
    """The schema's references as constraints, `ON DELETE CASCADE`, named `fk_<table>_<field>`:
    `(scope, field) -> target(scope, id)` (which keeps a reference inside its tenant), or
    `field -> target(id)` when the target is the tenant itself."""
    return tuple(
        sa.ForeignKeyConstraint(
            list(reference.local_fields(schema)),
            [f"{reference.target.table}.{field}" for field in reference.target_fields()],
            name=f"fk_{schema.table}_{reference.field}", ondelete="CASCADE",
        )
        for reference in schema.references
    )
