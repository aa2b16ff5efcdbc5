"""Database reachability and schema state, for `portside doctor`."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.runtime.migration import MigrationContext
from sqlalchemy import exc

from adapters.sql.database import SqlDatabase
from adapters.sql.migrate import head_revision
from ports.health import HealthReport


def check_database(database: SqlDatabase) -> HealthReport:
    url = database.engine.url.render_as_string(hide_password=True)
    try:
        with database.engine.connect() as connection:
            version = connection.execute(
                sa.text("SELECT version()" if database.dialect == "postgresql" else "SELECT sqlite_version()")
            ).scalar_one()
            revision = MigrationContext.configure(connection).get_current_revision()
    except exc.SQLAlchemyError as error:
        return HealthReport(database.dialect, url, False, str(getattr(error, "orig", error)).strip())
    head = head_revision()
    schema = "schema up to date" if revision == head else f"schema at {revision}, head is {head}: run `portside init`"
    return HealthReport(database.dialect, url, True, f"{str(version).split(',')[0]}; {schema}")
