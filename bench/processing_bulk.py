"""Bulk creation of processor executions on PostgreSQL: the SQL adapter against raw psycopg2.

50,000 executions of one organization are created in batches of 1,000, `uow.executions.bulk_create`
per batch inside one tenant unit of work (`processing_units(SqlBackend(database)).for_tenant(org)`),
against `psycopg2.extras.execute_values(page_size=1000)` of the same rows into the same
`processor_executions` table, in one transaction. Both sides connect as the application role; the
table has FORCE ROW LEVEL SECURITY on organization_id, so the baseline binds the tenant's scope at
the start of its transaction exactly as the unit of work does. The rows are a realistic mix spread
over 100 underwriting processors: completed executions with output and cost, failed ones with their
code and reason, pending and running ones, some superseded (disabled, linked to their successor),
some with document revisions. A third contender runs `execute_values` with Portside's savepoints
(one around each batch's `INSERT`), for information.

`processor_executions` is truncated (as the superuser) before every run. Before timing, the script
checks that every contender stores exactly the given executions.

Run from the repository root: `python bench/processing_bulk.py [--profile] [--quick]`.
"""

from __future__ import annotations

import argparse
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from contextlib import closing
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
    batched,
    connect_raw,
    load_average,
    machine_details,
    portside_database,
    profile,
    ratio_table,
    server_version,
    spread_note,
    time_side_by_side,
    write_section,
)

from adapters.rules.processing import processing_units
from adapters.sql import migrate
from adapters.sql.backend import SqlBackend
from adapters.sql.processing import SqlExecutionQueries, processor_executions
from adapters.sql.row_level_security import SYSTEM_SETTING, TENANT_SETTING
from domain.processing.execution import Execution, ExecutionStatus
from domain.processing.hashing import document_set_hash, payload_hash
from ports.processing import ProcessingUnitOfWorkFactory
from tests.servers import PG_APP_ROLE, PostgresServer, start_postgres

BENCH_NAME = Path(__file__).stem

BULK_ROWS = 50_000
BULK_BATCH = 1_000
UNDERWRITING_PROCESSORS = 100
BULK_TARGET = 0.8
PROCESSORS = ("p_bank_statement", "p_credit_report")

# The baseline's column list comes from Portside's table so both sides always write the same columns.
COLUMNS = tuple(column.name for column in processor_executions.columns)
# `raw_row` spells the columns out (the cheap way a raw-driver user writes it); fail loudly if the
# schema moves away from it rather than benchmark different work.
_RAW_ROW_COLUMNS = (
    "id", "organization_id", "underwriting_id", "underwriting_processor_id", "processor", "status", "enabled",
    "payload", "payload_hash", "output", "factors_delta", "document_revision_ids", "document_ids_hash",
    "run_cost_cents", "started_at", "completed_at", "failed_code", "failed_reason", "updated_execution_id",
    "disabled_at", "created_at", "updated_at", "version",
)
if COLUMNS != _RAW_ROW_COLUMNS or set(COLUMNS) != set(Execution.model_fields):
    raise SystemExit(f"processor_executions columns {COLUMNS} no longer match this benchmark; update raw_row")

INSERT_VALUES = f"INSERT INTO processor_executions ({', '.join(COLUMNS)}) VALUES %s"
# What Portside's bulk_create sends around each batch (adapters/sql/records.py), for the information row.
SAVEPOINT, RELEASE = "SAVEPOINT bulk_create", "RELEASE SAVEPOINT bulk_create"
# What the tenant-scope unit of work runs first in every transaction (adapters/sql/row_level_security.py).
BIND_TENANT_SCOPE = f"SELECT set_config('{TENANT_SETTING}', %s, true), set_config('{SYSTEM_SETTING}', 'off', true)"

Connection = Any  # psycopg2 ships no type information


# --------------------------------------------------------------------------------------------
# The executions
# --------------------------------------------------------------------------------------------


def make_executions(organization_id: uuid.UUID, count: int) -> list[Execution]:
    """Validated executions (through `Execution.new`, as the adapter's callers build them), a fixed
    mix of statuses, supersession links and document lists; the same for every contender and run."""
    start = datetime(2026, 1, 1, tzinfo=UTC)
    ups = [(uuid.uuid4(), uuid.uuid4(), PROCESSORS[index % 2]) for index in range(UNDERWRITING_PROCESSORS)]
    ids = [uuid.uuid4() for _ in range(count)]
    executions: list[Execution] = []
    for index in range(count):
        up_id, underwriting_id, processor = ups[index % UNDERWRITING_PROCESSORS]
        at = start + timedelta(seconds=index)
        payload: dict[str, Any] = {"account": f"acct-{index % 977:04d}", "months": 3 + index % 10, "n": index}
        documents = [f"doc-{index}-{item}" for item in range(index % 4)]
        fields: dict[str, Any] = {
            "id": ids[index], "organization_id": organization_id, "underwriting_id": underwriting_id,
            "underwriting_processor_id": up_id, "processor": processor, "payload": payload,
            "payload_hash": payload_hash(payload), "document_revision_ids": documents,
            "document_ids_hash": document_set_hash(documents) if documents else None,
            "created_at": at, "updated_at": at,
        }
        kind = index % 10
        if kind < 6:  # completed
            fields.update(status=ExecutionStatus.COMPLETED, started_at=at, completed_at=at + timedelta(seconds=2),
                          output={"score": index % 850, "flags": ["nsf"] if index % 7 == 0 else []},
                          factors_delta={"monthly_revenue": index * 10}, run_cost_cents=25 + index % 50)
            if kind == 0 and index + UNDERWRITING_PROCESSORS < count:  # superseded by the next of its processor
                fields.update(updated_execution_id=ids[index + UNDERWRITING_PROCESSORS], enabled=False,
                              disabled_at=at + timedelta(minutes=5))
        elif kind < 8:  # failed
            fields.update(status=ExecutionStatus.FAILED, started_at=at, completed_at=at + timedelta(seconds=1),
                          failed_code="UPSTREAM_TIMEOUT", failed_reason=f"timeout after {index % 120} s")
        elif kind == 8:
            fields.update(status=ExecutionStatus.RUNNING, started_at=at)
        executions.append(Execution.new(**fields))
    return executions


