"""A client-side deadline on every PostgreSQL round trip, for a server that stops answering.

The statement timeout is the server's own: a frozen server (SIGSTOP, a hung host whose kernel still
acknowledges the data) never gets to enforce it, and TCP keepalives are answered by that kernel. So
each connection Portside opens (psycopg2's or psycopg 3's: both wait on libpq's socket) records when a
round trip started, and one watch thread shuts the socket of a connection whose round trip has
outlived its deadline. libpq then sees the connection closed, the driver raises `OperationalError`,
SQLAlchemy invalidates the pooled connection,
and the caller gets `StorageUnavailable` (or `CommitOutcomeUnknown` when it was the COMMIT).

Marking a round trip costs two attribute writes; the watch wakes a few times a second and looks at
the connections that are busy. Connections are held weakly: a closed or collected connection drops
out of the watch by itself.
"""

from __future__ import annotations

import functools
import logging
import math
import os
import socket
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Protocol, cast

log = logging.getLogger("portside.sql")

WATCH_INTERVAL_SECONDS = 0.25


def answer_deadline_seconds(statement_timeout_ms: int) -> float:
    """How long a round trip may wait for the server's answer: the server's own statement timeout
    plus time for the server to cancel and say so (half the timeout, at least one second); without
    a timeout, for ever."""
    if statement_timeout_ms <= 0:
        return math.inf
    timeout = statement_timeout_ms / 1000
    return timeout + max(1.0, timeout / 2)


class _Watch:
    """One thread for the process; it only looks at connections that are inside a round trip."""

    def __init__(self) -> None:
        self._connections: weakref.WeakSet[Watched] = weakref.WeakSet()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def add(self, connection: Watched) -> None:
        with self._lock:
            self._connections.add(connection)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="portside-sql-deadline", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            time.sleep(WATCH_INTERVAL_SECONDS)
            with self._lock:
                connections = list(self._connections)
            now = time.monotonic()
            for connection in connections:
                started = connection.round_trip_started
                if started is not None and now - started > connection.answer_deadline:
                    connection.abandon(started)


class Watched(Protocol):
    round_trip_started: float | None
    answer_deadline: float

    def abandon(self, started: float) -> None: ...


_watch = _Watch()


class _RoundTrip:
    """Marks its connection busy from `__enter__` to `__exit__`; reused, so marking allocates nothing."""

    __slots__ = ("_connection",)

    def __init__(self, connection: Watched) -> None:
        self._connection = connection

    def __enter__(self) -> None:
        self._connection.round_trip_started = time.monotonic()

    def __exit__(self, *_: object) -> None:
        self._connection.round_trip_started = None


class _Bounded:
    """What a deadline connection of either driver adds to the driver's class: it marks its round
    trips (statements through its cursors, COMMIT, ROLLBACK) and is shut by the watch when one
    outlives `answer_deadline`. The drivers' own classes come after it in the bases, so `super()`
    is the driver's."""

    answer_deadline: float = 0.0  # set on the subclass `deadline_connector` makes
    round_trip_started: float | None
    _round_trip: _RoundTrip
    closed: Any

    def _watched(self) -> None:
        self.round_trip_started = None
        self._round_trip = _RoundTrip(self)
        if self.answer_deadline != math.inf:
            _watch.add(self)

    def round_trip(self) -> _RoundTrip:
        return self._round_trip

    def commit(self) -> None:
        with self._round_trip:
            super().commit()  # type: ignore[misc]

    def rollback(self) -> None:
        with self._round_trip:
            super().rollback()  # type: ignore[misc]

    def fileno(self) -> int:
        return int(super().fileno())  # type: ignore[misc]

    def abandon(self, started: float) -> None:
        """Shut the socket under a round trip that has waited past its deadline; the driver's wait
        returns at once with the connection closed (libpq marks it bad, so SQLAlchemy sees a
        disconnect on either driver)."""
        if self.round_trip_started != started or self.closed:
            return  # it answered in the meantime
        log.warning("PostgreSQL gave no answer within %.1f s; closing the connection", self.answer_deadline)
        try:
            duplicate = socket.socket(fileno=os.dup(self.fileno()))
        except OSError:
            return
        try:
            duplicate.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        finally:
            duplicate.close()


