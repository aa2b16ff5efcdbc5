"""Driver errors become Portside errors; nothing of SQLAlchemy leaks out."""

from __future__ import annotations

import pytest
from sqlalchemy import exc

from adapters.rules.tenancy import tenancy_units
from adapters.sql.backend import SqlBackend
from adapters.sql.database import SqlDatabase
from adapters.sql.errors import translate
from domain.shared.errors import (
    Conflict,
    ConnectionLost,
    StorageError,
    StorageTimeout,
    StorageUnavailable,
    Unsupported,
    ValidationError,
)


class _DriverError(Exception):
    def __init__(self, message: str, pgcode: str | None = None) -> None:
        super().__init__(message)
        self.pgcode = pgcode


def _wrap(cls: type[exc.DBAPIError], message: str, pgcode: str | None = None) -> exc.DBAPIError:
    return cls("SELECT 1", None, _DriverError(message, pgcode))


def test_translation_table() -> None:
    assert isinstance(translate(_wrap(exc.IntegrityError, "duplicate key", "23505"), "Tenant"), Conflict)
    assert isinstance(translate(_wrap(exc.DataError, "invalid input", "22P02"), "Tenant"), ValidationError)
    assert isinstance(translate(_wrap(exc.OperationalError, "server closed the connection"), "T"), ConnectionLost)
    assert isinstance(translate(_wrap(exc.OperationalError, "database is locked"), "T"), StorageTimeout)
    assert isinstance(translate(_wrap(exc.DBAPIError, "could not serialize", "40001"), "T"), StorageUnavailable)
    assert isinstance(translate(_wrap(exc.DBAPIError, "deadlock detected", "40P01"), "T"), StorageUnavailable)
    assert isinstance(translate(exc.TimeoutError("QueuePool limit"), "T"), StorageTimeout)
    missing = translate(_wrap(exc.ProgrammingError, 'relation "tenants" does not exist', "42P01"), "T")
    assert type(missing) is StorageError and "portside init" in str(missing)
    sqlite_missing = translate(_wrap(exc.OperationalError, "no such table: tenants"), "T")
    assert type(sqlite_missing) is StorageError


def test_a_missing_schema_on_sqlite_says_what_to_do() -> None:
    database = SqlDatabase.from_url("sqlite://")
    try:
        factory = tenancy_units(SqlBackend(database))
        with pytest.raises(StorageError, match="portside init") as raised, factory.system() as uow:
            uow.tenants.count()
        assert not isinstance(raised.value.__cause__, StorageError)  # the driver error is kept as the cause
        assert isinstance(raised.value.__cause__, exc.SQLAlchemyError)
    finally:
        database.dispose()


def test_an_append_only_refusal_is_unsupported() -> None:
    refused = translate(_wrap(exc.NotSupportedError, "UPDATE on events is refused", "0A000"), "Event")
    assert isinstance(refused, Unsupported) and "append-only" not in str(type(refused))


@pytest.mark.parametrize(("sqlstate", "expected"), [
    ("40001", StorageUnavailable), ("40P01", StorageUnavailable), ("57014", StorageTimeout),
    ("55P03", StorageTimeout), ("57P01", ConnectionLost), ("08006", ConnectionLost),
    ("0A000", Unsupported), ("42P01", StorageError),
])
def test_psycopg_3_errors_carry_their_sqlstate_under_its_own_name(sqlstate: str, expected: type[Exception]) -> None:
    """psycopg 3 names the SQLSTATE `sqlstate` (psycopg2: `pgcode`); the translation reads either."""
    import psycopg

    driver_error = psycopg.errors.lookup(sqlstate)("refused")
    assert driver_error.sqlstate == sqlstate and not hasattr(driver_error, "pgcode")
    assert type(translate(exc.DBAPIError("SELECT 1", None, driver_error), "T")) is expected
