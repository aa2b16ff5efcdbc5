"""The worker's one statement a batch on PostgreSQL: the acknowledgement of the jobs it finished and
the claim of its next batch.

    WITH completed AS (
        UPDATE processing_jobs AS t SET status = 'COMPLETED', progress = 100, result = v.result, ...
          FROM unnest(<ids>, <attempts>, <results>) AS v(id, attempt, result)
         WHERE t.id = ANY(<ids>) AND t.id = v.id AND t.attempt = v.attempt AND t.worker_id = <worker>
           AND t.status || '' = 'RUNNING'
        RETURNING t.id),
    claimed AS (
        UPDATE processing_jobs AS t SET status = 'RUNNING', worker_id = <worker>, attempt = t.attempt + 1, ...
         WHERE t.id IN (SELECT id ... ORDER BY priority DESC, created_at, id LIMIT <n> FOR UPDATE SKIP LOCKED)
        RETURNING <the columns the claim did not set>)
    SELECT done.ids, claimed.* FROM (SELECT array_agg(id::text) AS ids FROM completed) AS done
      LEFT JOIN claimed ON true

It is a statement complete in itself: sent through `DirectCursor.fetch(..., whole=True)`, it commits
on its own where the unit of work lets it (`UnitOfWork.commit_with`, the worker's way), one round
trip a batch. The claim returns only the columns whose values it did not set: the status, worker,
lease and times are the caller's own, and parsing them back was a sixth of a claimed row.

The acknowledgement finds its rows by id. Its status test is written `status || '' = 'RUNNING'`
so that it matches no index: with `status = 'RUNNING'` the planner may read the partial index of
running jobs (the lease rescuer's), which, between two vacuums, holds an entry for every job ever
claimed: on a drain of 20,000 jobs the acknowledgement read 600 pages a batch at the end, against
a few by id.

The acknowledgement is fenced as `Job.completed` fences it: the job still running, for this worker, at
this attempt; a job whose claim moved on is left out, as `complete_many` leaves it out. The two
updates touch different rows (running jobs of this worker, queued jobs), which a statement's
data-modifying parts must: every part sees the snapshot the statement started with, so the claim
cannot take a job the acknowledgement completes. The first row carries the completed ids, and a
batch with nothing left to claim still returns that row, its job columns null.

The statement is prepared once per pooled connection (`PREPARE`, then `EXECUTE`): the server
plans it once, not once a batch, and what goes over the wire is the statement's name and its
values. The batch size is a constant of the statement, not a parameter (a statement per size, 8 at
most per connection): with `LIMIT $n` the generic plan guessed a third of the table and hashed all
of it. A prepared statement outlives a transaction that rolled back, but not the connection: the
names prepared are kept in the connection's pool record, which goes with the connection. When a
statement that prepared or executed it failed, whether it is there is not known (the server may
not have got as far as the PREPARE; a pooler's reset or a `DEALLOCATE` may have dropped it), and
the next use asks the server (`pg_prepared_statements`) before it prepares again.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from functools import cache, lru_cache
from typing import Any

import sqlalchemy as sa
from pydantic import JsonValue

from adapters.sql.direct_cursor import DirectCursor
from adapters.sql.driver import ResultColumns
from adapters.sql.records import SqlRecordStore
from domain.jobs.job import Job, JobStatus

# The statement's parameters in the order PREPARE declares them, with their types.
_PARAMETERS = (("ids", "uuid[]"), ("attempts", "integer[]"), ("results", "jsonb[]"), ("worker", "text"),
               ("now", "timestamptz"), ("queue", "text"), ("lease_until", "timestamptz"))
_SCOPE = ("scope", "uuid")
_PREPARED = "portside_prepared"
"""The key of the pool record's `info` that holds the names prepared on its connection."""
_UNSURE = "portside_prepared_unsure"
"""... and the names whose PREPARE was in a statement that failed."""
MAX_PREPARED = 8
"""Prepared statements a connection keeps at most (one per batch size and scope met): a caller
that varies its batch size past that gets the statement planned each time, not a server session
growing a plan for every size."""


