"""Issue 14: bulk writes through COPY on PostgreSQL, under row-level security, against raw psycopg2.

a. `bulk_create` of 50,000 tenants, then of 50,000 processor executions, in one call inside one unit
   of work (Portside stages the rows with one COPY and moves them with one `INSERT ... SELECT`),
   against `psycopg2.extras.execute_values(page_size=1000)` of the same rows in one transaction
   (target >= 1.8x), and against the same COPY-to-staging written by hand with psycopg2, the limit
   (target >= 0.8x of it).
b. Ingest of 100,000 events in batches of 1,000 through `IngestEvents` (each batch's insert over the
   COPY threshold) against `execute_values ... ON CONFLICT DO NOTHING` of the same events, one
   transaction per batch (target >= 1.0x), and the flatness of Portside's cost per event from the
   first 10,000 to all 100,000 (within 1.3x).

Every contender connects as the application role, binds its row-level security scope at the start
of its transaction as the unit of work does, and writes into the real tables (FORCE ROW LEVEL
SECURITY, every index). The rows, the baselines and the equivalence checks are those of
bench/tenancy_repository.py, bench/processing_bulk.py and bench/reliability_ingest.py; this script
times them side by side with the COPY path.

Run from the repository root: `python bench/bulk_copy.py [--profile] [--quick]`.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from contextlib import closing
from datetime import datetime
from pathlib import Path
from typing import Any

# Run as `python bench/<name>.py`, only bench/ is on sys.path; `tests.servers` lives at the root.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import processing_bulk as executions_bench
import reliability_ingest as ingest_bench
import tenancy_repository as tenancy_bench
from _harness import (
    DEFAULT_REPETITIONS,
    DEFAULT_WARMUP,
    Comparison,
    Timing,
    batched,
    connect_raw,
    load_average,
    machine_details,
    profile,
    ratio_table,
    server_version,
    spread_note,
    time_side_by_side,
    write_section,
)
from _harness import on_psycopg as on_psycopg_url

from adapters.rules.processing import processing_units
from adapters.rules.tenancy import tenancy_units
from adapters.sql import migrate
from adapters.sql.backend import SqlBackend
from adapters.sql.copy import COPY_THRESHOLD
from adapters.sql.database import SqlDatabase
from adapters.sql.processing import SqlExecutionQueries
from application.container import build_container
from application.settings import Settings
from domain.processing.execution import Execution
from domain.tenancy.tenant import Tenant
from tests.servers import PG_APP_ROLE, PostgresServer, start_postgres

BENCH_NAME = Path(__file__).stem
ON_PSYCOPG = tenancy_bench.ON_PSYCOPG

BULK_ROWS = 50_000
EVENTS = 100_000
BULK_TARGET = 1.8
LIMIT_TARGET = 0.8
INGEST_TARGET = 1.0

Connection = Any  # psycopg2 ships no type information


# --------------------------------------------------------------------------------------------
# COPY-to-staging by hand: what a raw-driver user who knows the trick writes
# --------------------------------------------------------------------------------------------


def _field(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def _optional(value: Any) -> str:
    return "\\N" if value is None else _field(str(value))


def _document(value: Any) -> str:
    return "\\N" if value is None else _field(json.dumps(value))


def _stamp(value: datetime | None) -> str:
    return "\\N" if value is None else value.isoformat()


def tenant_line(tenant: Tenant) -> str:
    return (f"{tenant.id}\t{_field(tenant.name)}\t{_field(tenant.slug)}\t{'t' if tenant.is_active else 'f'}\t"
            f"{_document(tenant.settings)}\t{_stamp(tenant.created_at)}\t{_stamp(tenant.updated_at)}\t"
            f"{tenant.version}\n")


def _text_array(items: Sequence[str]) -> str:
    quoted = ('"' + item.replace("\\", "\\\\").replace('"', '\\"') + '"' for item in items)
    return _field("{" + ",".join(quoted) + "}")


def execution_line(execution: Execution) -> str:
    e = execution
    return "\t".join((
        str(e.id), str(e.organization_id), str(e.underwriting_id), str(e.underwriting_processor_id),
        _field(e.processor), e.status.value, "t" if e.enabled else "f", _document(e.payload), e.payload_hash,
        _document(e.output), _document(e.factors_delta), _text_array(e.document_revision_ids),
        _optional(e.document_ids_hash), _optional(e.run_cost_cents), _stamp(e.started_at), _stamp(e.completed_at),
        _optional(e.failed_code), _optional(e.failed_reason), _optional(e.updated_execution_id),
        _stamp(e.disabled_at), _stamp(e.created_at), _stamp(e.updated_at), str(e.version),
    )) + "\n"


def raw_copy(connection: Connection, bind_scope: str, scope: tuple[str, ...], table: str, columns: Sequence[str],
             line: Callable[[Any], str], rows: Sequence[Any]) -> Callable[[], None]:
    """One transaction: bind the scope, COPY every row into a temporary table made for it, move them
    with one `INSERT ... SELECT` (which row-level security checks), commit."""
    names = ", ".join(columns)

    def run() -> None:
        text = "".join(line(row) for row in rows)  # encoding the rows is timed, as Portside's is
        with connection.cursor() as cursor:
            cursor.execute(bind_scope, scope)
            cursor.execute(f"CREATE TEMP TABLE staging (LIKE {table} INCLUDING DEFAULTS) ON COMMIT DROP")
            cursor.copy_expert(f"COPY staging ({names}) FROM STDIN", io.StringIO(text))
            cursor.execute(f"INSERT INTO {table} ({names}) SELECT {names} FROM staging")
        connection.commit()

    return run


# --------------------------------------------------------------------------------------------
# a. bulk create
# --------------------------------------------------------------------------------------------


def bulk_tenants(server: PostgresServer, database: SqlDatabase, on_psycopg: SqlDatabase, raw: Connection,
                 args: argparse.Namespace) -> list[Comparison]:
    rows = tenancy_bench.make_tenants(BULK_ROWS // args.scale, "copy")

    def portside_on(database: SqlDatabase) -> Callable[[], None]:
        factory = tenancy_units(SqlBackend(database))

        def run() -> None:
            with factory.system() as uow:
                uow.tenants.bulk_create(rows)

        return run

    portside = portside_on(database)
    contenders = {
        "portside": portside,
        ON_PSYCOPG: portside_on(on_psycopg),
        "execute_values": tenancy_bench.raw_bulk(raw, rows),
        "COPY by hand": raw_copy(raw, tenancy_bench.BIND_SYSTEM_SCOPE, (), "tenants", tenancy_bench.COLUMNS,
                                 tenant_line, rows),
    }
    with closing(tenancy_bench.connect_admin(server.dsn_admin)) as admin:
        with admin.cursor() as cursor:
            cursor.execute("ALTER TABLE tenants SET (autovacuum_enabled = off)")
        tenancy_bench.check_bulk_equivalence(admin, contenders, rows)
        print(f"tenants bulk create: {len(rows):,} rows x {args.repetitions} runs per contender ...", flush=True)
        timings = time_side_by_side(contenders, repetitions=args.repetitions,
                                    setup=lambda: tenancy_bench.truncate(admin))
        if args.profile:
            tenancy_bench.truncate(admin)
            print(profile(portside, top=args.profile_top))
    return _bulk_comparisons("tenants", len(rows), timings)


def bulk_executions(server: PostgresServer, database: SqlDatabase, on_psycopg: SqlDatabase, raw: Connection,
                    args: argparse.Namespace) -> list[Comparison]:
    org = uuid.uuid4()
    rows = executions_bench.make_executions(org, BULK_ROWS // args.scale)

    def portside_on(database: SqlDatabase) -> Callable[[], None]:
        factory = processing_units(SqlBackend(database), queries=SqlExecutionQueries)

        def run() -> None:
            with factory.for_tenant(org) as uow:
                uow.executions.bulk_create(rows)

        return run

    portside = portside_on(database)
    contenders = {
        "portside": portside,
        ON_PSYCOPG: portside_on(on_psycopg),
        "execute_values": executions_bench.raw_bulk(raw, org, rows),
        "COPY by hand": raw_copy(raw, executions_bench.BIND_TENANT_SCOPE, (str(org),), "processor_executions",
                                 executions_bench.COLUMNS, execution_line, rows),
    }
    with closing(executions_bench.connect_admin(server.dsn_admin)) as admin:
        with admin.cursor() as cursor:
            cursor.execute("ALTER TABLE processor_executions SET (autovacuum_enabled = off)")
        executions_bench.check_equivalence(admin, contenders, rows)
        print(f"executions bulk create: {len(rows):,} rows x {args.repetitions} runs per contender ...", flush=True)
        timings = time_side_by_side(contenders, repetitions=args.repetitions,
                                    setup=lambda: executions_bench.truncate(admin))
        if args.profile:
            executions_bench.truncate(admin)
            print(profile(portside, top=args.profile_top))
    return _bulk_comparisons("executions", len(rows), timings)


def _bulk_comparisons(table: str, rows: int, timings: dict[str, Timing]) -> list[Comparison]:
    return [
        Comparison(f"{table} `bulk_create`, one call (vs `execute_values`, page_size=1,000)",
                   rows, timings["execute_values"], timings["portside"], BULK_TARGET),
        Comparison(f"{table} `bulk_create`, one call (vs COPY-to-staging by hand with psycopg2: the limit)",
                   rows, timings["COPY by hand"], timings["portside"], LIMIT_TARGET),
        Comparison(f"{table} `bulk_create`, one call, Portside on psycopg 3 (vs `execute_values`, page_size=1,000)",
                   rows, timings["execute_values"], timings[ON_PSYCOPG], None),
    ]


# --------------------------------------------------------------------------------------------
# b. ingest
# --------------------------------------------------------------------------------------------


def ingest(server: PostgresServer, raw: Connection, args: argparse.Namespace) -> tuple[list[Comparison], str]:
    count = EVENTS // args.scale
    group = count // ingest_bench.GROUPS
    container = build_container(Settings(database_url=server.app_url))
    try:
        with closing(ingest_bench.connect_admin(server.dsn_admin)) as admin:
            with admin.cursor() as cursor:
                cursor.execute("ALTER TABLE events SET (autovacuum_enabled = off)")
                cursor.execute("ALTER TABLE incidents SET (autovacuum_enabled = off)")
            admin.commit()
            tenant_id, workflow_ids = ingest_bench.register(container)
            commands = ingest_bench.make_commands(tenant_id, workflow_ids, count)
            batches = batched(commands, ingest_bench.BATCH)
            clocks = {"portside": ingest_bench.BatchClock(), "execute_values": ingest_bench.BatchClock()}
            contenders = {
                "portside": ingest_bench.portside_ingest(container.ingest_events(), batches, clocks["portside"]),
                "execute_values": ingest_bench.raw_ingest(raw, tenant_id, batches, clocks["execute_values"]),
            }
            ingest_bench.check_equivalence(admin, contenders["portside"], contenders["execute_values"], commands)
            for clock in clocks.values():
                clock.runs.clear()
            print(f"ingest: {count:,} events, batches of {ingest_bench.BATCH:,}, {args.repetitions} runs per "
                  "contender ...", flush=True)
            timings = time_side_by_side(contenders, repetitions=args.repetitions,
                                        setup=lambda: ingest_bench.truncate(admin))
            flat = {name: ingest_bench.Flatness.of(clock.timed_runs(DEFAULT_WARMUP)) for name, clock in clocks.items()}
            if args.profile:
                ingest_bench.truncate(admin)
                print(profile(contenders["portside"], top=args.profile_top))
                ingest_bench.truncate(admin)
    finally:
        container.shutdown_resources()

    portside, raw_flat = flat["portside"], flat["execute_values"]
    first_as_whole = Timing(tuple(seconds * ingest_bench.GROUPS for seconds in portside.first.seconds))
    comparisons = [
        Comparison(f"ingest, batches of {ingest_bench.BATCH:,} through `IngestEvents` (vs `execute_values ... "
                   "ON CONFLICT DO NOTHING`, one transaction per batch)",
                   count, timings["execute_values"], timings["portside"], INGEST_TARGET),
        Comparison(f"ingest flatness: Portside over all {count:,} events (vs Portside over the first {group:,}); "
                   f"target = cost/event within {ingest_bench.FLATNESS_LIMIT}x",
                   count, first_as_whole, portside.whole, 1 / ingest_bench.FLATNESS_LIMIT),
    ]
    lines = [
        f"| contender | µs/event, first {group:,} | µs/event, last {group:,} | µs/event, all {count:,} "
        "| all / first |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for name, result in (("portside", portside), ("execute_values", raw_flat)):
        first = ingest_bench.us_per_event(result.first, group)
        last = ingest_bench.us_per_event(result.last, group)
        whole = ingest_bench.us_per_event(result.whole, count)
        lines.append(f"| {name} | {first:.1f} | {last:.1f} | {whole:.1f} | {whole / first:.2f}x |")
    return comparisons, "\n".join(lines)


# --------------------------------------------------------------------------------------------


NOTES = f"""
- Both sides connect as the application role over TCP to the same server, and every contender
  binds its row-level security scope in its transaction (system scope for tenants, the
  organization's or tenant's otherwise). Portside's bulk inserts of {COPY_THRESHOLD} rows or more
  go through `adapters/sql/copy.py`: the rows are encoded as COPY text (per column type, streamed to
  the driver a chunk at a time), copied into the connection's temporary staging table
  (`CREATE TEMP TABLE IF NOT EXISTS ... (LIKE <table> INCLUDING DEFAULTS) ON COMMIT DELETE ROWS;
  TRUNCATE ...`), and moved with one `INSERT INTO <table> SELECT ... FROM <staging>` inside the
  savepoint `bulk_create` holds (plain for `bulk_create`, `ON CONFLICT DO NOTHING RETURNING id::text`
  for the idempotent appends of ingestion).
