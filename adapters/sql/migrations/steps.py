"""The DDL steps the migrations are written with, and their column notation.

Frozen: an applied revision is history, so what these functions emit must never change; a new need
gets a new function. They restate the schema on purpose instead of importing the adapter's tables,
which move with the code (`adapters/sql/declarations.py` is the code's side).

A revision's tables are data beside it (`0002_reliability.toml` for `0002_reliability.py`), read by
`create_tables`: per table its scope column, its columns written as DDL reads (`"name text(200),
settings json, opened_at timestamp?"`, comma-separated, `?` marking a nullable column), its unique
constraints and indexes by name, and partial unique indexes with their predicate. Every aggregate
table starts with `id` (the primary key) and its scope column, and ends with `created_at`,
`updated_at` and `version`; a table with `aggregate = false` has only the columns it lists;
`unlogged = true` makes it UNLOGGED on PostgreSQL.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
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


def _constraints(name: str, spec: Mapping[str, Any]) -> list[sa.Constraint]:
    primary = spec.get("primary_key", ["id"])
    found: list[sa.Constraint] = [sa.PrimaryKeyConstraint(*primary, name=f"pk_{name}")]
    found += [sa.UniqueConstraint(*keys, name=unique) for unique, keys in spec.get("unique", {}).items()]
    found += [_foreign_key(key, reference) for key, reference in spec.get("foreign_keys", {}).items()]
    return found


def _foreign_key(name: str, reference: Mapping[str, Any]) -> sa.ForeignKeyConstraint:
    """`foreign_keys.<name> = { columns = [...], references = "table", target = [...] }`: always
    ON DELETE CASCADE (since 0006_control_plane; earlier revisions have no foreign keys)."""
    table = reference["references"]
    return sa.ForeignKeyConstraint(list(reference["columns"]), [f"{table}.{column}" for column in reference["target"]],
                                   name=name, ondelete="CASCADE")


def _create_table(name: str, spec: Mapping[str, Any]) -> None:
    notation = spec["columns"]
    if spec.get("aggregate", True):
        scope = spec.get("scope")
        leading = "id uuid" + ("" if scope is None else f", {scope} uuid")
        notation = f"{leading}, {notation}, created_at timestamp, updated_at timestamp, version int"
    # `unlogged = true` (added for 0005_caching; absent from earlier revisions, whose DDL is unchanged):
    # PostgreSQL skips the write-ahead log for the table; SQLite has no such thing.
    unlogged = spec.get("unlogged", False) and op.get_bind().dialect.name == "postgresql"
    op.create_table(name, *columns(notation), *_constraints(name, spec), prefixes=["UNLOGGED"] if unlogged else [])
    for index, keys in spec.get("indexes", {}).items():
        op.create_index(index, name, list(keys))
    for index, partial in spec.get("partial_unique", {}).items():
        predicate = sa.text(partial["where"])
        op.create_index(index, name, list(partial["keys"]), unique=True, sqlite_where=predicate,
                        postgresql_where=predicate)


def revision_tables(script: str) -> dict[str, Any]:
    """The tables of the revision whose script is `script` (its `__file__`), in their order."""
    with Path(script).with_suffix(".toml").open("rb") as source:
        tables: dict[str, Any] = tomllib.load(source)["tables"]
    return tables


def create_tables(script: str) -> None:
    for name, spec in revision_tables(script).items():
        _create_table(name, spec)


def drop_tables(script: str) -> None:
    """Dropping a table drops its indexes and constraints with it; the last created goes first."""
    for name in reversed(list(revision_tables(script))):
        op.drop_table(name)


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


def create_ordered_indexes(script: str) -> None:
    """The revision's `[ordered_indexes.<name>]`: an index whose columns may be descending
    (`"priority DESC"`), with an optional `where` predicate on both dialects."""
    with Path(script).with_suffix(".toml").open("rb") as source:
        indexes: dict[str, Any] = tomllib.load(source).get("ordered_indexes", {})
    for index, spec in indexes.items():
        keys = [sa.text(key) if " " in key else key for key in spec["keys"]]
        where = spec.get("where")
        predicate = None if where is None else sa.text(where)
        op.create_index(index, spec["table"], keys, sqlite_where=predicate, postgresql_where=predicate)
