"""Event ingestion on PostgreSQL: the `IngestEvents` use case against raw psycopg2 storing the same rows.

100,000 events of one tenant are ingested in batches of 1,000, one `IngestEvents` call (one unit of
work) per batch, through the application container built on the application role's URL; the
baseline runs `psycopg2.extras.execute_values` of the same events into the same `events` table with
`ON CONFLICT (tenant_id, idempotency_key) DO NOTHING`, one transaction per batch, as the same role,
binding the tenant's row-level security scope at the start of each transaction (`events` has FORCE
ROW LEVEL SECURITY). The mix is realistic: about 80% `step.completed` events and 20% failures
(`{"error": {"code": ..., "message": "timeout after N s"}}`) of 20 distinct signatures, spread over
5 workflows. Portside also groups the failures into incidents (one open incident per signature,
created once, then updated per batch): the baseline does less work.

Two results:
a. throughput: events/s of Portside against the baseline (target >= 0.7x);
b. flatness: Portside's cost per event over the whole 100,000 against its cost over the first
   10,000, into a table that grows as the run goes (target: within 1.3x); the last 10,000 against
   the first 10,000, and the baseline's own flatness, are given for information.

`events` and `incidents` are truncated (as the superuser) before every run; the tenant and its
workflows, registered once through the container, stay. Before timing, the script checks that both
sides store the same events and that Portside opened one incident per signature counting every
failure.

Run from the repository root: `python bench/reliability_ingest.py [--profile] [--quick]`.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

# Run as `python bench/<name>.py`, only bench/ is on sys.path; `tests.servers` lives at the root.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import psycopg2
import psycopg2.extras
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

from adapters.sql import migrate
from adapters.sql.reliability import events as events_table
from adapters.sql.row_level_security import SYSTEM_SETTING, TENANT_SETTING
from application.container import Container, build_container
from application.reliability.commands import IncomingEvent, NewWorkflow
from application.reliability.ingestion import IngestEvents
from application.settings import Settings
from application.tenancy.use_cases import NewTenant
from ports.reliability import OPEN_STATUS_VALUES
from tests.servers import PG_APP_ROLE, PostgresServer, start_postgres

BENCH_NAME = Path(__file__).stem

EVENTS = 100_000
BATCH = 1_000
WORKFLOWS = 5
ERROR_CODES = ("UPSTREAM_TIMEOUT", "DB_TIMEOUT", "VENDOR_TIMEOUT", "QUEUE_TIMEOUT")
SIGNATURES = WORKFLOWS * len(ERROR_CODES)
FAILURE_SHARE = 0.2
GROUPS = 10
"""The flatness rows compare the first and the last tenth of the run (10,000 events of 100,000)."""
THROUGHPUT_TARGET = 0.7
FLATNESS_LIMIT = 1.3
"""Cost per event over the whole run / over the first tenth; as a throughput ratio, >= 1 / 1.3."""

# The baseline's column list comes from Portside's table so both sides always write the same columns.
COLUMNS = tuple(column.name for column in events_table.columns)
# `raw_row` spells the columns out; fail loudly if the schema moves away from it.
_RAW_ROW_COLUMNS = (
    "id", "tenant_id", "workflow_id", "event_type", "payload", "idempotency_key", "correlation_id",
    "occurred_at", "created_at", "updated_at", "version",
)
if COLUMNS != _RAW_ROW_COLUMNS:
    raise SystemExit(f"events columns {COLUMNS} no longer match this benchmark; update raw_row")

INSERT_EVENTS = (
    f"INSERT INTO events ({', '.join(COLUMNS)}) VALUES %s ON CONFLICT (tenant_id, idempotency_key) DO NOTHING"
)
# What the tenant-scope unit of work runs first in every transaction (adapters/sql/row_level_security.py).
BIND_TENANT_SCOPE = f"SELECT set_config('{TENANT_SETTING}', %s, true), set_config('{SYSTEM_SETTING}', 'off', true)"
# The content both sides must store alike (ids and ingestion times differ by construction).
CONTENT = "tenant_id, workflow_id, event_type, payload, idempotency_key, correlation_id, occurred_at, version"

Connection = Any  # psycopg2 ships no type information


# --------------------------------------------------------------------------------------------
# The events
# --------------------------------------------------------------------------------------------


def make_commands(tenant_id: uuid.UUID, workflow_ids: Sequence[uuid.UUID], count: int) -> list[IncomingEvent]:
    """Validated commands, as a service receives them; the same for every contender and run."""
    rng = random.Random(100_000)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    commands: list[IncomingEvent] = []
    for index in range(count):
        workflow_id = rng.choice(workflow_ids)
        payload: dict[str, Any]
        if rng.random() < FAILURE_SHARE:
            event_type = "step.failed"
            # The number varies, the signature does not: it blanks digits (domain/reliability/event.py).
            payload = {"error": {"code": rng.choice(ERROR_CODES), "message": f"timeout after {rng.randint(1, 120)} s"}}
        else:
            event_type = "step.completed"
            payload = {"step": f"step-{rng.randint(1, 12)}", "duration_ms": rng.randint(5, 5_000)}
        commands.append(IncomingEvent(
            tenant_id=tenant_id, workflow_id=workflow_id, event_type=event_type,
            idempotency_key=f"evt-{index:07d}", payload=payload, correlation_id=f"run-{index // 20:06d}",
            occurred_at=start + timedelta(milliseconds=index),
        ))
    return commands




# --------------------------------------------------------------------------------------------
# The contenders
# --------------------------------------------------------------------------------------------


@dataclass(slots=True)
class BatchClock:
    """Seconds per batch of every run of one contender, in run order (warm-ups first)."""

    runs: list[list[float]] = field(default_factory=list)

    def timed_runs(self, warmup: int) -> list[list[float]]:
        return self.runs[warmup:]


def portside_ingest(
    ingest: IngestEvents, batches: Sequence[Sequence[IncomingEvent]], clock: BatchClock
) -> Callable[[], None]:
    def run() -> None:
        seconds: list[float] = []
        clock.runs.append(seconds)
        for batch in batches:
            started = time.perf_counter()
            results = ingest(batch)
            seconds.append(time.perf_counter() - started)
            if len(results) != len(batch):
                raise RuntimeError("IngestEvents returned fewer results than events")

    return run


def raw_row(command: IncomingEvent, at: datetime) -> tuple[Any, ...]:
    """The row Portside stores for the command: a new id, the ingestion time, version 1."""
    return (
        uuid.uuid4(),
        command.tenant_id,
        command.workflow_id,
        command.event_type,
        psycopg2.extras.Json(command.payload),
        command.idempotency_key,
        command.correlation_id,
        command.occurred_at or at,
        at,
        at,
        1,
    )


def raw_ingest(
    connection: Connection, tenant_id: uuid.UUID, batches: Sequence[Sequence[IncomingEvent]], clock: BatchClock
) -> Callable[[], None]:
    tenant = str(tenant_id)

    def run() -> None:
        seconds: list[float] = []
        clock.runs.append(seconds)
        for batch in batches:
            started = time.perf_counter()
            # Turning commands into driver tuples is timed: the use case starts from commands too.
            at = datetime.now(UTC)
            values = [raw_row(command, at) for command in batch]
            with connection.cursor() as cursor:
                cursor.execute(BIND_TENANT_SCOPE, (tenant,))
                psycopg2.extras.execute_values(cursor, INSERT_EVENTS, values, page_size=len(values))
            connection.commit()
            seconds.append(time.perf_counter() - started)

    return run


# --------------------------------------------------------------------------------------------
# Database set-up and checks (as the superuser, which row-level security does not bind)
# --------------------------------------------------------------------------------------------




def connect_admin(dsn: str) -> Connection:
    connection = psycopg2.connect(dsn)
    psycopg2.extras.register_uuid(conn_or_curs=connection)
    return connection


def truncate(admin: Connection) -> None:
    with admin.cursor() as cursor:
        # The append-only triggers refuse TRUNCATE; the replica role skips them for this transaction
        # (as tests/conftest.py `_empty` does).
        cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute("TRUNCATE events, incidents")
    admin.commit()


def stored_events(admin: Connection) -> list[tuple[Any, ...]]:
    with admin.cursor() as cursor:
        cursor.execute(f"SELECT {CONTENT} FROM events ORDER BY idempotency_key")
        rows: list[tuple[Any, ...]] = cursor.fetchall()
    admin.commit()
    return rows


def stored_incidents(admin: Connection) -> list[tuple[str, str, int]]:
    with admin.cursor() as cursor:
        cursor.execute("SELECT signature, status, event_count FROM incidents ORDER BY signature")
        rows: list[tuple[str, str, int]] = cursor.fetchall()
    admin.commit()
    return rows


def check_equivalence(
    admin: Connection, portside: Callable[[], None], raw: Callable[[], None], commands: Sequence[IncomingEvent]
) -> None:
    """Both sides store the same events; Portside also opens one incident per signature."""
    truncate(admin)
    raw()
    from_raw = stored_events(admin)
    if stored_incidents(admin):
        raise RuntimeError("the baseline opened incidents?")
    truncate(admin)
    portside()
    from_portside = stored_events(admin)
    incidents = stored_incidents(admin)
    truncate(admin)
    if len(from_raw) != len(commands) or from_raw != from_portside:
        raise RuntimeError(
            f"Portside stored {len(from_portside):,} events and the baseline {len(from_raw):,} "
            f"(of {len(commands):,}), or different content; the comparison is void"
        )
    failures = sum(1 for command in commands if "error" in command.payload)
    if len(incidents) != SIGNATURES or any(status not in OPEN_STATUS_VALUES for _, status, _ in incidents) or (
        sum(count for _, _, count in incidents) != failures
    ):
        raise RuntimeError(f"expected {SIGNATURES} open incidents counting {failures:,} failures, got {incidents}")




def register(container: Container) -> tuple[uuid.UUID, list[uuid.UUID]]:
    """One tenant and its workflows, through the use cases."""
    tenant = container.create_tenant()(NewTenant(name="Ingest Bench", slug="ingest-bench"))
    workflows = [
        container.register_workflow()(NewWorkflow(tenant_id=tenant.id, name=f"pipeline-{index}"))
        for index in range(WORKFLOWS)
    ]
    return tenant.id, [workflow.id for workflow in workflows]


# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Flatness:
    """Per timed run, the seconds of the first and last tenth of the batches and of all of them."""

    first: Timing
    last: Timing
    whole: Timing

    @classmethod
    def of(cls, runs: Sequence[Sequence[float]]) -> Flatness:
        group = max(1, len(runs[0]) // GROUPS)
        return cls(
            Timing(tuple(sum(run[:group]) for run in runs)),
            Timing(tuple(sum(run[-group:]) for run in runs)),
            Timing(tuple(sum(run) for run in runs)),
        )


def us_per_event(timing: Timing, events: int) -> float:
    return timing.median / events * 1e6


@dataclass(frozen=True, slots=True)
class Results:
    comparisons: list[Comparison]
    flatness_table: str
    version: str


def run_benchmarks(server: PostgresServer, args: argparse.Namespace) -> Results:
    count = EVENTS // 10 if args.quick else EVENTS
    repetitions = 3 if args.quick else args.repetitions
    group = count // GROUPS
    migrate.upgrade(server.admin_url, grant_to=PG_APP_ROLE)
    container = build_container(Settings(database_url=server.app_url))
    try:
        with closing(connect_admin(server.dsn_admin)) as admin, closing(connect_raw(server.dsn_app)) as raw:
            # Autovacuum/autoanalyze waking up after the bulk inserts would land in random runs.
            with admin.cursor() as cursor:
                cursor.execute("ALTER TABLE events SET (autovacuum_enabled = off)")
                cursor.execute("ALTER TABLE incidents SET (autovacuum_enabled = off)")
            admin.commit()
            version = server_version(admin)

            tenant_id, workflow_ids = register(container)
            commands = make_commands(tenant_id, workflow_ids, count)
            batches = batched(commands, BATCH)  # slicing is the caller's business, not timed
            clocks = {"portside": BatchClock(), "execute_values": BatchClock()}
            contenders = {
                "portside": portside_ingest(container.ingest_events(), batches, clocks["portside"]),
                "execute_values": raw_ingest(raw, tenant_id, batches, clocks["execute_values"]),
            }
            check_equivalence(admin, contenders["portside"], contenders["execute_values"], commands)
            for clock in clocks.values():
                clock.runs.clear()

            print(f"ingest: {count:,} events, batches of {BATCH:,}, {repetitions} runs per contender ...", flush=True)
            timings = time_side_by_side(contenders, repetitions=repetitions, setup=lambda: truncate(admin))
            flat = {name: Flatness.of(clock.timed_runs(DEFAULT_WARMUP)) for name, clock in clocks.items()}
            if args.profile:
                truncate(admin)
                print(profile(contenders["portside"], top=args.profile_top))
                truncate(admin)
    finally:
        container.shutdown_resources()

    portside, raw_flat = flat["portside"], flat["execute_values"]
    # As throughput rows: the "baseline" column is Portside's own first tenth, extrapolated to the
    # whole run for the first row, so ops/s are events/s and the ratio is first-tenth cost / cost.
    first_as_whole = Timing(tuple(seconds * GROUPS for seconds in portside.first.seconds))
    comparisons = [
        Comparison(
            f"ingest, batches of {BATCH:,} through `IngestEvents` (vs `execute_values`, one transaction per batch)",
            count, timings["execute_values"], timings["portside"], THROUGHPUT_TARGET,
        ),
        Comparison(
            f"flatness: Portside over all {count:,} events (vs Portside over the first {group:,}); "
            f"target = cost/event within {FLATNESS_LIMIT}x",
            count, first_as_whole, portside.whole, 1 / FLATNESS_LIMIT,
        ),
        Comparison(
            f"flatness: Portside over the last {group:,} events (vs Portside over the first {group:,})",
            group, portside.first, portside.last, None,
        ),
        Comparison(
            f"flatness: `execute_values` over the last {group:,} events (vs `execute_values` over the first {group:,})",
            group, raw_flat.first, raw_flat.last, None,
        ),
    ]
    lines = [
        f"| contender | µs/event, first {group:,} | µs/event, last {group:,} | µs/event, all {count:,} "
        "| all / first | last / first |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, result in (("portside", portside), ("execute_values", raw_flat)):
        first, last, whole = (
            us_per_event(result.first, group), us_per_event(result.last, group), us_per_event(result.whole, count)
        )
        lines.append(
            f"| {name} | {first:.1f} | {last:.1f} | {whole:.1f} | {whole / first:.2f}x | {last / first:.2f}x |"
        )
    return Results(comparisons, "\n".join(lines), version)


NOTES = f"""
- Both sides connect as the application role over TCP to the same server. Portside:
  `build_container(Settings(database_url=<app-role URL>)).ingest_events()` called once per batch
  of {BATCH:,} `IncomingEvent` commands (built and validated beforehand, untimed, like a service
  receiving them). Baseline: per batch, one transaction running
  `SELECT set_config('{TENANT_SETTING}', <tenant>, true), set_config('{SYSTEM_SETTING}', 'off', true)`
  then `execute_values` (page_size={BATCH:,}) of `INSERT INTO events (...) VALUES %s ON CONFLICT
  (tenant_id, idempotency_key) DO NOTHING`, the rows built from the same commands (new uuid4 id,
  ingestion time, `Json` payload: timed).