def raw_row(execution: Execution) -> tuple[Any, ...]:
    """What a raw-driver user writes: Json for JSONB, the enum's value, lists as psycopg2 adapts them."""
    output, factors = execution.output, execution.factors_delta
    return (
        execution.id,
        execution.organization_id,
        execution.underwriting_id,
        execution.underwriting_processor_id,
        execution.processor,
        execution.status.value,
        execution.enabled,
        psycopg2.extras.Json(execution.payload),
        execution.payload_hash,
        None if output is None else psycopg2.extras.Json(output),
        None if factors is None else psycopg2.extras.Json(factors),
        execution.document_revision_ids,
        execution.document_ids_hash,
        execution.run_cost_cents,
        execution.started_at,
        execution.completed_at,
        execution.failed_code,
        execution.failed_reason,
        execution.updated_execution_id,
        execution.disabled_at,
        execution.created_at,
        execution.updated_at,
        execution.version,
    )




# --------------------------------------------------------------------------------------------
# The contenders
# --------------------------------------------------------------------------------------------


def portside_bulk(
    factory: ProcessingUnitOfWorkFactory, org: uuid.UUID, rows: Sequence[Execution]
) -> Callable[[], None]:
    batches = batched(rows, BULK_BATCH)  # slicing is the caller's business, not timed

    def run() -> None:
        with factory.for_tenant(org) as uow:
            for batch in batches:
                uow.executions.bulk_create(batch)

    return run


def raw_bulk(
    connection: Connection, org: uuid.UUID, rows: Sequence[Execution], *, savepoints: bool = False
) -> Callable[[], None]:
    """execute_values; with `savepoints`, the SQL Portside sends (each batch's `INSERT` in its own
    savepoint), to tell the cost of those semantics apart from the cost of the Python layers."""
    tenant = str(org)

    def run() -> None:
        # Turning Executions into driver tuples is timed: Portside's bulk_create starts from Executions too.
        values = [raw_row(execution) for execution in rows]
        with connection.cursor() as cursor:
            cursor.execute(BIND_TENANT_SCOPE, (tenant,))
            if savepoints:
                for start in range(0, len(values), BULK_BATCH):
                    cursor.execute(SAVEPOINT)
                    page = values[start: start + BULK_BATCH]
                    psycopg2.extras.execute_values(cursor, INSERT_VALUES, page, page_size=len(page))
                    cursor.execute(RELEASE)
            else:
                psycopg2.extras.execute_values(cursor, INSERT_VALUES, values, page_size=BULK_BATCH)
        connection.commit()

    return run


# --------------------------------------------------------------------------------------------
# Database set-up and checks (as the superuser, which row-level security does not bind)
# --------------------------------------------------------------------------------------------




def connect_admin(dsn: str) -> Connection:
    connection = connect_raw(dsn)
    connection.autocommit = True
    return connection


def truncate(admin: Connection) -> None:
    with admin.cursor() as cursor:
        cursor.execute("TRUNCATE processor_executions")


def read_all(admin: Connection) -> list[Execution]:
    with admin.cursor() as cursor:
        cursor.execute(f"SELECT {', '.join(COLUMNS)} FROM processor_executions ORDER BY id")
        return [Execution.model_construct(**dict(zip(COLUMNS, row, strict=True))) for row in cursor.fetchall()]


def check_equivalence(admin: Connection, contenders: dict[str, Callable[[], None]], rows: Sequence[Execution]) -> None:
    expected = sorted(rows, key=lambda execution: execution.id)
    for name, run in contenders.items():
        truncate(admin)
        run()
        stored = read_all(admin)
        if stored != expected:
            wrong = next((s, e) for s, e in zip(stored, expected, strict=False) if s != e) if stored else None
            raise RuntimeError(
                f"{name} stored {len(stored):,} executions of {len(expected):,}, or different ones "
                f"(first difference: {wrong}); the comparison is void"
            )




# --------------------------------------------------------------------------------------------


