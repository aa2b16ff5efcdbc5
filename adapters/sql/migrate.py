"""Schema management through Alembic, callable from code (the CLI, tests, services)."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from adapters.sql.engine import create_engine
from adapters.sql.errors import translated

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(connection: sa.Connection | None = None, url: str | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if url is not None:
        config.set_main_option("sqlalchemy.url", url)
    if connection is not None:
        config.attributes["connection"] = connection
    return config


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
        with translated("schema"), engine.begin() as connection:
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
        with translated("schema"), engine.begin() as connection:
            command.downgrade(alembic_config(connection), revision)
    finally:
        engine.dispose()