- The events: one tenant, {WORKFLOWS} workflows, about {1 - FAILURE_SHARE:.0%} `step.completed` and
  {FAILURE_SHARE:.0%} `step.failed` events with `{{"error": {{"code": ..., "message": "timeout after N s"}}}}`
  ({len(ERROR_CODES)} codes x {WORKFLOWS} workflows = {SIGNATURES} signatures; N varies, the
  signature blanks it), seeded-random and the same for every run.
- The baseline does less work. Per batch Portside also checks each workflow of the batch exists
  and is active (a read by id each) and that no active kill switch stops it (one read of the
  tenant's active switches), inserts in a savepoint (a COPY into the connection's staging table,
  then `INSERT ... SELECT ... ON CONFLICT DO NOTHING RETURNING id::text`)
  (to tell new events from replays), computes every failure's signature, reads the open incidents
  of the batch's signatures in one query and updates each (or creates it, in the first batch), each
  update in its own savepoint, and returns an `Ingested` per event. Before timing both sides are checked to
  store the same events (content, not the generated ids and ingestion times), and Portside to have
  opened one incident per signature counting every failure.
- `events` and `incidents` are truncated before every run (autovacuum off on both), so each run
  fills an empty table; the flatness rows compare per-event cost as the table (and its three
  indexes) grows within one run: medians over the timed runs of the per-batch times. In those rows
  the "baseline" columns hold Portside's (or the baseline's) own first tenth, so the ratio is
  first-tenth cost per event / later cost per event: >= {1 / FLATNESS_LIMIT:.2f}x means within
  {FLATNESS_LIMIT}x. The second table gives the same as µs/event.
- The baseline's ids are `uuid.uuid4()` (what raw code would write); Portside's are time-ordered
  UUIDv7, made as the use case builds each `Event` (timed).
"""


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repetitions", type=int, default=DEFAULT_REPETITIONS, help="timed runs per contender")
    parser.add_argument("--profile", action="store_true", help="also print cProfile output of the Portside side")
    parser.add_argument("--profile-top", type=int, default=40, help="functions listed by --profile")
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
    print(f"\n{results.flatness_table}")
    print(f"\n{note}")
    for missed in (c for c in results.comparisons if c.met is False):
        assert missed.target is not None
        print(f"target missed: {missed.operation}: {missed.ratio:.2f}x < {missed.target:.2f}x")
    print(f"total time {time.perf_counter() - started:.0f}s")
    if not (args.quick or args.no_docs):
        body = f"{table}\n\n{results.flatness_table}\n\n{note}\n{NOTES}"
        write_section(BENCH_NAME, body, machine)
        print("\ndocs/benchmarks.md updated")
    return 0


if __name__ == "__main__":
    sys.exit(main())
