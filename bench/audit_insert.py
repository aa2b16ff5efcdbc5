"""Audit entries on PostgreSQL: the asynchronous batched writer against raw psycopg2 storing the same
rows, and the caller's side of it against a synchronous insert.

100,000 audit entries of one organization, built beforehand (as a service builds each when it acts),
are handed to a `BatchingAuditWriter` (queue of 10,000, batches of 1,000) one `submit` at a time;
the run ends when `close()` returns, every entry stored. The baseline stores the same entries with
`psycopg2.extras.execute_values` into `audit_logs`, 1,000 rows per statement and transaction, as
the same application role, binding the tenant's row-level security scope in each transaction.

Two results:
a. throughput: entries/s of the asynchronous writer, submit to stored, against the baseline
   (target >= 0.7x);
b. the caller's time per accepted entry: `submit` alone against one synchronous `insert` in its own
   unit of work (what a request handler pays without the writer), as a ratio of throughputs:
   >= 20x means the caller's time per entry is under 5% of the synchronous insert's.

Before timing, the script checks that both sides store the same entries. `audit_logs` is truncated
(as the superuser, past its append-only trigger) before every run.

Run from the repository root: `python bench/audit_insert.py [--quick] [--no-docs]`.
"""

from __future__ import annotations

import argparse
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

# Run as `python bench/<name>.py`, only bench/ is on sys.path; `tests.servers` lives at the root.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import psycopg2
import psycopg2.extras
from _harness import (
    DEFAULT_REPETITIONS,
    Comparison,
    Timing,
    batched,
    connect_raw,
    load_average,
    machine_details,
    ratio_table,
    server_version,
    spread_note,
    time_side_by_side,
    write_section,
)

from adapters.rules.audit_writer import BatchingAuditWriter
from adapters.sql import migrate
from adapters.sql.control_plane import audit_logs as audit_table
from adapters.sql.row_level_security import SYSTEM_SETTING, TENANT_SETTING
from application.container import build_container
from application.settings import Settings
from application.tenancy.use_cases import NewTenant
from domain.control_plane.audit import AuditLog
from ports.control_plane import ControlPlaneUnitOfWorkFactory
from tests.servers import PG_APP_ROLE, PostgresServer, start_postgres

BENCH_NAME = Path(__file__).stem

ENTRIES = 100_000
BATCH = 1_000
QUEUE = 10_000
SYNCHRONOUS_SAMPLE = 2_000
"""Synchronous inserts timed for the caller's comparison (one unit of work each: slow, so fewer)."""
THROUGHPUT_TARGET = 0.7
CALLER_TARGET = 20.0
"""Submit throughput / synchronous throughput: 20x is a caller's time per entry of 5%."""

COLUMNS = tuple(column.name for column in audit_table.columns)
_RAW_ROW_COLUMNS = (
    "id", "tenant_id", "action", "resource_type", "resource_id", "application_id", "user_id", "actor", "details",
    "request_id", "occurred_at", "created_at", "updated_at", "version",
)
if COLUMNS != _RAW_ROW_COLUMNS:
    raise SystemExit(f"audit_logs columns {COLUMNS} no longer match this benchmark; update raw_row")
INSERT = f"INSERT INTO audit_logs ({', '.join(COLUMNS)}) VALUES %s"
BIND_TENANT_SCOPE = f"SELECT set_config('{TENANT_SETTING}', %s, true), set_config('{SYSTEM_SETTING}', 'off', true)"
CONTENT = "id, tenant_id, action, resource_type, resource_id, user_id, details, request_id, occurred_at"

Connection = Any  # psycopg2 ships no type information


def make_entries(tenant_id: uuid.UUID, count: int) -> list[AuditLog]:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    users = [uuid.UUID(int=index + 1) for index in range(20)]
    actions = ("inference.completed", "policy.evaluated", "api_key.used", "inference.rejected")
    return [
        AuditLog.record(tenant_id=tenant_id, action=actions[index % len(actions)], resource_type="request",
                        resource_id=uuid.UUID(int=10**6 + index), user_id=users[index % len(users)],
                        request_id=f"req-{index}", at=start + timedelta(milliseconds=index),
                        details={"model": "gpt-4o", "tokens": index % 977, "allowed": index % 7 != 0})
        for index in range(count)
    ]


