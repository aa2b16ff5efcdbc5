"""One error hierarchy, raised identically by every adapter.

Callers catch these and never a driver's exceptions: adapters translate SQLAlchemy, psycopg2,
redis and google errors into them, the way PEP 249 gives every driver the same names.
"""

from __future__ import annotations

from typing import Any


class PortsideError(Exception):
    """Base of every error Portside raises on purpose."""


class NotFound(PortsideError):  # noqa: N818 - the design guide names it so
    """The record does not exist, or belongs to another tenant (which is the same thing)."""

    def __init__(self, entity: str, key: Any) -> None:
        super().__init__(f"{entity} {key!s} not found")
        self.entity = entity
        self.key = key


class Conflict(PortsideError):  # noqa: N818
    """A unique key is already taken."""

    def __init__(self, entity: str, detail: str) -> None:
        super().__init__(f"{entity}: {detail}")
        self.entity = entity
        self.detail = detail


class ConcurrencyConflict(Conflict):
    """The record changed since it was read: its version is stale."""

    def __init__(self, entity: str, key: Any, expected_version: int) -> None:
        super().__init__(entity, f"{key!s} is no longer at version {expected_version}")
        self.key = key
        self.expected_version = expected_version


class InvalidTransition(PortsideError):  # noqa: N818
    """A lifecycle move the transition table does not allow."""

    def __init__(self, entity: str, from_state: str, to_state: str) -> None:
        super().__init__(f"{entity} cannot move from {from_state!r} to {to_state!r}")
        self.entity = entity
        self.from_state = from_state
        self.to_state = to_state


class ValidationError(PortsideError, ValueError):
    """Bad input. Names the offending field; nothing was written."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class TenantScopeRequired(PortsideError):  # noqa: N818
    """Tenant-scoped data was reached without a tenant, or across two tenants."""


class Unsupported(PortsideError):  # noqa: N818
    """The adapter cannot do this operation; it says so instead of returning nothing."""


class StorageError(PortsideError):
    """The storage failed in a way that retrying will not fix (a schema missing, a bad query)."""


class StorageUnavailable(StorageError):  # noqa: N818
    """A transient storage failure (connection lost, timeout, serialization). Safe to retry."""


class ConnectionLost(StorageUnavailable):
    """The storage could not be reached, or the connection to it broke (refused, reset, shut down)."""


class StorageTimeout(StorageUnavailable):
    """A wait ran past its limit: a statement's timeout, a lock wait, the pool's wait for a connection."""


class UnitOfWorkInactive(PortsideError):  # noqa: N818
    """A repository was used outside its unit of work's `with` block."""


class UnitOfWorkNotOwned(PortsideError):  # noqa: N818
    """A unit of work, or a repository of one, was used from a thread or task other than the one that
    entered it while it was active. Nothing was read or written: a unit of work is one transaction on
    one connection, which two threads cannot share."""


class CommitOutcomeUnknown(StorageUnavailable):
    """The connection died during COMMIT: the work may have landed or not, and nobody can say which.
    Retrying is safe only for idempotent work: read back what the work wrote (by its id or key)
    before doing it again. The use cases that Portside documents as idempotent do that themselves."""


# The names the specifications' examples catch, for code written from them:
# `except NotFoundError`, `except DatabaseConnectionError`...
RepositoryError = PortsideError
"""Spec 004: any error of the repository layer."""
NotFoundError = NotFound
"""Spec 004 (`get_by_id_or_raise`)."""
RecordNotFoundError = NotFound
"""Spec 000."""
ConflictError = Conflict
"""Spec 004: a constraint refused the write."""
DatabaseConnectionError = ConnectionLost
"""Spec 000: retry, or fail gracefully."""
DatabaseTimeoutError = StorageTimeout
"""Spec 000: retry with backoff."""
