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
BEGIN_FIRST = "BEGIN; "
"""How a deferred BEGIN starts (explicit_begin.begin_bound): what follows it is the scope binding."""


@functools.cache
def _psycopg2_connection() -> type[Any]:
    """The psycopg2 subclasses, made on first use: psycopg2 is the `postgres` extra, and an
    install without it never imports it."""
    import psycopg2.extensions
    import psycopg2.sql

    class DeadlineCursor(psycopg2.extensions.cursor):  # type: ignore[misc]
        """Every statement a cursor sends is a round trip of its connection. A BEGIN the unit of
        work deferred (`DeadlineConnection.pending_begin`) goes in front of the first statement,
        in the same query string: psycopg2 sends a statement and its parameters as one simple
        query, so the server runs both in that one round trip and answers with the statement's
        result (explicit_begin.py)."""

        connection: Any

        def execute(self, query: Any, vars: Any = None) -> None:
            connection = self.connection
            pending = connection.pending_begin
            if pending is None:
                with connection.round_trip():
                    super().execute(query, vars)
                return
            connection.pending_begin = None
            try:
                self._send_after(pending, query, vars)
            except BaseException:
                connection.keep_pending_if_unsent(pending)
                raise

        def execute_whole(self, query: Any, vars: Any = None) -> None:
            """`query`, a statement complete in itself. While the unit of work lets it commit
            alone (`commits_alone`, explicit_begin.committing_alone) and has sent nothing yet,
            it goes with the scope binding and no BEGIN: the server runs both as one transaction
            and commits it before it answers. The BEGIN stays pending, so whatever follows
            begins a transaction of its own. Otherwise it is `execute`."""
            connection = self.connection
            pending = connection.pending_begin
            if pending is None or not connection.commits_alone or not pending.startswith(BEGIN_FIRST):
                self.execute(query, vars)
                return
            connection.pending_begin = None
            try:
                self._send_after(pending.removeprefix(BEGIN_FIRST), query, vars)
            finally:  # sent or not, committed or rolled back: no transaction is open now
                connection.pending_begin = pending

        def _send_after(self, first: str, query: Any, vars: Any) -> None:
            """`first`, then `query`, in one query string: one round trip, the server answering
            with the query's result."""
            if isinstance(query, psycopg2.sql.Composable):
                query = query.as_string(self)
            joined = (first.encode() + b"; " + query) if isinstance(query, bytes) else f"{first}; {query}"
            with self.connection.round_trip():
                super().execute(joined, vars)

        def executemany(self, query: Any, vars_list: Any) -> None:
            self.connection.send_pending_begin()
            with self.connection.round_trip():
                super().executemany(query, vars_list)

        def copy_expert(self, sql: Any, file: Any, size: int = 8192) -> None:
            self.connection.send_pending_begin()
            with self.connection.round_trip():
                super().copy_expert(sql, file, size)

        def callproc(self, procname: Any, parameters: Any = None) -> Any:
            self.connection.send_pending_begin()
            with self.connection.round_trip():
                return super().callproc(procname, parameters)

    class DeadlineConnection(_Bounded, psycopg2.extensions.connection):  # type: ignore[misc]
        """A psycopg2 connection whose round trips the watch bounds, and which can hold back a
        unit of work's BEGIN until its first statement (`pending_begin`)."""

        pending_begin: str | None
        commits_alone: bool
        """Set while a unit of work lets a statement complete in itself commit on its own."""

        def __init__(self, dsn: str, *args: Any, **kwargs: Any) -> None:
            super().__init__(dsn, *args, **kwargs)
            self.cursor_factory = DeadlineCursor
            self.pending_begin = None
            self.commits_alone = False
            self._watched()

        def rollback(self) -> None:
            # The pool's reset when the connection comes back: a BEGIN still pending (a unit of
            # work that ended by a way that never reached `explicit_begin.release`) must not ride
            # on the next borrower's first statement with this one's scope.
            self.pending_begin = None
            self.commits_alone = False
            super().rollback()

        def send_pending_begin(self) -> None:
            """The deferred BEGIN on its own, before a statement that cannot carry it."""
            pending = self.pending_begin
            if pending is None:
                return
            self.pending_begin = None
            try:
                with self.cursor() as cursor, self.round_trip():
                    psycopg2.extensions.cursor.execute(cursor, pending)
            except BaseException:
                self.keep_pending_if_unsent(pending)
                raise

        def keep_pending_if_unsent(self, pending: str) -> None:
            """After a failed send: when nothing reached the server (the parameters did not fit
            the statement, say), the BEGIN is still to come, or the unit of work's next statement
            would run outside any transaction."""
            if not self.closed and self.info.transaction_status == PQTRANS_IDLE:
                self.pending_begin = pending

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
