"""Migrations as operators run them: `portside db ...` on SQLite and PostgreSQL (as the owner, with
the application role's grants), and an application's own Alembic environment bringing up its
revisions and Portside's with one `upgrade heads`."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from adapters.sql import migrate
from application.cli import main
from tests.conftest import on_driver
from tests.servers import PostgresServer


@pytest.fixture(params=["sqlite", "postgres", "psycopg"])
def database(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """An empty database; the settings point the CLI at it (owner URL apart on PostgreSQL, through
    psycopg2 for `postgres`, psycopg 3 for `psycopg`)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'ops.db'}"
        monkeypatch.setenv("PORTSIDE_DATABASE_URL", url)
        return url
    server: PostgresServer = request.getfixturevalue("postgres_server")
    admin_url, app_url = server.create_database(f"ops_{tmp_path.name[-12:].replace('-', '_').lower()}")
    if request.param == "psycopg":
        admin_url, app_url = on_driver(admin_url, "psycopg"), on_driver(app_url, "psycopg")
    monkeypatch.setenv("PORTSIDE_DATABASE_URL", app_url)
    monkeypatch.setenv("PORTSIDE_DATABASE_MIGRATION_URL", admin_url)
    monkeypatch.setenv("PORTSIDE_DATABASE_APP_ROLE", "portside_app")
    return app_url


def test_db_commands(database: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["db", "current"]) == 0
    assert "<base>" in capsys.readouterr().out
    assert main(["db", "upgrade", "0002_reliability"]) == 0
    assert main(["db", "check"]) == 1  # the processing tables are missing
    assert "differs: add_table processor_executions" in capsys.readouterr().out
    assert main(["db", "upgrade"]) == 0
    assert main(["db", "check"]) == 0
    assert main(["db", "current"]) == 0
    assert f"{migrate.head_revision()} (head" in capsys.readouterr().out
    assert main(["db", "downgrade", "-1"]) == 0
    # One step back from the head, whichever revision is newest as contexts are added.
    before_head = next(item.down_revision for item in migrate.history() if item.revision == migrate.head_revision())
    assert f"at revision {before_head}" in capsys.readouterr().out
    assert main(["db", "downgrade", "no-such-revision"]) == 2
    assert "revision" in capsys.readouterr().err
    assert main(["db", "history"]) == 0
    history = capsys.readouterr().out
    assert "<base> -> 0001_tenants" in history and "0002_reliability -> 0003_processing" in history
    assert main(["db", "upgrade", "head"]) == 0
    if database.startswith("postgresql"):  # the application role was granted its privileges again
        engine = sa.create_engine(database)
        with engine.connect() as connection:
            assert connection.execute(sa.text("SELECT count(*) FROM processor_executions")).scalar_one() == 0
        engine.dispose()


APP_ENV = '''
from alembic import context
import sqlalchemy as sa

from adapters.sql.engine import create_engine

config = context.config
engine = create_engine(config.get_main_option("sqlalchemy.url"))
with engine.connect() as connection:
    context.configure(connection=connection, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()
engine.dispose()
'''

APP_REVISION = '''
"""The application's own table."""
import sqlalchemy as sa
from alembic import op

revision = "app_0001"
down_revision = None
branch_labels = ("lender",)
depends_on = "0001_tenants"  # its rows name tenants


def upgrade() -> None:
    op.create_table("loan_applications", sa.Column("id", sa.Uuid(), primary_key=True),
                    sa.Column("tenant_id", sa.Uuid(), nullable=False))


def downgrade() -> None:
    op.drop_table("loan_applications")
'''


def test_an_applications_alembic_environment_brings_portside_up_too(database: str, tmp_path: Path) -> None:
    """The recipe of docs/operations.md: Portside's versions folder in `version_locations`."""
    owner = database
    if database.startswith("postgresql"):
        import os

        owner = os.environ["PORTSIDE_DATABASE_MIGRATION_URL"]
    app = tmp_path / "app_migrations"
    (app / "versions").mkdir(parents=True)
    (app / "env.py").write_text(textwrap.dedent(APP_ENV))
    (app / "versions" / "app_0001.py").write_text(textwrap.dedent(APP_REVISION))
    config = Config()
    config.set_main_option("script_location", str(app))
    config.set_main_option("version_locations", f"{app / 'versions'} {migrate.VERSIONS}")
    config.set_main_option("path_separator", "space")
    config.set_main_option("sqlalchemy.url", owner)
    command.upgrade(config, "heads")
    engine = sa.create_engine(owner)
    with engine.connect() as connection:
        versions = set(connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalars())
        tables = set(sa.inspect(connection).get_table_names())
    engine.dispose()
    assert versions == {"app_0001", migrate.head_revision()}
    assert {"loan_applications", "tenants", "processor_executions"} <= tables
    assert migrate.check(owner) == []  # Portside's tables are as its code expects
