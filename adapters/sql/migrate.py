"""Schema management through Alembic, callable from code (the CLI, tests, services)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from adapters.sql.engine import create_engine
from adapters.sql.errors import translated
from domain.shared.errors import ValidationError

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(connection: sa.Connection | None = None, url: str | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if url is not None:
        config.set_main_option("sqlalchemy.url", url)
    if connection is not None:
        config.attributes["connection"] = connection
    return config


@contextmanager
def _revision_named(revision: str) -> Iterator[None]:
    """Alembic's refusal of a revision it does not know becomes ours, naming the argument."""
    from alembic.util.exc import CommandError

    try:
        yield
    except CommandError as error:
        raise ValidationError("revision", f"{revision!r}: {error}") from None


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(url: str) -> str | None:
    engine = create_engine(url)
    try:
        with translated("schema"), engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()


def upgrade(url: str, revision: str = "head", grant_to: str | None = None) -> str | None:
    """Bring the schema to `revision`; on PostgreSQL optionally grant the application role its
    table privileges (the application should not own the tables, or row-level security would
    not bind it). Returns the revision now in place."""
    engine = create_engine(url)
    try:
        with translated("schema"), engine.begin() as connection, _revision_named(revision):
            command.upgrade(alembic_config(connection), revision)
            if grant_to is not None and connection.dialect.name == "postgresql":
                role = sa.sql.quoted_name(grant_to, quote=True)
                preparer = connection.dialect.identifier_preparer
                quoted = preparer.quote(role)
                connection.exec_driver_sql(f"GRANT USAGE ON SCHEMA public TO {quoted}")
                connection.exec_driver_sql(
                    f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {quoted}"
                )
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()


def downgrade(url: str, revision: str) -> None:
    engine = create_engine(url)
    try:
        with translated("schema"), engine.begin() as connection, _revision_named(revision):
            command.downgrade(alembic_config(connection), revision)
    finally:
        engine.dispose()


@dataclass(frozen=True, slots=True)
class Revision:
    revision: str
    down_revision: str | None
    doc: str
    """The first sentence of the revision's docstring."""


VERSIONS = MIGRATIONS / "versions"
"""Where Portside's revisions live: an application's own Alembic environment adds this folder to
its `version_locations` (Portside's revisions carry the branch label `portside`)."""


def history() -> list[Revision]:
    """Every revision, oldest first."""
    script = ScriptDirectory.from_config(alembic_config())
    found = [
        Revision(item.revision, item.down_revision if isinstance(item.down_revision, str | None) else None,
                 " ".join((item.doc or "").split()).split(". ")[0].removesuffix("."))
        for item in script.walk_revisions()
    ]
    return list(reversed(found))


def check(url: str) -> list[str]:
    """What differs between the database's schema and the tables the code uses ([]: they match).
    An application's own tables beside Portside's are not Portside's business: they are left out."""
    from alembic.autogenerate import compare_metadata

    from adapters.sql import tables

    engine = create_engine(url)
    try:
        with translated("schema"), engine.connect() as connection:
            ours = set(tables.metadata.tables)

            def portside_only(item: object, name: str | None, kind: str, reflected: bool, compare_to: object) -> bool:
                table = name if kind == "table" else getattr(getattr(item, "table", None), "name", None)
                return table is None or table in ours

            context = MigrationContext.configure(connection, opts={"include_object": portside_only})
            differences = compare_metadata(context, tables.metadata)
    finally:
        engine.dispose()
    return [_described(difference) for difference in differences]


def _described(difference: object) -> str:
    if isinstance(difference, tuple) and difference:
        kind = str(difference[0])
        subject = next((getattr(part, "name", None) for part in difference[1:] if getattr(part, "name", None)), "")
        return f"{kind} {subject}".strip()
    return str(difference)
