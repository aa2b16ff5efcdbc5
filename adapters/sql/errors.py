"""Driver errors become Portside errors at the adapter's edge; nothing of SQLAlchemy leaks out."""

from __future__ import annotations

from types import TracebackType

from sqlalchemy import exc

from domain.shared.errors import (
    Conflict,
    ConnectionLost,
    PortsideError,
    StorageError,
    StorageTimeout,
    StorageUnavailable,
    Unsupported,
    ValidationError,
)

# SQLSTATEs that mean "try again": serialization failure and deadlock; a wait past its limit (lock
# timeout, statement timeout); a connection lost (admin or crash shutdown, cannot connect now, and
# the 08 class).
# Serialization failure and deadlock; and invalid_sql_statement_name: a prepared statement that a
# pooler's reset or a DEALLOCATE dropped, prepared again on the next try (job_acknowledgement.py).
_TRANSIENT_SQLSTATES = {"40001", "40P01", "26000"}
_TIMEOUT_SQLSTATES = {"55P03", "57014"}
_CONNECTION_SQLSTATES = {"57P01", "57P02", "57P03"}


def sqlstate(driver_error: BaseException | None) -> str | None:
    """The SQLSTATE of a PostgreSQL driver error: psycopg 3 names it `sqlstate`, psycopg2 `pgcode`."""
    return getattr(driver_error, "sqlstate", None) or getattr(driver_error, "pgcode", None)


def _sqlstate(error: exc.DBAPIError) -> str | None:
    return sqlstate(error.orig)


def translate(error: exc.SQLAlchemyError, entity: str) -> PortsideError:
    if isinstance(error, exc.IntegrityError):
        return Conflict(entity, f"a unique or referential constraint refused the write ({_first_line(error)})")
    if isinstance(error, exc.DataError):
        return ValidationError("input", _first_line(error))
    if isinstance(error, exc.TimeoutError):  # the pool had no connection to give in time
        return StorageTimeout(f"connection pool exhausted: {error}")
    if isinstance(error, exc.DBAPIError):
        if _sqlstate(error) == "0A000":  # feature_not_supported: an append-only table's trigger
            return Unsupported(f"{entity}: {_first_line(error)}")
        if _looks_like_missing_schema(error):
            return StorageError(f"{_first_line(error)}: run `portside init` to create the schema")
        state = _sqlstate(error)
        if state in _TIMEOUT_SQLSTATES or (state is None and _says_locked(error)):
            return StorageTimeout(_first_line(error))
        if state in _TRANSIENT_SQLSTATES:
            return StorageUnavailable(_first_line(error))
        if error.connection_invalidated or isinstance(error, exc.OperationalError) or (
            state is not None and (state in _CONNECTION_SQLSTATES or state.startswith("08"))
        ):
            return ConnectionLost(_first_line(error))
    return StorageError(f"{entity}: {_first_line(error)}")


def _says_locked(error: exc.DBAPIError) -> bool:
    """SQLite's busy timeout ran out ("database is locked"): it has no SQLSTATE."""
    return "database is locked" in str(error.orig)


def _looks_like_missing_schema(error: exc.DBAPIError) -> bool:
    message = str(error.orig)
    return "no such table" in message or _sqlstate(error) in {"42P01", "42703"}


def _first_line(error: exc.SQLAlchemyError) -> str:
    original = getattr(error, "orig", None) or error
    return str(original).strip().splitlines()[0] if str(original).strip() else type(error).__name__


class translated:  # noqa: N801 - used like a function: `with translated("tenant"):`
    """SQLAlchemy's errors raised inside the block become Portside's (`translate`). A class, not a
    `@contextmanager`: every store operation and every unit of work enters one, and the generator
    machinery cost ten times as much as the block it guards."""

    __slots__ = ("_entity",)

    def __init__(self, entity: str) -> None:
        self._entity = entity

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        if isinstance(error, exc.SQLAlchemyError):
            raise translate(error, self._entity) from error
