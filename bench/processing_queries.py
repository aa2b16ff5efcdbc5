"""The two one-query reads of the SQL execution repository as the table grows: 10,000 against 1,000,000
executions on PostgreSQL.

`uow.executions.get_active_executions(up_id)` (the enabled, completed executions of an underwriting
processor's `current_executions_list`, in the list's order) and `uow.executions.get_execution_chain(
exec_id)` (every execution linked to one through supersession, oldest first) are each documented as
one query. For each, at both table sizes:

a. statements per call: what the SQL adapter sends during the call, counted with a SQLAlchemy
   `before_cursor_execute` listener on the engine (target: 1);
b. the plan: `EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON)` of the exact statement and parameters the
   listener captured, run as the application role with the same tenant scope; target: index scans,
   no Seq Scan on processor_executions;
c. median latency of a call (same query shapes: a list of 10 ids, a chain of 10 executions) at
   1,000,000 rows against 10,000 rows; target: within 2x.

Two databases of one server hold the two sizes side by side, so the calls alternate between them
round by round (drift of the machine hits both alike). The data is built with raw SQL as the
superuser (`INSERT ... SELECT generate_series`), spread over 100 organizations, two underwriting
processors per underwriting and 50 executions per underwriting processor: 40 completed (the first
10 a supersession chain, the next 10 its current executions list), 6 failed, 2 running, 2 pending.
The secondary indexes the migration creates are dropped during the load and recreated from their
own definitions afterwards (faster than maintaining them row by row), then VACUUM ANALYZE.

Run from the repository root: `python bench/processing_queries.py [--quick]`.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import random
import statistics
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Run as `python bench/<name>.py`, only bench/ is on sys.path; `tests.servers` lives at the root.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import psycopg2
import psycopg2.extras
import sqlalchemy as sa
from _harness import (
    DEFAULT_REPETITIONS,
    DEFAULT_WARMUP,
    NOISY_SPREAD,
    load_average,
    machine_details,
    portside_database,
    write_section,
)

from adapters.rules.processing import processing_units
from adapters.sql import migrate
from adapters.sql.backend import SqlBackend
from adapters.sql.database import SqlDatabase
from adapters.sql.processing import SqlExecutionQueries
from adapters.sql.row_level_security import SYSTEM_SETTING, TENANT_SETTING
from domain.processing.execution import Execution
from ports.processing import ProcessingUnitOfWorkFactory
from tests.servers import PG_APP_ROLE, PostgresServer, start_postgres

BENCH_NAME = Path(__file__).stem

SMALL = 10_000
LARGE = 1_000_000
QUICK_LARGE = 100_000
ORGANIZATIONS = 100
PER_UP = 50
"""Executions per underwriting processor; two underwriting processors per underwriting."""
CHAIN = 10
"""Executions 0..9 of each underwriting processor: 0 superseded by 1, ... 8 by 9 (9 is enabled)."""
LIST_FROM, LIST_LENGTH = 10, 10
"""Executions 10..19 (completed, enabled) form the processor's current executions list."""
CALLS = 400
"""Calls per method, database and round (each on a seeded-random underwriting processor)."""
LATENCY_LIMIT = 2.0
STATEMENT_TARGET = 1

BIND_TENANT_SCOPE = f"SELECT set_config('{TENANT_SETTING}', %s, true), set_config('{SYSTEM_SETTING}', 'off', true)"

Connection = Any  # psycopg2 ships no type information


# --------------------------------------------------------------------------------------------
# The data: deterministic ids (md5 of a label) so Python can name any row without reading it
# --------------------------------------------------------------------------------------------


def label_id(label: str) -> uuid.UUID:
    return uuid.UUID(hashlib.md5(label.encode()).hexdigest())


def org_of(up: int) -> uuid.UUID:
    return label_id(f"org-{(up // 2) % ORGANIZATIONS}")


def up_id(up: int) -> uuid.UUID:
    return label_id(f"up-{up}")


def execution_id(up: int, position: int) -> uuid.UUID:
    return label_id(f"ex-{up * PER_UP + position}")


_PROCESSOR = "CASE WHEN {u} % 2 = 0 THEN 'p_bank_statement' ELSE 'p_credit_report' END"

