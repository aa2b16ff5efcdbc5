"""Alembic owns the schema: migrations match the tables the code uses, on both dialects, and
downgrade cleanly."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from adapters.sql import migrate
from adapters.sql import tables as _tables  # noqa: F401  (fills the metadata)
from adapters.sql.metadata import metadata
from tests.conftest import on_driver
from tests.servers import PostgresServer


@pytest.fixture(params=["sqlite", "postgres", "psycopg"])
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """`postgres` migrates through psycopg2, `psycopg` through psycopg 3."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'migrations.db'}"
    server: PostgresServer = request.getfixturevalue("postgres_server")
    admin_url, _ = server.create_database(f"migrations_{tmp_path.name[-12:].replace('-', '_').lower()}")
    return admin_url if request.param == "postgres" else on_driver(admin_url, "psycopg")


def _differences(url: str) -> list[object]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            return list(compare_metadata(MigrationContext.configure(connection), metadata))
    finally:
        engine.dispose()


def test_upgrade_matches_the_code_and_downgrade_undoes_it(empty_database_url: str) -> None:
    assert migrate.upgrade(empty_database_url) == migrate.head_revision()
    assert _differences(empty_database_url) == []
    migrate.downgrade(empty_database_url, "base")
    engine = sa.create_engine(empty_database_url)
    with engine.connect() as connection:
        assert "tenants" not in sa.inspect(connection).get_table_names()
    engine.dispose()
    assert migrate.upgrade(empty_database_url) == migrate.head_revision()
