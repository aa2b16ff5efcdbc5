"""Get-by-id from many concurrent tasks on PostgreSQL: Portside's async face against raw asyncpg,
and against Portside's sync face on a thread pool of the same size; and the event loop's lag.

    python bench/async_get_by_id.py [--quick] [--no-docs] [--repetitions N]

64 tasks each look up jobs by id, one unit of work (one transaction) per lookup, as a request
handler does. Baseline: an asyncpg pool of the same size, each lookup one transaction binding the
tenant (`set_config`, as Portside's row-level security needs) and one `SELECT` by id and tenant.
While each async run goes (Portside's and asyncpg's), a ticker task sleeps 1 ms at a time and records
how late it wakes: the worst delays are what any other coroutine of the service would wait.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _harness import (
    Comparison,
    Timing,
    load_average,
    machine_details,
    ratio_table,
    spread_note,
    write_section,
)

BENCH_NAME = Path(__file__).stem
TASKS = 64
LOOKUPS_PER_TASK = 50
POOL = 32
JOBS = 2_000
DEFAULT_REPETITIONS = 5
ASYNCPG_TARGET = 0.6
LAG_GOAL_MS = 5.0
TENANT = uuid.UUID("00000000-0000-4000-8000-0000000a5c01")
RAW_SELECT = ("SELECT * FROM processing_jobs WHERE id = $1 AND tenant_id = $2")
RAW_BIND = "SELECT set_config('app.tenant_id', $1, true), set_config('app.system_scope', 'off', true)"


def _plan(ids: Sequence[uuid.UUID], tasks: int, lookups: int) -> list[list[uuid.UUID]]:
    chooser = random.Random(7)
    return [[chooser.choice(ids) for _ in range(lookups)] for _ in range(tasks)]


async def _gather(plan: list[list[uuid.UUID]], lookup: Callable[[uuid.UUID], Awaitable[object]]) -> None:
    async def task(ids: list[uuid.UUID]) -> None:
        for job_id in ids:
            found = await lookup(job_id)
            assert found is not None

    await asyncio.gather(*(task(ids) for ids in plan))


class Ticker:
    """Sleeps 1 ms at a time on the loop; records how late each wake-up was."""

    def __init__(self) -> None:
        self.delays: list[float] = []
        self._running = False

    async def run(self) -> None:
        self._running = True
        loop = asyncio.get_running_loop()
        while self._running:
            asked = loop.time()
            await asyncio.sleep(0.001)
            self.delays.append(loop.time() - asked - 0.001)

    def stop(self) -> None:
        self._running = False


def _drain(results: Iterator[None]) -> None:
    """Wait for every thread's lookups (and raise what one raised)."""
    for _ in results:
        pass