LOAD_UNDERWRITING_PROCESSORS = f"""
INSERT INTO underwriting_processors (
    id, organization_id, underwriting_id, purchased_processor_id, processor, name, auto, enabled,
    config_override, effective_config, current_executions_list, created_at, updated_at, version)
SELECT md5('up-' || u)::uuid, md5('org-' || ((u / 2) % {ORGANIZATIONS}))::uuid, md5('uw-' || (u / 2))::uuid,
       md5('pp-' || ((u / 2) % {ORGANIZATIONS}) || '-' || (u % 2))::uuid, {_PROCESSOR.format(u="u")},
       'processor ' || u, false, true, '{{}}'::jsonb, '{{"months": 6}}'::jsonb,
       ARRAY(SELECT md5('ex-' || (u * {PER_UP} + k))::uuid
             FROM generate_series({LIST_FROM}, {LIST_FROM + LIST_LENGTH - 1}) AS k ORDER BY k),
       timestamptz '2026-01-01' + u * interval '1 minute', timestamptz '2026-01-01' + u * interval '1 minute', 1
FROM generate_series(0, :ups - 1) AS u
"""

# k = position in its underwriting processor; created_at follows g, so a chain's order is its links' order.
LOAD_EXECUTIONS = f"""
INSERT INTO processor_executions (
    id, organization_id, underwriting_id, underwriting_processor_id, processor, status, enabled, payload,
    payload_hash, output, factors_delta, document_revision_ids, document_ids_hash, run_cost_cents, started_at,
    completed_at, failed_code, failed_reason, updated_execution_id, disabled_at, created_at, updated_at, version)
SELECT md5('ex-' || g)::uuid, md5('org-' || ((u / 2) % {ORGANIZATIONS}))::uuid, md5('uw-' || (u / 2))::uuid,
       md5('up-' || u)::uuid, {_PROCESSOR.format(u="u")},
       CASE WHEN k < 40 THEN 'completed' WHEN k < 46 THEN 'failed' WHEN k < 48 THEN 'running' ELSE 'pending' END,
       k >= {CHAIN - 1},
       jsonb_build_object('account', 'acct-' || (g % 977), 'months', 3 + g % 10, 'n', g),
       md5('p' || g) || md5('q' || g),
       CASE WHEN k < 40 THEN jsonb_build_object('score', g % 850, 'flags', '[]'::jsonb) END,
       CASE WHEN k < 40 THEN jsonb_build_object('monthly_revenue', g * 10) END,
       CASE WHEN g % 4 = 0 THEN '{{}}'::text[] ELSE ARRAY['doc-' || g, 'doc-' || g || '-b'] END,
       CASE WHEN g % 4 = 0 THEN NULL ELSE md5('d' || g) || md5('e' || g) END,
       CASE WHEN k < 40 THEN 25 + g % 50 END,
       CASE WHEN k < 48 THEN ts END,
       CASE WHEN k < 46 THEN ts + interval '2 seconds' END,
       CASE WHEN k >= 40 AND k < 46 THEN 'UPSTREAM_TIMEOUT' END,
       CASE WHEN k >= 40 AND k < 46 THEN 'timeout after ' || (g % 120) || ' s' END,
       CASE WHEN k < {CHAIN - 1} THEN md5('ex-' || (g + 1))::uuid END,
       CASE WHEN k < {CHAIN - 1} THEN ts + interval '5 minutes' END,
       ts, ts, 1
FROM (
    SELECT g, g / {PER_UP} AS u, g % {PER_UP} AS k, timestamptz '2026-01-01' + g * interval '1 second' AS ts
    FROM generate_series(0, :executions - 1) AS g
) AS numbered
"""

SECONDARY_INDEXES = """
SELECT i.relname, pg_get_indexdef(i.oid)
FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
WHERE x.indrelid = %s::regclass AND NOT x.indisprimary
  AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.oid)
ORDER BY i.relname
"""


def connect(dsn: str, *, autocommit: bool) -> Connection:
    connection = psycopg2.connect(dsn)
    psycopg2.extras.register_uuid(conn_or_curs=connection)
    connection.autocommit = autocommit
    return connection


