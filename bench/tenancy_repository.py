"""The SQL tenant repository on PostgreSQL against raw psycopg2 doing the same work, on both drivers.

a. get by id: random lookups of existing tenants inside one transaction, Portside's
   `uow.tenants.get_by_id` against psycopg2 `SELECT ... WHERE id = %s` + `fetchone` building the
   same `Tenant` (with `model_construct`, as Portside does), plus psycopg2 fetching bare tuples as
   the raw driver floor (information only: no mapping layer can reach it).
b. bulk create: tenants inserted in batches of 1,000, `bulk_create` per batch in one unit of
   work, against `psycopg2.extras.execute_values(page_size=1000)` of the same rows.

Portside runs both on psycopg2 and on psycopg 3 (`postgresql+psycopg://`): one more row each.

Both sides connect as the application role, which row-level security binds (the table has FORCE
ROW LEVEL SECURITY), so the baseline binds system scope at the start of each transaction exactly
as the unit of work does; without it the baseline would see no rows and look fast for nothing.
Before timing, the script checks that both sides read and write the same tenants.

Run from the repository root: `python bench/tenancy_repository.py [--profile] [--quick]`.
"""

from __future__ import annotations

import argparse
import random
import sys
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
    on_psycopg,
    portside_database,
    profile,
    ratio_table,
    server_version,
    spread_note,
    time_side_by_side,
    write_section,
)

from adapters.rules.tenancy import tenancy_units
from adapters.sql import migrate
from adapters.sql.backend import SqlBackend
from adapters.sql.row_level_security import SYSTEM_SETTING, TENANT_SETTING
from adapters.sql.tenancy import tenants as tenants_table
from domain.tenancy.tenant import Tenant
from ports.tenancy import TenancyUnitOfWorkFactory
from tests.servers import PG_APP_ROLE, PostgresServer, start_postgres

BENCH_NAME = Path(__file__).stem
ON_PSYCOPG = "portside on psycopg 3"

SEEDED_TENANTS = 10_000
LOOKUPS = 20_000
BULK_ROWS = 50_000
BULK_BATCH = 1_000
GET_TARGET = 0.9
BULK_TARGET = 1.0

# The baseline's column list comes from Portside's table so both sides always read the same columns.
COLUMNS = tuple(column.name for column in tenants_table.columns)
# `_raw_row` spells the columns out (the cheap way a raw-driver user writes it); fail loudly if the
# schema moves away from it rather than benchmark different work.
_RAW_ROW_COLUMNS = ("id", "name", "slug", "is_active", "settings", "created_at", "updated_at", "version")
if COLUMNS != _RAW_ROW_COLUMNS or set(COLUMNS) != set(Tenant.model_fields):
    raise SystemExit(f"tenants columns {COLUMNS} no longer match this benchmark; update _raw_row")

SELECT_BY_ID = f"SELECT {', '.join(COLUMNS)} FROM tenants WHERE id = %s"
INSERT_VALUES = f"INSERT INTO tenants ({', '.join(COLUMNS)}) VALUES %s"
# What Portside's bulk_create sends around each batch (all or nothing), for the "same SQL" information row.
SAVEPOINT, RELEASE = "SAVEPOINT bulk_create", "RELEASE SAVEPOINT bulk_create"
# What the system-scope unit of work runs first in every transaction (adapters/sql/row_level_security.py).
BIND_SYSTEM_SCOPE = f"SELECT set_config('{TENANT_SETTING}', '', true), set_config('{SYSTEM_SETTING}', 'on', true)"

Connection = Any  # psycopg2 ships no type information


def make_tenants(count: int, prefix: str) -> list[Tenant]:
    """Validated tenants (through `Tenant.register`, like real callers) with distinct timestamps."""
    start = datetime(2025, 1, 1, tzinfo=UTC)
    return [
        Tenant.register(
            name=f"{prefix.title()} {index:06d}",
            slug=f"{prefix}-{index:06d}",
            at=start + timedelta(seconds=index),
            settings={"plan": ("free", "team", "enterprise")[index % 3], "seats": index % 250},
        )
        for index in range(count)
    ]


def _raw_row(tenant: Tenant) -> tuple[Any, ...]:
    return (
        tenant.id,
        tenant.name,
        tenant.slug,
        tenant.is_active,
        psycopg2.extras.Json(tenant.settings),
        tenant.created_at,
        tenant.updated_at,
        tenant.version,
    )