def _percentile(values: Sequence[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def run(server: Any, args: argparse.Namespace) -> tuple[list[Comparison], str, str]:
    import asyncpg

    from adapters.sql import migrate
    from application.container import build_container
    from application.settings import Settings
    from tests.servers import PG_APP_ROLE

    migrate.upgrade(server.admin_url, grant_to=PG_APP_ROLE)
    settings = Settings(database_url=server.app_url, database_pool_size=POOL, database_max_overflow=0,
                        cache_job_ttl=0)
    container = build_container(settings)
    with container.jobs_unit_of_work().for_tenant(TENANT) as uow:
        ids = [job.id for job in uow.jobs.create_jobs([{"job_type": "lookup", "payload": {"n": n}}
                                                         for n in range(JOBS)])]
    lookups = LOOKUPS_PER_TASK // 5 if args.quick else LOOKUPS_PER_TASK
    plan = _plan(ids, TASKS, lookups)
    total = TASKS * lookups
    repetitions = 3 if args.quick else args.repetitions
    sync_units = container.jobs_unit_of_work()
    async_units = container.async_jobs_unit_of_work()
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)  # asyncpg's pool binds the current loop when it is made
    raw_dsn = server.app_url.replace("postgresql+psycopg2://", "postgresql://")
    pool = loop.run_until_complete(asyncpg.create_pool(raw_dsn, min_size=POOL, max_size=POOL))
    threads = ThreadPoolExecutor(max_workers=TASKS, thread_name_prefix="bench-sync")
    ticker_delays: dict[str, list[float]] = {"portside": [], "asyncpg": []}

    async def portside_lookup(job_id: uuid.UUID) -> object:
        async with async_units.for_tenant(TENANT) as work:
            return await work.jobs.get_by_id(job_id)

    async def raw_lookup(job_id: uuid.UUID) -> object:
        async with pool.acquire() as connection, connection.transaction():
            await connection.execute(RAW_BIND, str(TENANT))
            return await connection.fetchrow(RAW_SELECT, job_id, TENANT)

    def sync_lookups(job_ids: list[uuid.UUID]) -> None:
        for job_id in job_ids:
            with sync_units.for_tenant(TENANT) as work:
                assert work.jobs.get_by_id(job_id) is not None

    async def ticked(name: str, lookup: Callable[[uuid.UUID], Awaitable[object]]) -> None:
        ticker = Ticker()
        ticking = asyncio.ensure_future(ticker.run())
        await _gather(plan, lookup)
        ticker.stop()
        await ticking
        ticker_delays[name].extend(ticker.delays)

    def timed(contender: Callable[[], None]) -> float:
        started = time.perf_counter()
        contender()
        return time.perf_counter() - started

    contenders: dict[str, Callable[[], None]] = {
        "portside": lambda: loop.run_until_complete(ticked("portside", portside_lookup)),
        "asyncpg": lambda: loop.run_until_complete(ticked("asyncpg", raw_lookup)),
        "sync": lambda: _drain(threads.map(sync_lookups, plan)),
    }
    for contender in contenders.values():  # warm-up: pools filled, statements cached
        contender()
    for delays in ticker_delays.values():
        delays.clear()
    samples: dict[str, list[float]] = {name: [] for name in contenders}
    names = list(contenders)
    for round_number in range(repetitions):
        shift = round_number % len(names)
        for name in names[shift:] + names[:shift]:
            samples[name].append(timed(contenders[name]))
    timings = {name: Timing(tuple(found)) for name, found in samples.items()}
    loop.run_until_complete(pool.close())
    loop.run_until_complete(container.async_sql_database().dispose())
    loop.close()
    threads.shutdown()
    container.shutdown_resources()
    comparisons = [
        Comparison(f"get-by-id, {TASKS} tasks, a unit of work each (async vs raw asyncpg)", total,
                   timings["asyncpg"], timings["portside"], ASYNCPG_TARGET),
        Comparison(f"get-by-id, {TASKS} tasks (async vs Portside sync on {TASKS} threads)", total,
                   timings["sync"], timings["portside"], None),
    ]
    portside_p99 = _percentile(ticker_delays["portside"], 0.99) * 1000
    asyncpg_p99 = _percentile(ticker_delays["asyncpg"], 0.99) * 1000
    lag = (f"Event-loop lag (a 1 ms ticker beside the {TASKS} tasks): Portside p99 {portside_p99:.2f} ms, worst "
           f"{max(ticker_delays['portside']) * 1000:.2f} ms; raw asyncpg p99 {asyncpg_p99:.2f} ms, worst "
           f"{max(ticker_delays['asyncpg']) * 1000:.2f} ms (goal: Portside's p99 under {LAG_GOAL_MS:.0f} ms: "
           f"{'met' if portside_p99 < LAG_GOAL_MS else 'missed'}).")
    return comparisons, lag, server_version(server)


def server_version(server: Any) -> str:
    import psycopg2

    with psycopg2.connect(server.dsn_admin) as connection, connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        return str(cursor.fetchone()[0])


NOTES = f"""
- One PostgreSQL server, the application role (row-level security on). {TASKS} tasks on one event
  loop, each doing its lookups one after another, each lookup in its own unit of work of the jobs
  context (`async with container.async_jobs_unit_of_work().for_tenant(t) as uow: await
  uow.jobs.get_by_id(id)`: BEGIN with the tenant's `set_config` as one query, the `SELECT`,
  COMMIT, through SQLAlchemy's asyncpg dialect and the greenlet runner). Pools of {POOL} connections on every side.
- Baseline: an asyncpg pool, per lookup `async with pool.acquire(), connection.transaction()`, the
  same `set_config` and `SELECT * ... WHERE id = $1 AND tenant_id = $2`.
- Sync: Portside's sync face (psycopg2) on a `ThreadPoolExecutor` of {TASKS} threads, the same lookups.
- The machine has 2 cores shared by the server and the client: absolute figures move with the load.
"""


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repetitions", type=int, default=DEFAULT_REPETITIONS)
    parser.add_argument("--quick", action="store_true", help="a fifth of the work, 3 runs; never written to the docs")
    parser.add_argument("--no-docs", action="store_true", help="print only, leave docs/benchmarks.md alone")
    args = parser.parse_args(argv)
    from tests.servers import start_postgres

    load_before = load_average()
    with start_postgres() as server:
        comparisons, lag, version = run(server, args)
    machine = machine_details(version, load_before)
    table = ratio_table(comparisons)
    note = spread_note(comparisons)
    print(f"\n{BENCH_NAME} on {machine.summary}\n\n{table}\n\n{lag}\n\n{note}")
    for missed in (c for c in comparisons if c.met is False):
        print(f"target missed: {missed.operation}: {missed.ratio:.2f}x < {missed.target:.2f}x")
    if not (args.quick or args.no_docs):
        write_section(BENCH_NAME, f"{table}\n\n{lag}\n\n{note}\n{NOTES}", machine)
        print("\ndocs/benchmarks.md updated")
    return 0


if __name__ == "__main__":
    sys.exit(main())