def load(admin: Connection, executions: int) -> float:
    """Fill both tables with `executions` executions (and their underwriting processors); seconds taken."""
    started = time.perf_counter()
    with admin.cursor() as cursor:
        cursor.execute("SET maintenance_work_mem = '512MB'")
        cursor.execute("TRUNCATE processor_executions, underwriting_processors")
        for table in ("processor_executions", "underwriting_processors"):
            cursor.execute(f"ALTER TABLE {table} SET (autovacuum_enabled = off)")
        indexes: list[tuple[str, str]] = []
        for table in ("processor_executions", "underwriting_processors"):
            cursor.execute(SECONDARY_INDEXES, (table,))
            indexes.extend(cursor.fetchall())
        for name, _ in indexes:
            cursor.execute(f'DROP INDEX "{name}"')
        # Counts spliced in as integers: the statements' `%` operators rule out driver parameters.
        cursor.execute(LOAD_UNDERWRITING_PROCESSORS.replace(":ups", str(int(executions // PER_UP))))
        cursor.execute(LOAD_EXECUTIONS.replace(":executions", str(int(executions))))
        for _, definition in indexes:
            cursor.execute(definition)
        cursor.execute("VACUUM (ANALYZE) processor_executions")
        cursor.execute("VACUUM (ANALYZE) underwriting_processors")
    return time.perf_counter() - started


def check_data(factory: ProcessingUnitOfWorkFactory, executions: int) -> None:
    """The shapes the timings assume, read through Portside itself."""
    up = executions // PER_UP - 1
    with factory.for_tenant(org_of(up)) as uow:
        active = uow.executions.get_active_executions(up_id(up))
        chain = uow.executions.get_execution_chain(execution_id(up, CHAIN // 2))
    if [e.id for e in active] != [execution_id(up, LIST_FROM + k) for k in range(LIST_LENGTH)]:
        raise RuntimeError(f"expected the {LIST_LENGTH} listed executions, got {len(active)}; the data is wrong")
    if [e.id for e in chain] != [execution_id(up, k) for k in range(CHAIN)]:
        raise RuntimeError(f"expected a chain of {CHAIN}, got {len(chain)}; the data is wrong")


# --------------------------------------------------------------------------------------------
# Statements sent: a listener on the engine
# --------------------------------------------------------------------------------------------


@dataclass(slots=True)
class StatementLog:
    recording: bool = False
    statements: list[tuple[str, Any]] = field(default_factory=list)

    def attach(self, engine: sa.Engine) -> None:
        def before(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
            if self.recording:
                self.statements.append((statement, parameters))

        sa.event.listen(engine, "before_cursor_execute", before)

    @contextmanager
    def record(self) -> Iterator[list[tuple[str, Any]]]:
        self.statements = []
        self.recording = True
        try:
            yield self.statements
        finally:
            self.recording = False


# --------------------------------------------------------------------------------------------
# Plans
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Plan:
    nodes: tuple[str, ...]
    """Pre-order, one entry per node: its type, and the index and relation it reads."""
    seq_scans_on_executions: int
    index_scans_on_executions: int
    execution_ms: float
    shared_blocks: int
    removed_on_executions: int
    """Rows of processor_executions an index scan fetched and a filter then dropped (all loops)."""
    document: str
    """The whole EXPLAIN output, for --plans."""

    @property
    def ok(self) -> bool:
        return self.seq_scans_on_executions == 0 and self.index_scans_on_executions > 0

    def summary(self) -> str:
        counted: dict[str, int] = {}
        for node in self.nodes:
            counted[node] = counted.get(node, 0) + 1
        return "; ".join(node if count == 1 else f"{node} x{count}" for node, count in counted.items())


def _walk(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield node
    for child in node.get("Plans", ()):
        yield from _walk(child)


def explain(app: Connection, org: uuid.UUID, statement: str, parameters: Any) -> Plan:
    """EXPLAIN the captured statement as the application role, in the tenant's scope."""
    with app.cursor() as cursor:
        cursor.execute(BIND_TENANT_SCOPE, (str(org),))
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {statement}", parameters)
        document = cursor.fetchone()[0][0]
    app.rollback()
    nodes: list[str] = []
    seq = index = removed = 0
    for node in _walk(document["Plan"]):
        kind = str(node["Node Type"])
        relation = node.get("Relation Name")
        text = kind
        if "Index Name" in node:
            text += f" {node['Index Name']}"
        if relation is not None:
            text += f" on {relation}"
        nodes.append(text)
        if relation == "processor_executions":
            if kind == "Seq Scan":
                seq += 1
            elif "Index" in kind:
                index += 1
            loops = int(node.get("Actual Loops", 1))
            removed += loops * int(node.get("Rows Removed by Filter", 0)) + loops * int(
                node.get("Rows Removed by Index Recheck", 0))
    top = document["Plan"]
    blocks = int(top.get("Shared Hit Blocks", 0)) + int(top.get("Shared Read Blocks", 0))
    return Plan(tuple(nodes), seq, index, float(document["Execution Time"]), blocks, removed,
                json.dumps(document, indent=1))


# --------------------------------------------------------------------------------------------
# One database of one size
# --------------------------------------------------------------------------------------------

Method = Callable[[Any, int], Sequence[Execution]]
"""(uow, underwriting processor number) -> the call's result."""


def call_active(uow: Any, up: int) -> Sequence[Execution]:
    result: Sequence[Execution] = uow.executions.get_active_executions(up_id(up))
    return result


def call_chain(uow: Any, up: int) -> Sequence[Execution]:
    result: Sequence[Execution] = uow.executions.get_execution_chain(execution_id(up, CHAIN // 2))
    return result


METHODS: dict[str, tuple[Method, int]] = {
    "get_active_executions": (call_active, LIST_LENGTH),
    "get_execution_chain": (call_chain, CHAIN),
}


@dataclass(slots=True)
class Size:
    executions: int
    database: SqlDatabase
    factory: ProcessingUnitOfWorkFactory
    log: StatementLog
    app: Connection
    load_seconds: float
    latencies: dict[str, list[list[float]]] = field(default_factory=dict)
    """Per method, per run (warm-ups first): seconds of each call."""

    @property
    def ups(self) -> int:
        return self.executions // PER_UP

    def run(self, method: str, ups: Sequence[int]) -> Callable[[], None]:
        call, expected = METHODS[method]

        def timed() -> None:
            seconds: list[float] = []
            self.latencies.setdefault(method, []).append(seconds)
            for up in ups:
                # One unit of work per call, as a request would; only the repository call is timed.
                with self.factory.for_tenant(org_of(up)) as uow:
                    started = time.perf_counter()
                    result = call(uow, up)
                    seconds.append(time.perf_counter() - started)
                if len(result) != expected:
                    raise RuntimeError(f"{method} returned {len(result)} executions, expected {expected}")

        return timed

    def probe(self, method: str, up: int) -> tuple[int, Plan]:
        """Statements sent by one call, and the plan of the (first) one."""
        call, _ = METHODS[method]
        with self.factory.for_tenant(org_of(up)) as uow, self.log.record() as statements:
            call(uow, up)
        captured = list(statements)
        if not captured:
            raise RuntimeError(f"{method} sent no statement through SQLAlchemy")
        statement, parameters = captured[0]
        return len(captured), explain(self.app, org_of(up), statement, parameters)


@contextmanager
def size_database(server: PostgresServer, name: str, executions: int) -> Iterator[Size]:
    server.create_database(name)
    here = dataclasses.replace(server, database=name)
    migrate.upgrade(here.admin_url, grant_to=PG_APP_ROLE)
    with closing(connect(here.dsn_admin, autocommit=True)) as admin:
        print(f"loading {executions:,} executions into {name} ...", flush=True)
        seconds = load(admin, executions)
        print(f"  loaded in {seconds:.1f}s", flush=True)
    database = portside_database(here.app_url)
    log = StatementLog()
    log.attach(database.engine)
    try:
        with closing(connect(here.dsn_app, autocommit=False)) as app:
            factory = processing_units(SqlBackend(database), queries=SqlExecutionQueries)
            size = Size(executions, database, factory, log, app, seconds)
            check_data(size.factory, executions)
            yield size
    finally:
        database.dispose()


# --------------------------------------------------------------------------------------------


def median_ms(runs: Sequence[Sequence[float]]) -> float:
    return statistics.median(value for run in runs for value in run) * 1e3


@dataclass(frozen=True, slots=True)
class Row:
    method: str
    small: int
    large: int
    statements: dict[int, int]
    plans: dict[int, Plan]
    median_ms: dict[int, float]
    run_spread: float
    """(max - min) / median of the per-run medians, worst of the two sizes."""

    @property
    def ratio(self) -> float:
        return self.median_ms[self.large] / self.median_ms[self.small]

    @property
    def met(self) -> bool:
        return self.ratio <= LATENCY_LIMIT and self.statements[self.large] == STATEMENT_TARGET and self.plans[
            self.large].ok


def measure(sizes: Sequence[Size], calls: int, repetitions: int) -> list[Row]:
    rows: list[Row] = []
    for method in METHODS:
        probes = {size.executions: size.probe(method, size.ups // 2) for size in sizes}
        # Round-robin over the sizes, order rotating each round, the first round a warm-up.
        for round_number in range(DEFAULT_WARMUP + repetitions):
            shift = round_number % len(sizes)
            order = [*sizes[shift:], *sizes[:shift]]
            for size in order:
                ups = random.Random(round_number).choices(range(size.ups), k=calls)
                size.run(method, ups)()
        medians: dict[int, float] = {}
        spread = 0.0
        for size in sizes:
            runs = size.latencies[method][DEFAULT_WARMUP:]
            medians[size.executions] = median_ms(runs)
            per_run = [statistics.median(run) for run in runs]
            spread = max(spread, (max(per_run) - min(per_run)) / statistics.median(per_run))
        counts = {n: count for n, (count, _) in probes.items()}
        plans = {n: plan for n, (_, plan) in probes.items()}
        rows.append(Row(method, sizes[0].executions, sizes[-1].executions, counts, plans, medians, spread))
    return rows


def yes_no(ok: bool) -> str:
    return "yes" if ok else "**no**"


def tables(rows: Sequence[Row]) -> str:
    small, large = rows[0].small, rows[0].large
    lines = [
        f"| method | statements/call ({small:,} / {large:,}) "
        "| index scans on processor_executions, no Seq Scan (both sizes) "
        f"| median ms at {small:,} | median ms at {large:,} | {large:,} / {small:,} | target | met? |",
        "| --- | :---: | :---: | ---: | ---: | ---: | ---: | :---: |",
    ]
    for row in rows:
        counts = " / ".join(str(row.statements[n]) for n in (small, large))
        plans = " / ".join(yes_no(row.plans[n].ok) for n in (small, large))
        lines.append(
            f"| `{row.method}` | {counts} | {plans} | {row.median_ms[small]:.3f} | {row.median_ms[large]:.3f} "
            f"| {row.ratio:.2f}x | 1 statement, index scans, <= {LATENCY_LIMIT:.0f}x | {yes_no(row.met)} |"
        )
    lines += [
        "",
        "| method | rows | plan node types (pre-order; index, relation) | EXPLAIN ANALYZE ms | shared blocks "
        "| executions rows filtered out |",
        "| --- | ---: | --- | ---: | ---: | ---: |",
    ]
    for row in rows:
        for n in (small, large):
            plan = row.plans[n]
            lines.append(
                f"| `{row.method}` | {n:,} | {plan.summary()} | {plan.execution_ms:.3f} | {plan.shared_blocks} "
                f"| {plan.removed_on_executions} |"
            )
    return "\n".join(lines)


def run_benchmarks(server: PostgresServer, args: argparse.Namespace) -> tuple[list[Row], str, dict[int, float]]:
    large_rows = QUICK_LARGE if args.quick else LARGE
    calls = CALLS // 4 if args.quick else CALLS
    repetitions = 3 if args.quick else args.repetitions
    with size_database(server, "small", SMALL) as small, size_database(server, "large", large_rows) as large:
        with closing(connect(server.dsn_admin, autocommit=True)) as admin, admin.cursor() as cursor:
            cursor.execute("SHOW server_version")
            version = str(cursor.fetchone()[0])
        print(f"measuring: {calls} calls x {repetitions} rounds per method and size ...", flush=True)
        rows = measure([small, large], calls, repetitions)
        loads = {small.executions: small.load_seconds, large.executions: large.load_seconds}
    return rows, version, loads


def notes(calls: int, repetitions: int) -> str:
    return f"""
- Both databases live on the same server and hold the migration's schema (all its indexes); the
  calls alternate between them round by round (the first round a warm-up), {calls} calls per method,
  size and round ({repetitions} timed rounds), each in its own `for_tenant(org)` unit of work (bound
  to the organization by row-level security, as the application role), only the repository call
  timed (the statement, the round trip, building the `Execution`s). The median is over every timed
  call. The underwriting processors called are seeded-random, the same numbers at both sizes where
  they exist.
- Data: {ORGANIZATIONS} organizations, two underwriting processors per underwriting, {PER_UP}
  executions per underwriting processor (so 20,000 underwriting processors at 1M): 40 completed,
  6 failed, 2 running, 2 pending; the first {CHAIN} a supersession chain (each superseded by the
  next, disabled but the last), the next {LIST_LENGTH} the processor's current executions list.
  `get_active_executions` returns the {LIST_LENGTH} listed executions; `get_execution_chain` starts
  in the middle of a chain and returns its {CHAIN} executions.
- Statements per call: a `before_cursor_execute` listener on the engine counts every statement the
  adapter sends during the call (the scope binding runs when the unit of work starts, before it).
  The plans are `EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON)` of the exact captured statement and
  parameters, as the application role in the organization's scope (so the row-level security
  policy's filter is in the plan); the second table lists each plan's nodes.
- Loading: `INSERT ... SELECT generate_series` as the superuser with the secondary indexes dropped,
  recreated from their own definitions (`pg_get_indexdef`) after the load, then `VACUUM (ANALYZE)`.
- What the plans do (`--plans` prints them whole). `get_active_executions`: a primary-key probe of
  the underwriting processor, then not one primary-key probe per listed id but an index scan of
  `uq_processor_executions_live_payload` on its (organization_id, underwriting_processor_id) prefix,
  which reads every live (pending, running, completed) execution of that processor (44 here), drops
  the disabled or not completed ones by filter and keeps the listed ones by the join filter
  `id = ANY(current_executions_list)`. Flat in the table's size, but linear in the processor's own
  history of live executions, not in the list's length. `get_execution_chain`: a primary-key probe
  for the start, then per linked row a BitmapOr of `ix_processor_executions_superseded` and the
  primary key, and a primary-key probe per linked id for the final rows.
"""


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repetitions", type=int, default=DEFAULT_REPETITIONS, help="timed rounds per size")
    parser.add_argument("--quick", action="store_true",
                        help="100,000 rows instead of 1,000,000, fewer calls; never written to the docs")
    parser.add_argument("--plans", action="store_true", help="also print the statements' whole EXPLAIN output")
    parser.add_argument("--no-docs", action="store_true", help="print only, leave docs/benchmarks.md alone")
    args = parser.parse_args(argv)

    load_before = load_average()
    started = time.perf_counter()
    with start_postgres() as server:
        rows, version, loads = run_benchmarks(server, args)

    calls = CALLS // 4 if args.quick else CALLS
    repetitions = 3 if args.quick else args.repetitions
    machine = machine_details(version, load_before)
    table = tables(rows)
    worst = max(row.run_spread for row in rows)
    note = (f"Median of every timed call; worst (max - min) / median spread of the per-round medians: {worst:.0%}. "
            f"Load time: " + ", ".join(f"{n:,} rows {s:.1f}s" for n, s in loads.items()) + ".")
    if worst > NOISY_SPREAD:
        note += " Noisy: other work competed for the machine, so small ratio differences between runs mean little."
    if args.plans:
        for row in rows:
            for n, plan in row.plans.items():
                print(f"\n{row.method} at {n:,} rows:\n{plan.document}")
    print(f"\n{BENCH_NAME} on {machine.summary}\n")
    print(table)
    print(f"\n{note}")
    for row in rows:
        if row.ratio > LATENCY_LIMIT:
            print(f"target missed: {row.method}: {row.ratio:.2f}x > {LATENCY_LIMIT:.0f}x")
        if row.statements[row.large] != STATEMENT_TARGET or not row.plans[row.large].ok:
            nodes = row.plans[row.large].summary()
            print(f"target missed: {row.method}: {row.statements[row.large]} statements, plan {nodes}")
    print(f"total time {time.perf_counter() - started:.0f}s")
    if not (args.quick or args.no_docs):
        write_section(BENCH_NAME, f"{table}\n\n{note}\n{notes(calls, repetitions)}", machine)
        print("\ndocs/benchmarks.md updated")
    return 0


if __name__ == "__main__":
    sys.exit(main())
