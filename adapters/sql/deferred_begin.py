"""A unit of work's BEGIN held back until its first statement, on psycopg2 (explicit_begin.py).

The unit of work leaves `BEGIN; <scope binding>` with the connection (`pending_begin`), and the
cursor sends it in front of the first statement, in the same query string: psycopg2 sends a
statement and its parameters as one simple query, so the server runs both in that one round trip
and answers with the statement's result. Statements that cannot carry it (COPY, `executemany`,
`callproc`) send it first on its own. If psycopg2 refuses a statement before sending it, the BEGIN
is still to come.

`execute_whole` goes one step further for a statement complete in itself, while the unit of work
lets it (`commits_alone`, `UnitOfWork.commit_with`): the binding and the statement go without the
BEGIN, and the server runs them as one implicit transaction that it commits before it answers.

The two classes are mixins of psycopg2's cursor and connection (`deadline.py` makes the classes),
written against what those provide: `execute`, `cursor()`, `info`, `closed`, and the connection's
`round_trip()` marking.
"""

from __future__ import annotations

from typing import Any

from adapters.sql.deadline import PQTRANS_IDLE

BEGIN_FIRST = "BEGIN; "
"""How a deferred BEGIN starts (explicit_begin.begin_bound): what follows it is the scope binding."""


class DeferredBeginCursor:
    connection: Any

    def execute(self, query: Any, vars: Any = None) -> None:
        connection = self.connection
        pending = connection.pending_begin
        if pending is None:
            with connection.round_trip():
                super().execute(query, vars)  # type: ignore[misc]
            return
        connection.pending_begin = None
        try:
            self._send_after(pending, query, vars)
        except BaseException:
            connection.keep_pending_if_unsent(pending)
            raise

    def execute_whole(self, query: Any, vars: Any = None) -> None:
        """`query`, a statement complete in itself. While the unit of work lets it commit alone
        and has sent nothing yet, it goes with the scope binding and no BEGIN: the server runs both
        as one transaction and commits it before it answers. The BEGIN stays pending, so whatever
        follows begins a transaction of its own. Otherwise it is `execute`."""
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
        """`first`, then `query`, in one query string: one round trip, the server answering with
        the query's result."""
        if hasattr(query, "as_string"):  # a psycopg2.sql.Composable
            query = query.as_string(self)
        joined = (first.encode() + b"; " + query) if isinstance(query, bytes) else f"{first}; {query}"
        with self.connection.round_trip():
            super().execute(joined, vars)  # type: ignore[misc]

    def executemany(self, query: Any, vars_list: Any) -> None:
        self.connection.send_pending_begin()
        with self.connection.round_trip():
            super().executemany(query, vars_list)  # type: ignore[misc]

    def copy_expert(self, sql: Any, file: Any, size: int = 8192) -> None:
        self.connection.send_pending_begin()
        with self.connection.round_trip():
            super().copy_expert(sql, file, size)  # type: ignore[misc]

    def callproc(self, procname: Any, parameters: Any = None) -> Any:
        self.connection.send_pending_begin()
        with self.connection.round_trip():
            return super().callproc(procname, parameters)  # type: ignore[misc]


class DeferredBeginConnection:
    pending_begin: str | None
    commits_alone: bool
    """Set while a unit of work lets a statement complete in itself commit on its own."""
    closed: Any
    info: Any

    def _deferring(self) -> None:
        self.pending_begin = None
        self.commits_alone = False

    def rollback(self) -> None:
        # The pool's reset when the connection comes back: a BEGIN still pending (a unit of work
        # that ended by a way that never reached `explicit_begin.release`) must not ride on the
        # next borrower's first statement with this one's scope.
        self.pending_begin = None
        self.commits_alone = False
        super().rollback()  # type: ignore[misc]

    def send_pending_begin(self) -> None:
        """The deferred BEGIN on its own, before a statement that cannot carry it."""
        pending = self.pending_begin
        if pending is None:
            return
        self.pending_begin = None
        try:
            with self.cursor() as cursor, self.round_trip():  # type: ignore[attr-defined]
                # The driver's own execute: this cursor's would put the BEGIN in front again.
                super(DeferredBeginCursor, cursor).execute(pending)  # type: ignore[misc]
        except BaseException:
            self.keep_pending_if_unsent(pending)
            raise

    def keep_pending_if_unsent(self, pending: str) -> None:
        """After a failed send: when nothing reached the server (the parameters did not fit the
        statement, say), the BEGIN is still to come, or the unit of work's next statement would run
        outside any transaction."""
        if not self.closed and self.info.transaction_status == PQTRANS_IDLE:
            self.pending_begin = pending