def connect_admin(dsn: str) -> Connection:
    connection = psycopg2.connect(dsn)
    connection.autocommit = True
    return connection


def truncate(admin: Connection) -> None:
    with admin.cursor() as cursor:
        # CASCADE: the control plane's tables reference tenants (they are empty here), and one of them,
        # audit_logs, is append-only: the replica role (superuser only) skips its refusing trigger.
        cursor.execute("BEGIN; SET LOCAL session_replication_role = replica; TRUNCATE tenants CASCADE; COMMIT")


def seed(admin: Connection, rows: Sequence[Tenant]) -> None:
    # The superuser bypasses row-level security, so seeding needs no scope.
    with admin.cursor() as cursor:
        psycopg2.extras.execute_values(cursor, INSERT_VALUES, [_raw_row(t) for t in rows], page_size=BULK_BATCH)
        cursor.execute("ANALYZE tenants")


def read_all(admin: Connection) -> list[Tenant]:
    with admin.cursor() as cursor:
        psycopg2.extras.register_uuid(conn_or_curs=cursor)
        cursor.execute(f"SELECT {', '.join(COLUMNS)} FROM tenants ORDER BY id")
        return [Tenant.model_construct(**dict(zip(COLUMNS, row, strict=True))) for row in cursor.fetchall()]


# --------------------------------------------------------------------------------------------
# a. get by id
# --------------------------------------------------------------------------------------------


def _all_found(missing: int) -> None:
    # Every id exists: a miss means the scope was not bound and the numbers would be meaningless.
    if missing:
        raise RuntimeError(f"{missing} lookups found nothing; is row-level security scope bound?")


def portside_get(factory: TenancyUnitOfWorkFactory, ids: Sequence[uuid.UUID]) -> Callable[[], None]:
    def run() -> None:
        missing = 0
        with factory.system() as uow:
            for entity_id in ids:
                if uow.tenants.get_by_id(entity_id) is None:
                    missing += 1
        _all_found(missing)

    return run


def raw_get_tenants(connection: Connection, ids: Sequence[uuid.UUID]) -> Callable[[], None]:
    def run() -> None:
        missing = 0
        with connection.cursor() as cursor:
            cursor.execute(BIND_SYSTEM_SCOPE)
            for entity_id in ids:
                cursor.execute(SELECT_BY_ID, (entity_id,))
                row = cursor.fetchone()
                if row is None:
                    missing += 1
                else:
                    Tenant.model_construct(**dict(zip(COLUMNS, row, strict=True)))
        connection.commit()
        _all_found(missing)

    return run


def raw_get_tuples(connection: Connection, ids: Sequence[uuid.UUID]) -> Callable[[], None]:
    def run() -> None:
        missing = 0
        with connection.cursor() as cursor:
            cursor.execute(BIND_SYSTEM_SCOPE)
            for entity_id in ids:
                cursor.execute(SELECT_BY_ID, (entity_id,))
                if cursor.fetchone() is None:
                    missing += 1
        connection.commit()
        _all_found(missing)

    return run