def _placeholders(scoped: bool, numbered: bool) -> dict[str, str]:
    """`$n` (a PREPARE's) or `%(name)s::type` (a driver's placeholders, typed) for each parameter."""
    parameters = (*_PARAMETERS, _SCOPE) if scoped else _PARAMETERS
    if numbered:
        return {name: f"${position}" for position, (name, _) in enumerate(parameters, start=1)}
    return {name: f"%({name})s::{kind}" for name, kind in parameters}


def _body(table: sa.Table, scope_field: str | None, limit: int, value: Mapping[str, str]) -> str:
    scope = f' AND t."{scope_field}" = {value["scope"]}' if scope_field is not None else ""
    ready_scope = f' AND "{scope_field}" = {value["scope"]}' if scope_field is not None else ""
    returned = ", ".join(f't."{column.name}"' for column in _returned(table))
    return f"""
WITH completed AS (
    UPDATE "{table.name}" AS t
       SET status = '{JobStatus.COMPLETED.value}', progress = 100, result = v.result, completed_at = {value["now"]},
           lease_expires_at = NULL, updated_at = {value["now"]}, version = t.version + 1
      FROM unnest({value["ids"]}, {value["attempts"]}, {value["results"]}) AS v(id, attempt, result)
     WHERE t.id = ANY({value["ids"]}) AND t.id = v.id AND t.attempt = v.attempt AND t.worker_id = {value["worker"]}
       AND t.status || '' = '{JobStatus.RUNNING.value}'{scope}
    RETURNING t.id
), claimed AS (
    UPDATE "{table.name}" AS t
       SET status = '{JobStatus.RUNNING.value}', worker_id = {value["worker"]}, attempt = t.attempt + 1,
           lease_expires_at = {value["lease_until"]}, started_at = {value["now"]}, completed_at = NULL,
           updated_at = {value["now"]}, version = t.version + 1
     WHERE t.id IN (SELECT id FROM "{table.name}"
                     WHERE queue_name = {value["queue"]} AND status = '{JobStatus.QUEUED.value}'
                       AND scheduled_at <= {value["now"]}{ready_scope}
                     ORDER BY priority DESC, created_at, id LIMIT {int(limit)} FOR UPDATE SKIP LOCKED)
    RETURNING {returned}
)
SELECT done.ids, claimed.* FROM (SELECT array_agg(id::text) AS ids FROM completed) AS done LEFT JOIN claimed ON true"""


@lru_cache(maxsize=64)
def _prepared(table: sa.Table, scope_field: str | None, limit: int) -> tuple[str, str, str]:
    """The statement's name, its PREPARE and its EXECUTE (the driver's placeholders, typed)."""
    scoped = scope_field is not None
    name = f"portside_complete_and_claim_{table.name}_{limit}" + ("_scoped" if scoped else "")
    parameters = (*_PARAMETERS, _SCOPE) if scoped else _PARAMETERS
    types = ", ".join(kind for _, kind in parameters)
    prepare = f"PREPARE {name} ({types}) AS {_body(table, scope_field, limit, _placeholders(scoped, numbered=True))}"
    typed = _placeholders(scoped, numbered=False)
    execute = f"EXECUTE {name} (" + ", ".join(typed[key] for key, _ in parameters) + ")"
    return name, prepare, execute


@lru_cache(maxsize=64)
def _inline(table: sa.Table, scope_field: str | None, limit: int) -> str:
    """The statement itself, for psycopg 3, which prepares a statement it sees often by itself."""
    return _body(table, scope_field, limit, _placeholders(scope_field is not None, numbered=False))


_SET_BY_THE_CLAIM = frozenset({"status", "worker_id", "lease_expires_at", "started_at", "completed_at", "updated_at"})
"""Columns whose claimed values the caller knows (it sent them): not returned, so not parsed."""


@cache
def _returned(table: sa.Table) -> tuple[sa.Column[Any], ...]:
    return tuple(column for column in table.columns if column.name not in _SET_BY_THE_CLAIM)


@cache
def _columns(table: sa.Table, dialect: sa.Dialect) -> ResultColumns:
    return ResultColumns(table, dialect, _returned(table))


@cache
def _layout(table: sa.Table) -> tuple[tuple[bool, int | str], ...]:
    """For each column of the table, in order: (True, position among the returned columns) or
    (False, the name of a column the claim set)."""
    returned = [column.name for column in _returned(table)]
    return tuple((True, returned.index(column.name)) if column.name in returned else (False, column.name)
                 for column in table.columns)