- bulk create: Portside calls `bulk_create` once with all the rows (the rows of
  bench/tenancy_repository.py and bench/processing_bulk.py, built and validated beforehand,
  untimed). Baselines, each in one transaction: `execute_values` (page_size=1,000) of the same
  entities turned into tuples, and COPY-to-staging by hand (the entities turned into COPY text by a
  hand-written function per table, `CREATE TEMP TABLE staging (LIKE ...) ON COMMIT DROP`, `COPY`,
  `INSERT ... SELECT`): both timed from the entities. The tables are truncated before every run and
  every contender is checked to store exactly the given rows before timing. The psycopg 3 rows:
  the same Portside call on a `postgresql+psycopg://` URL (COPY through `cursor.copy()`), timed in
  the same rounds, for information.
- ingest: the contenders of bench/reliability_ingest.py (see there for what Portside does beyond
  the baseline per batch: workflow and kill-switch checks, incident grouping), with the COPY path in
  place. The flatness row compares the cost per event over the whole run with the first tenth's.
"""


def run_benchmarks(server: PostgresServer, args: argparse.Namespace) -> tuple[list[Comparison], str, str]:
    migrate.upgrade(server.admin_url, grant_to=PG_APP_ROLE)
    database = SqlDatabase.from_url(server.app_url)
    on_psycopg = SqlDatabase.from_url(on_psycopg_url(server.app_url))
    try:
        with closing(connect_raw(server.dsn_app)) as raw, closing(connect_raw(server.dsn_admin)) as admin:
            version = server_version(admin)
            comparisons = (bulk_tenants(server, database, on_psycopg, raw, args)
                           + bulk_executions(server, database, on_psycopg, raw, args))
            ingested, flatness = ingest(server, raw, args)
    finally:
        database.dispose()
        on_psycopg.dispose()
    return comparisons + ingested, flatness, version


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repetitions", type=int, default=DEFAULT_REPETITIONS, help="timed runs per contender")
    parser.add_argument("--profile", action="store_true", help="also print cProfile output of the Portside side")
    parser.add_argument("--profile-top", type=int, default=30, help="functions listed by --profile")
    parser.add_argument("--quick", action="store_true", help="a tenth of the work, 3 runs; never written to the docs")
    parser.add_argument("--no-docs", action="store_true", help="print only, leave docs/benchmarks.md alone")
    args = parser.parse_args(argv)
    args.scale = 10 if args.quick else 1
    if args.quick:
        args.repetitions = 3

    load_before = load_average()
    started = time.perf_counter()
    with start_postgres() as server:
        comparisons, flatness, version = run_benchmarks(server, args)

    machine = machine_details(version, load_before)
    table = ratio_table(comparisons)
    note = spread_note(comparisons)
    print(f"\n{BENCH_NAME} on {machine.summary}\n")
    print(table)
    print(f"\n{flatness}")
    print(f"\n{note}")
    for missed in (c for c in comparisons if c.met is False):
        assert missed.target is not None
        print(f"target missed: {missed.operation}: {missed.ratio:.2f}x < {missed.target:.2f}x")
    print(f"total time {time.perf_counter() - started:.0f}s")
    if not (args.quick or args.no_docs):
        write_section(BENCH_NAME, f"{table}\n\n{flatness}\n\n{note}\n{NOTES}", machine)
        print("\ndocs/benchmarks.md updated")
    return 0


if __name__ == "__main__":
    sys.exit(main())