def check_get_equivalence(factory: TenancyUnitOfWorkFactory, raw: Connection, seeded: Sequence[Tenant]) -> None:
    """Both sides must produce equal Tenants, equal to what was seeded (UTC datetimes included)."""
    sample = seeded[:: max(1, len(seeded) // 500)]
    with factory.system() as uow:
        from_portside = [uow.tenants.get_by_id(t.id) for t in sample]
    from_raw: list[Tenant | None] = []
    with raw.cursor() as cursor:
        cursor.execute(BIND_SYSTEM_SCOPE)
        for tenant in sample:
            cursor.execute(SELECT_BY_ID, (tenant.id,))
            row = cursor.fetchone()
            from_raw.append(None if row is None else Tenant.model_construct(**dict(zip(COLUMNS, row, strict=True))))
    raw.commit()
    if not (from_portside == from_raw == list(sample)):
        raise RuntimeError("Portside and the psycopg2 baseline read different tenants; the comparison is void")


# --------------------------------------------------------------------------------------------
# b. bulk create
# --------------------------------------------------------------------------------------------




def portside_bulk(factory: TenancyUnitOfWorkFactory, rows: Sequence[Tenant]) -> Callable[[], None]:
    batches = batched(rows, BULK_BATCH)  # slicing is the caller's business, not timed

    def run() -> None:
        with factory.system() as uow:
            for batch in batches:
                uow.tenants.bulk_create(batch)

    return run


def raw_bulk(connection: Connection, rows: Sequence[Tenant], *, savepoints: bool = False) -> Callable[[], None]:
    """execute_values; with `savepoints`, the SQL Portside sends (each batch of the one `INSERT` in
    its own savepoint, so that a taken key undoes it alone), to tell the cost of those semantics
    apart from the cost of the Python layers."""
    batches = batched(rows, BULK_BATCH)

    def run() -> None:
        # Turning Tenants into driver tuples is timed: Portside's bulk_create starts from Tenants too.
        values = [_raw_row(tenant) for tenant in rows]
        with connection.cursor() as cursor:
            cursor.execute(BIND_SYSTEM_SCOPE)
            if savepoints:
                start = 0
                for batch in batches:
                    cursor.execute(SAVEPOINT)
                    page = values[start: start + len(batch)]
                    psycopg2.extras.execute_values(cursor, INSERT_VALUES, page, page_size=len(page))
                    cursor.execute(RELEASE)
                    start += len(batch)
            else:
                psycopg2.extras.execute_values(cursor, INSERT_VALUES, values, page_size=BULK_BATCH)
        connection.commit()

    return run


def check_bulk_equivalence(
    admin: Connection, contenders: dict[str, Callable[[], None]], rows: Sequence[Tenant]
) -> None:
    expected = sorted(rows, key=lambda tenant: tenant.id)
    for name, run in contenders.items():
        truncate(admin)
        run()
        if read_all(admin) != expected:
            raise RuntimeError(f"{name} did not write exactly the given tenants; the comparison is void")


# --------------------------------------------------------------------------------------------




def run_benchmarks(server: PostgresServer, args: argparse.Namespace) -> tuple[list[Comparison], str]:
    scale = 10 if args.quick else 1
    repetitions = 3 if args.quick else args.repetitions
    migrate.upgrade(server.admin_url, grant_to=PG_APP_ROLE)
    database = portside_database(server.app_url)
    factory = tenancy_units(SqlBackend(database))
    # The same Portside on psycopg 3 (`postgresql+psycopg://`), one more contender beside psycopg2's.
    database_on_psycopg = portside_database(on_psycopg(server.app_url))
    factory_on_psycopg = tenancy_units(SqlBackend(database_on_psycopg))
    try:
        with closing(connect_admin(server.dsn_admin)) as admin, closing(connect_raw(server.dsn_app)) as raw:
            # Autovacuum/autoanalyze waking up after the bulk inserts would land in random runs.
            with admin.cursor() as cursor:
                cursor.execute("ALTER TABLE tenants SET (autovacuum_enabled = off)")
            version = server_version(admin)

            # a. get by id
            seeded = make_tenants(SEEDED_TENANTS // scale, "seeded")
            seed(admin, seeded)
            check_get_equivalence(factory, raw, seeded)
            check_get_equivalence(factory_on_psycopg, raw, seeded)
            # A fixed seed: every contender and every run looks up the same ids in the same order.
            ids = [t.id for t in random.Random(20_000).choices(seeded, k=LOOKUPS // scale)]
            get_contenders = {
                "portside": portside_get(factory, ids),
                ON_PSYCOPG: portside_get(factory_on_psycopg, ids),
                "psycopg2+Tenant": raw_get_tenants(raw, ids),
                "psycopg2 tuples": raw_get_tuples(raw, ids),
            }
            print(f"get by id: {len(ids):,} lookups x {repetitions} runs per contender ...", flush=True)
            get = time_side_by_side(get_contenders, repetitions=repetitions)
            if args.profile:
                print(profile(get_contenders["portside"]))

            # b. bulk create
            new_rows = make_tenants(BULK_ROWS // scale, "bulk")
            bulk_contenders = {
                "portside": portside_bulk(factory, new_rows),
                ON_PSYCOPG: portside_bulk(factory_on_psycopg, new_rows),
                "execute_values": raw_bulk(raw, new_rows),
                "execute_values in savepoints": raw_bulk(raw, new_rows, savepoints=True),
            }
            check_bulk_equivalence(admin, bulk_contenders, new_rows)
            print(f"bulk create: {len(new_rows):,} rows x {repetitions} runs per contender ...", flush=True)
            bulk = time_side_by_side(bulk_contenders, repetitions=repetitions, setup=lambda: truncate(admin))
            if args.profile:
                truncate(admin)
                print(profile(bulk_contenders["portside"]))
    finally:
        database.dispose()
        database_on_psycopg.dispose()

    comparisons = [
        Comparison(
            "get by id, one transaction (vs psycopg2 + `Tenant.model_construct`)",
            len(ids), get["psycopg2+Tenant"], get["portside"], GET_TARGET,
        ),
        Comparison(
            "get by id, one transaction (vs psycopg2 tuples: raw driver floor)",
            len(ids), get["psycopg2 tuples"], get["portside"], None,
        ),
        Comparison(
            "get by id, one transaction, Portside on psycopg 3 (vs psycopg2 + `Tenant.model_construct`)",
            len(ids), get["psycopg2+Tenant"], get[ON_PSYCOPG], None,
        ),
        Comparison(
            f"bulk create, batches of {BULK_BATCH:,} (vs `execute_values`, page_size={BULK_BATCH:,})",
            len(new_rows), bulk["execute_values"], bulk["portside"], BULK_TARGET,
        ),
        Comparison(
            "bulk create (vs `execute_values` with a savepoint around each batch, as Portside's bulk create)",
            len(new_rows), bulk["execute_values in savepoints"], bulk["portside"], None,
        ),
        Comparison(
            f"bulk create, Portside on psycopg 3 (vs `execute_values`, page_size={BULK_BATCH:,})",
            len(new_rows), bulk["execute_values"], bulk[ON_PSYCOPG], None,
        ),
    ]
    return comparisons, version


NOTES = f"""
- Both sides connect as the application role over TCP to the same server and first bind system
  scope for row-level security in each transaction (`{BIND_SYSTEM_SCOPE}`).
- get by id: {SEEDED_TENANTS:,} seeded tenants; the same seeded-random ids, in the same order, for
  every contender. Portside: `with uow_factory.system() as uow:` (`tenancy_units(SqlBackend(database))`)
  then `uow.tenants.get_by_id(id)`, which sends the read SQLAlchemy compiled once for the table
  (`SELECT <all columns> FROM tenants WHERE id = %(id)s::UUID`) on the connection's own psycopg2
  cursor and converts the row with the columns' SQLAlchemy result processors. Baseline:
  `SELECT <all columns> FROM tenants WHERE id = %s`, `fetchone()`, then
  `Tenant.model_construct(**dict(zip(columns, row)))`; the floor row skips building the Tenant.
  Both sides are checked to return equal Tenants before timing.
- bulk create: one unit of work calling `bulk_create` per batch of {BULK_BATCH:,} (each a savepoint
  around one COPY into the connection's staging table and one plain `INSERT ... SELECT` from it,
  `adapters/sql/copy.py`: a taken key raises inside the savepoint, which undoes the batch and
  leaves the transaction usable) against one
  transaction running `execute_values` (page_size={BULK_BATCH:,}) of the same Tenants turned into
  tuples (timed too); the table is truncated before every run. Both sides are checked to write
  identical rows. The savepoints row gives the baseline Portside's savepoints too, for information.
- psycopg 3 rows: the same Portside contender on a `postgresql+psycopg://` URL (psycopg 3, the
  same pool and timeouts), timed in the same rounds against the same psycopg2 baselines, for
  information. Its bulk create takes the same COPY path through `cursor.copy()`.
"""


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repetitions", type=int, default=DEFAULT_REPETITIONS, help="timed runs per contender")
    parser.add_argument("--profile", action="store_true", help="also print cProfile output of the Portside side")
    parser.add_argument("--quick", action="store_true", help="a tenth of the work, 3 runs; never written to the docs")
    parser.add_argument("--no-docs", action="store_true", help="print only, leave docs/benchmarks.md alone")
    args = parser.parse_args(argv)

    load_before = load_average()
    with start_postgres() as server:
        comparisons, version = run_benchmarks(server, args)

    machine = machine_details(version, load_before)
    table = ratio_table(comparisons)
    print(f"\n{BENCH_NAME} on {machine.summary}\n")
    print(table)
    print(f"\n{spread_note(comparisons)}")
    for missed in (c for c in comparisons if c.met is False):
        print(f"target missed: {missed.operation}: {missed.ratio:.2f}x < {missed.target:.2f}x")
    if not (args.quick or args.no_docs):
        write_section(BENCH_NAME, f"{table}\n\n{spread_note(comparisons)}\n{NOTES}", machine)
        print("\ndocs/benchmarks.md updated")
    return 0


if __name__ == "__main__":
    sys.exit(main())