def run_benchmarks(server: PostgresServer, args: argparse.Namespace) -> tuple[list[Comparison], str]:
    scale = 10 if args.quick else 1
    repetitions = 3 if args.quick else args.repetitions
    migrate.upgrade(server.admin_url, grant_to=PG_APP_ROLE)
    database = portside_database(server.app_url)
    factory = processing_units(SqlBackend(database), queries=SqlExecutionQueries)
    org = uuid.uuid4()
    try:
        with closing(connect_admin(server.dsn_admin)) as admin, closing(connect_raw(server.dsn_app)) as raw:
            # Autovacuum/autoanalyze waking up after the bulk inserts would land in random runs.
            with admin.cursor() as cursor:
                cursor.execute("ALTER TABLE processor_executions SET (autovacuum_enabled = off)")
            version = server_version(admin)

            started = time.perf_counter()
            rows = make_executions(org, BULK_ROWS // scale)
            print(f"built {len(rows):,} validated executions in {time.perf_counter() - started:.1f}s", flush=True)
            contenders = {
                "portside": portside_bulk(factory, org, rows),
                "execute_values": raw_bulk(raw, org, rows),
                "execute_values in savepoints": raw_bulk(raw, org, rows, savepoints=True),
            }
            check_equivalence(admin, contenders, rows)
            print(f"bulk create: {len(rows):,} rows x {repetitions} runs per contender ...", flush=True)
            timings = time_side_by_side(contenders, repetitions=repetitions, setup=lambda: truncate(admin))
            if args.profile:
                truncate(admin)
                print(profile(contenders["portside"], top=args.profile_top))
    finally:
        database.dispose()

    comparisons = [
        Comparison(
            f"executions bulk create, batches of {BULK_BATCH:,} (vs `execute_values`, page_size={BULK_BATCH:,})",
            len(rows), timings["execute_values"], timings["portside"], BULK_TARGET,
        ),
        Comparison(
            "executions bulk create (vs `execute_values` with a savepoint around each batch, as Portside's)",
            len(rows), timings["execute_values in savepoints"], timings["portside"], None,
        ),
    ]
    return comparisons, version


NOTES = f"""
- Both sides connect as the application role over TCP to the same server. Portside: one
  `processing_units(SqlBackend(database)).for_tenant(org)` unit of work calling
  `uow.executions.bulk_create(batch)` per batch of {BULK_BATCH:,} (each a savepoint around one COPY
  into the connection's staging table and one plain `INSERT ... SELECT` from it,
  `adapters/sql/copy.py`: a taken key raises inside the savepoint,
  which undoes the batch), then commit.
  Baseline: one transaction running
  `SELECT set_config('{TENANT_SETTING}', <org>, true), set_config('{SYSTEM_SETTING}', 'off', true)`
  then `execute_values` (page_size={BULK_BATCH:,}) of `INSERT INTO processor_executions (<23 columns>)
  VALUES %s`, the rows being the same `Execution`s turned into tuples (`Json` for the JSONB
  columns, the status's value, the document list as psycopg2 adapts it): timed.
- The rows: {BULK_ROWS:,} executions built and validated beforehand (untimed) through
  `Execution.new`, one organization, {UNDERWRITING_PROCESSORS} underwriting processors of the two
  shipped processors; 60% completed (output, factors delta, cost), 20% failed, 10% running, 10%
  pending; a tenth of them superseded by the next execution of their processor; 0 to 3 document
  revisions each. The table keeps all its indexes (primary key, the partial unique deduplication key,
  four more) and is truncated before every run; autovacuum is off on it.
- Both sides are checked to store exactly the given executions before timing. The last row gives
  the baseline Portside's own SQL, so it shows what the Python layers cost on their own.
"""


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repetitions", type=int, default=DEFAULT_REPETITIONS, help="timed runs per contender")
    parser.add_argument("--profile", action="store_true", help="also print cProfile output of the Portside side")
    parser.add_argument("--profile-top", type=int, default=30, help="functions listed by --profile")
    parser.add_argument("--quick", action="store_true", help="a tenth of the work, 3 runs; never written to the docs")
    parser.add_argument("--no-docs", action="store_true", help="print only, leave docs/benchmarks.md alone")
    args = parser.parse_args(argv)

    load_before = load_average()
    started = time.perf_counter()
    with start_postgres() as server:
        comparisons, version = run_benchmarks(server, args)

    machine = machine_details(version, load_before)
    table = ratio_table(comparisons)
    print(f"\n{BENCH_NAME} on {machine.summary}\n")
    print(table)
    print(f"\n{spread_note(comparisons)}")
    for missed in (c for c in comparisons if c.met is False):
        assert missed.target is not None
        print(f"target missed: {missed.operation}: {missed.ratio:.2f}x < {missed.target:.2f}x")
    print(f"total time {time.perf_counter() - started:.0f}s")
    if not (args.quick or args.no_docs):
        write_section(BENCH_NAME, f"{table}\n\n{spread_note(comparisons)}\n{NOTES}", machine)
        print("\ndocs/benchmarks.md updated")
    return 0


if __name__ == "__main__":
    sys.exit(main())