def _claimed_row(layout: tuple[tuple[bool, int | str], ...], returned: Sequence[Any],
                 known: Mapping[str, Any]) -> list[Any]:
    """A claimed job's row in the table's column order, from what was returned and what was set."""
    return [returned[where] if from_row else known[where] for from_row, where in layout]  # type: ignore[index]


def complete_and_claim(store: SqlRecordStore[Job], completions: Sequence[tuple[Job, Mapping[str, JsonValue] | None]],
                       worker_id: str, queue_name: str, limit: int, lease: timedelta,
                       now: datetime) -> tuple[list[uuid.UUID], list[Job]]:
    """The ids completed and the jobs claimed (in no particular order), in one statement; for a
    caller that checked `direct(store.connection)` on a blocking PostgreSQL driver."""
    connection = store.connection
    restriction = store.schema.scope_filter(store.scope)
    scope_field = None if restriction is None else restriction[0]
    # The completed ids come back as the text they were sent as: no UUID to parse again.
    texts = [str(job.id) for job, _ in completions]
    sent = dict(zip(texts, (job.id for job, _ in completions), strict=True))
    parameters: dict[str, Any] = {
        # Array literals, one text each: psycopg2 adapts a list element by element (ARRAY['...',
        # ...]), which cost more than the rest of the parameters together.
        "ids": "{" + ",".join(texts) + "}",
        "attempts": "{" + ",".join([str(job.attempt) for job, _ in completions]) + "}",
        "results": [None if result is None else json.dumps(result) for _, result in completions],
        "worker": worker_id, "now": now, "queue": queue_name, "lease_until": now + lease,
    }
    if restriction is not None:
        parameters["scope"] = str(restriction[1])
    cursor = store.direct_cursor
    if connection.dialect.driver == "psycopg2":
        rows, description = _run_prepared(cursor, connection.connection.info, store.table, scope_field, limit,
                                           parameters)
    else:
        rows, description = cursor.fetch(_inline(store.table, scope_field, limit), parameters, whole=True)
    columns = _columns(store.table, connection.dialect)
    described = description[1:]
    completed = [sent[text] for text in rows[0][0] or ()] if rows else []
    known = {"status": JobStatus.RUNNING, "worker_id": worker_id, "lease_expires_at": parameters["lease_until"],
             "started_at": now, "completed_at": None, "updated_at": now}
    layout = _layout(store.table)
    claimed = [store.from_row(_claimed_row(layout, columns.values(row[1:], described), known))
               for row in rows if row[1] is not None]
    return completed, claimed


def _run_prepared(cursor: DirectCursor, info: dict[Any, Any], table: sa.Table, scope_field: str | None, limit: int,
                  parameters: dict[str, Any]) -> tuple[list[Sequence[Any]], Sequence[Any]]:
    """psycopg2 prepares nothing by itself: the statement is prepared on the connection's first
    use, in the same query string as its first EXECUTE."""
    name, prepare, execute = _prepared(table, scope_field, limit)
    prepared: set[str] = info.setdefault(_PREPARED, set())
    if name not in prepared and _prepared_before(cursor, info, name):
        prepared.add(name)
    if name not in prepared and len(prepared) >= MAX_PREPARED:
        return cursor.fetch(_inline(table, scope_field, limit), parameters, whole=True)
    known = name in prepared
    try:
        found = cursor.fetch(execute if known else prepare.replace("%", "%%") + "; " + execute, parameters,
                             whole=True)
    except BaseException:
        # Whether the statement is (still) there is not known: a failed PREPARE may have run, a
        # failed EXECUTE may have met a connection whose statements were deallocated.
        prepared.discard(name)
        info.setdefault(_UNSURE, set()).add(name)
        raise
    prepared.add(name)
    return found


def _prepared_before(cursor: DirectCursor, info: dict[Any, Any], name: str) -> bool:
    """Whether a PREPARE sent in a statement that failed did reach the server (asked only then)."""
    unsure: set[str] = info.get(_UNSURE, set())
    if name not in unsure:
        return False
    rows, _ = cursor.fetch("SELECT 1 FROM pg_prepared_statements WHERE name = %(name)s", {"name": name})
    unsure.discard(name)
    return bool(rows)
