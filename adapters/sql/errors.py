"""Driver errors become Portside errors at the adapter's edge; nothing of SQLAlchemy leaks out."""

from __future__ import annotations

from types import TracebackType

from sqlalchemy import exc

from domain.shared.errors import (
    Conflict,
    PortsideError,
    StorageError,
    StorageUnavailable,
    Unsupported,
    ValidationError,
)

# SQLSTATEs that mean "try again": serialization failure, deadlock, lock timeout, cancelled,
# connection failures, admin shutdown.
_TRANSIENT_SQLSTATES = {"40001", "40P01", "55P03", "57014", "57P01", "57P02", "57P03"}


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
        return StorageUnavailable(f"connection pool exhausted: {error}")
    if isinstance(error, exc.DBAPIError):
        if _sqlstate(error) == "0A000":  # feature_not_supported: an append-only table's trigger
            return Unsupported(f"{entity}: {_first_line(error)}")
        if _looks_like_missing_schema(error):
            return StorageError(f"{_first_line(error)}: run `portside init` to create the schema")
        state = _sqlstate(error)
        if error.connection_invalidated or isinstance(error, exc.OperationalError) or (
            state is not None and (state in _TRANSIENT_SQLSTATES or state.startswith("08"))
        ):
            return StorageUnavailable(_first_line(error))
    return StorageError(f"{entity}: {_first_line(error)}")


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