PQTRANS_IDLE = 0
"""libpq's transaction status with no transaction open (`connection.info.transaction_status` on
both drivers): nothing was sent since the last transaction ended."""


@functools.cache
def _psycopg2_connection() -> type[Any]:
    """The psycopg2 subclasses, made on first use: psycopg2 is the `postgres` extra, and an
    install without it never imports it. They also hold back a unit of work's BEGIN until its first
    statement (`adapters/sql/deferred_begin.py`)."""
    import psycopg2.extensions

    from adapters.sql.deferred_begin import DeferredBeginConnection, DeferredBeginCursor

    class DeadlineCursor(DeferredBeginCursor, psycopg2.extensions.cursor):  # type: ignore[misc]
        """Every statement a cursor sends is a round trip of its connection."""

    class DeadlineConnection(DeferredBeginConnection, _Bounded, psycopg2.extensions.connection):  # type: ignore[misc]
        """A psycopg2 connection whose round trips the watch bounds."""

        def __init__(self, dsn: str, *args: Any, **kwargs: Any) -> None:
            super().__init__(dsn, *args, **kwargs)
            self.cursor_factory = DeadlineCursor
            self._deferring()
            self._watched()

    return DeadlineConnection


@functools.cache
def _psycopg_connection() -> type[Any]:
    """The psycopg 3 subclasses, made on first use as psycopg2's are."""
    import psycopg

    class DeadlineCursor(psycopg.Cursor[Any]):
        """Every statement a cursor sends, and every COPY, is a round trip of its connection."""

        def execute(self, *args: Any, **kwargs: Any) -> Any:
            with cast(_Bounded, self.connection).round_trip():
                return super().execute(*args, **kwargs)

        def executemany(self, *args: Any, **kwargs: Any) -> None:
            with cast(_Bounded, self.connection).round_trip():
                super().executemany(*args, **kwargs)

        @contextmanager
        def copy(self, *args: Any, **kwargs: Any) -> Iterator[Any]:
            # The whole COPY block: the rows are written, and the server's answer awaited, inside it.
            with cast(_Bounded, self.connection).round_trip(), super().copy(*args, **kwargs) as copy:
                yield copy

    class DeadlineRawCursor(psycopg.RawCursor[Any], DeadlineCursor):
        """The raw cursor (`$1` placeholders) of `driver.values_cursor`, bounded alike."""

    class DeadlineConnection(_Bounded, psycopg.Connection[Any]):
        """A psycopg 3 connection whose round trips the watch bounds."""

        raw_cursor_factory = DeadlineRawCursor

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.cursor_factory = DeadlineCursor
            self._watched()

    return DeadlineConnection


DoConnect = Callable[[Any, Any, list[Any], dict[str, Any]], Any]
"""A `do_connect` event handler: `(dialect, connection record, args, keyword args)` -> a DBAPI connection."""


def deadline_connector(driver: str, statement_timeout_ms: int) -> DoConnect:
    """The engine's `do_connect` handler for `driver` (`psycopg2` or `psycopg`): it opens the
    driver's connection as a deadline connection at this timeout. psycopg2 takes the class as
    `connection_factory`; psycopg 3 has no such argument, its `connect` is a class method of the
    class to make."""
    base = _psycopg2_connection() if driver == "psycopg2" else _psycopg_connection()
    deadline = answer_deadline_seconds(statement_timeout_ms)
    bounded: Any = type("DeadlineConnection", (base,), {"answer_deadline": deadline})
    if driver == "psycopg2":
        import psycopg2

        def connect_psycopg2(_dialect: Any, _record: Any, args: list[Any], options: dict[str, Any]) -> Any:
            return psycopg2.connect(*args, connection_factory=bounded, **options)

        return connect_psycopg2

    def connect_psycopg(_dialect: Any, _record: Any, args: list[Any], options: dict[str, Any]) -> Any:
        return bounded.connect(*args, **options)

    return connect_psycopg