def raw_row(entry: AuditLog) -> tuple[Any, ...]:
    return (entry.id, entry.tenant_id, entry.action, entry.resource_type, entry.resource_id, entry.application_id,
            entry.user_id, entry.actor, psycopg2.extras.Json(entry.details), entry.request_id, entry.occurred_at,
            entry.created_at, entry.updated_at, entry.version)


def raw_insert(raw: Connection, tenant_id: uuid.UUID, entries: Sequence[AuditLog]) -> Callable[[], None]:
    batches = batched(entries, BATCH)

    def run() -> None:
        for batch in batches:
            with raw.cursor() as cursor:
                cursor.execute(BIND_TENANT_SCOPE, (str(tenant_id),))
                psycopg2.extras.execute_values(cursor, INSERT, [raw_row(entry) for entry in batch], page_size=BATCH)
            raw.commit()

    return run


@dataclass
class CallerClock:
    """The seconds callers spent inside `submit`, per timed run."""

    runs: list[float]


def async_insert(units: ControlPlaneUnitOfWorkFactory, entries: Sequence[AuditLog],
                 caller: CallerClock) -> Callable[[], None]:
    def run() -> None:
        writer = BatchingAuditWriter(units, queue_size=QUEUE, batch_size=BATCH, flush_interval=0.05)
        submit, clock = writer.submit, time.perf_counter
        spent = 0.0
        for entry in entries:
            before = clock()
            submit(entry)
            spent += clock() - before
        writer.close()
        caller.runs.append(spent)
        if writer.failures:
            raise RuntimeError(f"the writer could not store {len(writer.failures)} entries: {writer.failures[0]}")

    return run


def synchronous_insert(units: ControlPlaneUnitOfWorkFactory, entries: Sequence[AuditLog]) -> Callable[[], None]:
    def run() -> None:
        for entry in entries:
            with units.for_tenant(entry.tenant_id) as uow:
                uow.audit_logs.insert(entry)

    return run


def connect_admin(dsn: str) -> Connection:
    connection = psycopg2.connect(dsn)
    psycopg2.extras.register_uuid(conn_or_curs=connection)
    return connection


def truncate(admin: Connection) -> None:
    with admin.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")  # past the append-only trigger
        cursor.execute("TRUNCATE audit_logs")
    admin.commit()


def stored(admin: Connection) -> list[tuple[Any, ...]]:
    with admin.cursor() as cursor:
        cursor.execute(f"SELECT {CONTENT} FROM audit_logs ORDER BY id")
        rows: list[tuple[Any, ...]] = cursor.fetchall()
    admin.commit()
    return rows


@dataclass(frozen=True, slots=True)
class Results:
    comparisons: list[Comparison]
    caller_line: str
    version: str


def run_benchmarks(server: PostgresServer, args: argparse.Namespace) -> Results:
    count = ENTRIES // 10 if args.quick else ENTRIES
    repetitions = 3 if args.quick else args.repetitions
    migrate.upgrade(server.admin_url, grant_to=PG_APP_ROLE)
    container = build_container(Settings(database_url=server.app_url))
    try:
        with closing(connect_admin(server.dsn_admin)) as admin, closing(connect_raw(server.dsn_app)) as raw:
            with admin.cursor() as cursor:
                cursor.execute("ALTER TABLE audit_logs SET (autovacuum_enabled = off)")
            admin.commit()
            version = server_version(admin)
            tenant = container.create_tenant()(NewTenant(name="Audit Bench", slug="audit-bench")).id
            units: ControlPlaneUnitOfWorkFactory = container.control_plane_unit_of_work()
            entries = make_entries(tenant, count)
            caller = CallerClock([])
            contenders = {"portside": async_insert(units, entries, caller),
                          "execute_values": raw_insert(raw, tenant, entries)}

            truncate(admin)
            contenders["execute_values"]()
            from_raw = stored(admin)
            truncate(admin)
            contenders["portside"]()
            if stored(admin) != from_raw or len(from_raw) != count:
                raise RuntimeError("the writer and the baseline stored different entries; the comparison is void")
            caller.runs.clear()

            print(f"audit insert: {count:,} entries, batches of {BATCH:,}, {repetitions} runs per contender ...",
                  flush=True)
            timings = time_side_by_side(contenders, repetitions=repetitions, setup=lambda: truncate(admin))
            submitted = Timing(tuple(caller.runs[-repetitions:]))

            sample = make_entries(tenant, SYNCHRONOUS_SAMPLE)
            sync = time_side_by_side({"synchronous": synchronous_insert(units, sample)}, repetitions=repetitions,
                                     setup=lambda: truncate(admin))["synchronous"]
            truncate(admin)
    finally:
        container.shutdown_resources()

    # The synchronous timing, scaled from its sample to the whole run: the same entries/s.
    sync_whole = Timing(tuple(seconds * count / SYNCHRONOUS_SAMPLE for seconds in sync.seconds))
    comparisons = [
        Comparison(f"audit entries through `BatchingAuditWriter`, submit to stored (vs `execute_values`, "
                   f"{BATCH:,} rows per transaction)", count, timings["execute_values"], timings["portside"],
                   THROUGHPUT_TARGET),
        Comparison("caller's time per accepted entry: `submit` (vs one synchronous `insert` in its own unit of "
                   "work); target = under 5%", count, sync_whole, submitted, CALLER_TARGET),
    ]
    per_submit = submitted.median / count * 1e6
    per_sync = sync.median / SYNCHRONOUS_SAMPLE * 1e6
    caller_line = (f"Caller's time per entry: {per_submit:.1f} µs in `submit` against {per_sync:.0f} µs for a "
                   f"synchronous insert ({per_submit / per_sync:.1%}).")
    return Results(comparisons, caller_line, version)


NOTES = f"""
- Both sides connect as the application role over TCP to the same server. Portside: a
  `BatchingAuditWriter` (queue {QUEUE:,}, batches of {BATCH:,}, flush interval 50 ms) on the
  container's control-plane unit-of-work factory; one run submits every entry from one thread and
  ends when `close()` has stored them all (its background thread writes each batch with
  `insert_many` in a unit of work of the organization: the organization's existence checked once
  per unit of work, then one `execute_values` statement in a savepoint). Baseline: per batch, one
  transaction binding the tenant (`set_config`) and one `execute_values` (page_size={BATCH:,}) of
  `INSERT INTO audit_logs (...) VALUES %s`, the rows built from the same entries (timed).
- The entries ({ENTRIES:,} of one organization, 4 actions, 20 users, a small JSON `details` each) are
  built before timing, as a service builds each entry when it acts; both sides store the same.
- The caller's row: the seconds spent inside `submit` over the whole run, against
  {SYNCHRONOUS_SAMPLE:,} synchronous inserts (one unit of work each: begin, tenant binding, the
  organization's check, insert, commit) scaled to the same count. When the queue is full `submit`
  waits for room, and that wait is counted in this number too.
- `audit_logs` is truncated before every run (autovacuum off).
"""


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repetitions", type=int, default=DEFAULT_REPETITIONS, help="timed runs per contender")
    parser.add_argument("--quick", action="store_true", help="a tenth of the work, 3 runs; never written to the docs")
    parser.add_argument("--no-docs", action="store_true", help="print only, leave docs/benchmarks.md alone")
    args = parser.parse_args(argv)

    load_before = load_average()
    started = time.perf_counter()
    with start_postgres() as server:
        results = run_benchmarks(server, args)

    machine = machine_details(results.version, load_before)
    table = ratio_table(results.comparisons)
    note = spread_note(results.comparisons)
    print(f"\n{BENCH_NAME} on {machine.summary}\n")
    print(table)
    print(f"\n{results.caller_line}\n\n{note}")
    for missed in (c for c in results.comparisons if c.met is False):
        assert missed.target is not None
        print(f"target missed: {missed.operation}: {missed.ratio:.2f}x < {missed.target:.2f}x")
    print(f"total time {time.perf_counter() - started:.0f}s")
    if not (args.quick or args.no_docs):
        write_section(BENCH_NAME, f"{table}\n\n{results.caller_line}\n\n{note}\n{NOTES}", machine)
        print("\ndocs/benchmarks.md updated")
    return 0


if __name__ == "__main__":
    sys.exit(main())
