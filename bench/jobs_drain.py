"""The job queue drained by Portside's worker against pgqueuer, procrastinate and a psycopg2 loop.

a. drain: 20,000 no-op jobs queued in one transaction (timed on its own: the enqueue rows), then
   drained by 2 worker processes, concurrency 1 and batches of 10 each, timed from the enqueue's
   commit to the moment the queue table holds no queued or running job. Portside: 2 `portside
   worker` processes (the CLI as it is deployed, its per-job log lines going to a file), against
   pgqueuer (asyncpg driver), procrastinate (psycopg 3) and a hand-written psycopg2 loop on
   Portside's own table and role that claims 10 jobs with one `UPDATE ... WHERE id IN (SELECT ...
   FOR UPDATE SKIP LOCKED)` and acknowledges them with one fenced `UPDATE` (the practical limit).
b. latency: on an idle queue, jobs queued one at a time with a pause; each handler records
   `time.time()` minus the enqueue time carried in its payload; p50 and p99 per system.

Every contender gets freshly started workers for each run (started, connected and idle before the
clock starts) and the same server; the contenders take turns, the order rotating every round.

Run from the repository root: `python bench/jobs_drain.py [--quick] [--profile] [--no-docs]`.
The script also runs its own worker processes: `python bench/jobs_drain.py --serve SYSTEM ...`.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import json
import os
import pstats
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Run as `python bench/<name>.py`, only bench/ is on sys.path; `tests.servers` lives at the root.
BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
sys.path.insert(0, str(ROOT))

from _harness import (  # noqa: E402
    Comparison,
    Timing,
    connect_raw,
    load_average,
    machine_details,
    ratio_table,
    server_version,
    spread_note,
    write_section,
)

BENCH_NAME = Path(__file__).stem
SYSTEMS = ("portside", "pgqueuer", "procrastinate", "loop")
LATENCY_SYSTEMS = ("portside", "pgqueuer", "procrastinate")
SCALED = {"procrastinate": 10}
"""Systems drained on a share of the jobs (a tenth), their times scaled to the whole: procrastinate
fetches one job per statement, and 20,000 of them took seven minutes a run. Its fetch slows as the
queue grows (46 jobs/s on 20,000 queued, about 430 on 2,000), so its row flatters it: it is there
for information, not as a target."""
JOBS = 20_000
WORKERS = 2
BATCH = 10
LATENCY_JOBS = 200
LATENCY_PAUSE = 0.05
"""Seconds between two enqueues in the latency run: each job finds the queue idle."""
SETTLE = 1.0
"""Seconds the workers idle after they say they are ready (listeners connected) before the clock starts."""
POLL = 0.05
"""Seconds between two looks at the queue table while it drains. Each look is a count over the
queue's table that costs the server CPU the systems compete for, and more on a table that keeps its
rows (Portside's, the loop's) than on one that deletes them (pgqueuer's): 100 looks a second were
a tenth of the machine's CPU in Portside's drain."""
DEFAULT_RUNS = 5
"""Drains per system: a round varies by a fifth and more on 2 shared cores, and the median of five
moves less than the median of three."""
PGQUEUER_TARGET = 1.0
LOOP_TARGET = 0.8
QUEUE = "bench"
TENANT = uuid.UUID("00000000-0000-4000-8000-00000000be9c")
LEASE_SECONDS = 30

Connection = Any  # psycopg2 ships no type information

# -- the hand-written loop: Portside's table, Portside's role, leases and fencing ------------------
BIND_SYSTEM_SCOPE = "SELECT set_config('app.tenant_id', '', true), set_config('app.system_scope', 'on', true)"
LOOP_CLAIM = f"""
UPDATE processing_jobs SET status = 'RUNNING', worker_id = %(worker)s, attempt = attempt + 1,
       lease_expires_at = now() + interval '{LEASE_SECONDS} seconds', started_at = now(), completed_at = NULL,
       updated_at = now(), version = version + 1
 WHERE id IN (SELECT id FROM processing_jobs
               WHERE queue_name = %(queue)s AND status = 'QUEUED' AND scheduled_at <= now()
               ORDER BY priority DESC, created_at, id LIMIT %(limit)s FOR UPDATE SKIP LOCKED)
RETURNING id, attempt, job_type, payload"""
LOOP_ACK = """
UPDATE processing_jobs SET status = 'COMPLETED', progress = 100, completed_at = now(), lease_expires_at = NULL,
       updated_at = now(), version = version + 1
 WHERE id = ANY(%(ids)s::uuid[]) AND (id, attempt) IN (SELECT * FROM unnest(%(ids)s::uuid[], %(attempts)s::int[]))
   AND worker_id = %(worker)s AND status || '' = 'RUNNING'"""
# The rows are found by id: `status = 'RUNNING'` would let the planner read the partial index of
# running jobs, which holds every job claimed since the last vacuum (Portside's acknowledgement
# avoids it the same way).
LOOP_INSERT = """
INSERT INTO processing_jobs (id, tenant_id, queue_name, job_type, payload, metadata, priority, status, progress,
       retry_count, max_retries, attempt, rescue_count, scheduled_at, created_at, updated_at, version)
VALUES %s"""
LOOP_ROW = "(%s, %s, %s, 'noop', '{}', '{}', 2, 'QUEUED', 0, 0, 3, 0, 0, now(), clock_timestamp(), now(), 1)"

# What is left to do, read by the superuser (no row-level security) while the workers drain.
REMAINING = {
    "portside": "SELECT count(*) FROM processing_jobs WHERE queue_name = 'bench' AND status IN ('QUEUED', 'RUNNING')",
    "loop": "SELECT count(*) FROM processing_jobs WHERE queue_name = 'bench' AND status IN ('QUEUED', 'RUNNING')",
    "pgqueuer": "SELECT count(*) FROM pgqueuer",
    "procrastinate": "SELECT count(*) FROM procrastinate_jobs WHERE status IN ('todo', 'doing')",
}
DONE = {
    "portside": "SELECT count(*) FROM processing_jobs WHERE queue_name = 'bench' AND status = 'COMPLETED'",
    "loop": "SELECT count(*) FROM processing_jobs WHERE queue_name = 'bench' AND status = 'COMPLETED'",
    "pgqueuer": "SELECT count(*) FROM pgqueuer_log WHERE status = 'successful'",
    "procrastinate": "SELECT count(*) FROM procrastinate_jobs WHERE status = 'succeeded'",
}
RESET = {
    "portside": "TRUNCATE processing_jobs",
    "loop": "TRUNCATE processing_jobs",
    "pgqueuer": "TRUNCATE pgqueuer, pgqueuer_log, pgqueuer_statistics",
    "procrastinate": "TRUNCATE procrastinate_jobs, procrastinate_events, procrastinate_periodic_defers",
}
QUEUE_TABLES = ("processing_jobs", "pgqueuer", "pgqueuer_log", "procrastinate_jobs", "procrastinate_events")


# =============================================================================================
# Worker processes (`--serve SYSTEM`)
# =============================================================================================


def _latency(payload: Mapping[str, Any]) -> float:
    return time.time() - float(payload["enqueued_at"])


def portside_latency(context: Any) -> dict[str, float]:
    """The latency run's Portside handler (`--handlers jobs_drain:LATENCY_HANDLERS`): the latency
    is the job's result, read back from the table afterwards."""
    return {"latency": _latency(context.job.payload)}


LATENCY_HANDLERS: dict[str, Callable[[Any], Any]] = {"latency": portside_latency}


def _ready() -> None:
    print("ready", flush=True)


def _write_latencies(out: str | None, latencies: Sequence[float]) -> None:
    if out:
        Path(out).write_text(json.dumps(list(latencies)))


def serve_loop(dsn: str, worker_id: str) -> None:
    stop: list[bool] = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(True))
    connection = connect_raw(dsn)
    cursor = connection.cursor()
    _ready()
    while not stop:
        cursor.execute(BIND_SYSTEM_SCOPE)
        cursor.execute(LOOP_CLAIM, {"worker": worker_id, "queue": QUEUE, "limit": BATCH})
        claimed = cursor.fetchall()
        connection.commit()
        if not claimed:
            time.sleep(0.005)
            continue
        for _job_id, _attempt, _job_type, _payload in claimed:
            pass  # the no-op handler
        cursor.execute(BIND_SYSTEM_SCOPE)
        cursor.execute(LOOP_ACK, {"ids": [row[0] for row in claimed], "attempts": [row[1] for row in claimed],
                                  "worker": worker_id})
        if cursor.rowcount != len(claimed):
            raise RuntimeError(f"the loop's acknowledgement matched {cursor.rowcount} of {len(claimed)} jobs")
        connection.commit()
    connection.close()


async def serve_pgqueuer(dsn: str, out: str | None) -> None:
    import asyncpg  # type: ignore[import-untyped]
    from pgqueuer import AsyncpgDriver, Queries, QueueManager
    from pgqueuer.models import Job as PgqJob

    connection = await asyncpg.connect(dsn)
    manager = QueueManager(Queries(AsyncpgDriver(connection)))
    latencies: list[float] = []

    @manager.entrypoint("noop")
    async def noop(job: PgqJob) -> None:
        return None

    @manager.entrypoint("latency")
    async def latency(job: PgqJob) -> None:
        latencies.append(_latency(json.loads(job.payload or b"{}")))

    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, manager.shutdown.set)
    _ready()
    await manager.run(batch_size=BATCH)
    _write_latencies(out, latencies)


def procrastinate_app(dsn: str) -> Any:
    import procrastinate

    app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=dsn))
    latencies: list[float] = []

    @app.task(name="noop", queue=QUEUE)
    async def noop() -> None:
        return None

    @app.task(name="latency", queue=QUEUE)
    async def latency(enqueued_at: float) -> None:
        latencies.append(_latency({"enqueued_at": enqueued_at}))

    app.bench_latencies = latencies  # type: ignore[attr-defined]
    return app


async def serve_procrastinate(dsn: str, out: str | None) -> None:
    app = procrastinate_app(dsn)
    async with app.open_async():
        _ready()
        # Its own SIGTERM handling stops it gracefully.
        await app.run_worker_async(queues=[QUEUE], concurrency=1, install_signal_handlers=True)
    _write_latencies(out, app.bench_latencies)


def serve_portside_profiled(url: str, out: str) -> None:
    """A `portside worker` as the CLI builds it, with cProfile around each serving thread (cProfile
    sees one thread only) and wall-clock counters around claim, the job's transaction and the
    acknowledgement; the stats go to `out` when SIGTERM stops it."""
    import application.jobs.worker as worker_module
    from application.container import build_container
    from application.jobs.console import BUILTIN_HANDLERS
    from application.settings import Settings

    container = build_container(Settings(database_url=url))
    settings = worker_module.WorkerSettings(queue_name=QUEUE, concurrency=1, batch_size=BATCH)
    worker = worker_module.Worker(container.jobs_unit_of_work(), BUILTIN_HANDLERS, settings, container.waker())
    timers: dict[str, list[float]] = {"claim": [], "job": []}
    profiler = cProfile.Profile()
    original_claim, original_run, original_serve = worker._claim, worker._run, worker._serve

    def claim(finished: Any) -> Any:
        start = time.perf_counter()
        try:
            return original_claim(finished)
        finally:
            timers["claim"].append(time.perf_counter() - start)

    def run(job: Any, finished: Any) -> None:
        start = time.perf_counter()
        try:
            original_run(job, finished)
        finally:
            timers["job"].append(time.perf_counter() - start)

    def serve() -> None:
        profiler.enable()
        try:
            original_serve()
        finally:
            profiler.disable()

    worker._claim = claim  # type: ignore[method-assign]
    worker._run = run  # type: ignore[method-assign]
    worker._serve = serve  # type: ignore[method-assign]
    signal.signal(signal.SIGTERM, lambda *_: worker.stop())
    _ready()
    try:
        worker.run()
    finally:
        container.shutdown_resources()
    profiler.dump_stats(out + ".pstats")
    Path(out + ".timers").write_text(json.dumps(timers))


def serve(args: argparse.Namespace) -> int:
    if args.serve == "loop":
        serve_loop(args.dsn, args.worker_id)
    elif args.serve == "pgqueuer":
        asyncio.run(serve_pgqueuer(args.dsn, args.out))
    elif args.serve == "procrastinate":
        asyncio.run(serve_procrastinate(args.dsn, args.out))
    elif args.serve == "portside-profiled":
        serve_portside_profiled(args.dsn, args.out)
    else:
        raise SystemExit(f"unknown system {args.serve!r}")
    return 0


# =============================================================================================
# The parent: servers, schemas, workers, clocks
# =============================================================================================


@dataclass
class Bench:
    admin_dsn: str
    app_dsn: str
    app_url: str
    admin_uri: str
    admin: Connection
    workdir: Path
    postmaster: int
    """The server's postmaster (the parent of the admin connection's backend), whose CPU is counted."""
    admin_backend: int
    """The admin connection's backend: the bench's own counting, left out of the server's CPU."""

    def sql(self, statement: str) -> Any:
        with self.admin.cursor() as cursor:
            cursor.execute(statement)
            return cursor.fetchone() if cursor.description else None

    def count(self, statement: str) -> int:
        return int(self.sql(statement)[0])


class Workers:
    """WORKERS processes of one system, started and waited for until they are ready."""

    def __init__(self, bench: Bench, system: str, *, latency: bool = False, profiled: bool = False) -> None:
        self.bench = bench
        self.system = system
        self.marker = "serving queue" if system == "portside" and not profiled else "ready"
        self.outs: list[Path] = []
        self.processes: list[subprocess.Popen[bytes]] = []
        self.logs: list[Path] = []
        environment = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{BENCH_DIR}"}
        for number in range(WORKERS):
            tag = f"{system}-{'latency' if latency else 'drain'}-{number}-{uuid.uuid4().hex[:6]}"
            log = bench.workdir / f"{tag}.log"
            out = bench.workdir / f"{tag}.out"
            self.logs.append(log)
            self.outs.append(out)
            if system == "portside" and not profiled:
                command = [sys.executable, "-m", "application.cli", "worker", "--queue", QUEUE,
                           "--concurrency", "1", "--batch-size", str(BATCH), "--worker-id", tag]
                if latency:
                    command += ["--handlers", "jobs_drain:LATENCY_HANDLERS"]
                env = {**environment, "PORTSIDE_DATABASE_URL": bench.app_url}
            else:
                target = {"portside": bench.app_url, "loop": bench.app_dsn, "pgqueuer": bench.admin_uri}.get(
                    system, bench.admin_dsn)
                command = [sys.executable, str(Path(__file__).resolve()), "--serve",
                           "portside-profiled" if profiled else system, "--dsn", target,
                           "--worker-id", tag, "--out", str(out)]
                env = environment
            with log.open("wb") as stream:
                self.processes.append(subprocess.Popen(command, cwd=ROOT, env=env, stdout=stream,
                                                       stderr=subprocess.STDOUT))
        self._wait_ready()

    def _wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            texts = [log.read_text(errors="replace") for log in self.logs]
            if all(self.marker in text for text in texts):
                break
            for process, text in zip(self.processes, texts, strict=True):
                if process.poll() is not None:
                    raise RuntimeError(f"a {self.system} worker exited during start-up:\n{text[-3000:]}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.system} workers not ready within {timeout:.0f}s")
            time.sleep(0.05)
        time.sleep(SETTLE)

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process, log in zip(self.processes, self.logs, strict=True):
            try:
                process.wait(60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
                raise RuntimeError(f"a {self.system} worker did not stop on SIGTERM; log {log}") from None
            if process.returncode != 0:
                raise RuntimeError(f"a {self.system} worker exited with {process.returncode}:\n"
                                   f"{log.read_text(errors='replace')[-3000:]}")

    def latencies(self) -> list[float]:
        found: list[float] = []
        for out in self.outs:
            if out.exists():
                found.extend(json.loads(out.read_text()))
        return found


# -- enqueueing -------------------------------------------------------------------------------


class Enqueuers:
    """Each system's own client, opened once (untimed); `many` queues n jobs in one transaction."""

    def __init__(self, bench: Bench) -> None:
        from application.container import build_container
        from application.settings import Settings

        self.bench = bench
        self.container = build_container(Settings(database_url=bench.app_url))
        self.enqueue_job = self.container.enqueue_job()
        self.loop_connection = connect_raw(bench.app_dsn)
        self.event_loop = asyncio.new_event_loop()
        self.event_loop.run_until_complete(self._open_async())

    async def _open_async(self) -> None:
        import asyncpg
        from pgqueuer import AsyncpgDriver, Queries

        self.asyncpg_connection = await asyncpg.connect(self.bench.admin_uri)
        self.pgqueuer = Queries(AsyncpgDriver(self.asyncpg_connection))
        self.procrastinate = procrastinate_app(self.bench.admin_dsn)
        await self.procrastinate.open_async()

    def close(self) -> None:
        async def close() -> None:
            await self.asyncpg_connection.close()
            await self.procrastinate.close_async()

        self.event_loop.run_until_complete(close())
        self.event_loop.close()
        self.loop_connection.close()
        self.container.shutdown_resources()

    def install_schemas(self) -> None:
        async def install() -> None:
            await self.pgqueuer.install()
            await self.procrastinate.schema_manager.apply_schema_async()

        self.event_loop.run_until_complete(install())

    def commands(self, system: str, count: int) -> Any:
        """What the caller holds before it enqueues (untimed): Portside's validated commands."""
        if system == "portside":
            from application.jobs.use_cases import NewJob

            return [NewJob(job_type="noop", queue_name=QUEUE) for _ in range(count)]
        if system == "loop":
            return [(uuid.uuid4(), TENANT, QUEUE) for _ in range(count)]
        return count

    def many(self, system: str, prepared: Any) -> None:
        if system == "portside":
            self.enqueue_job.many(TENANT, prepared)
        elif system == "loop":
            import psycopg2.extras

            with self.loop_connection.cursor() as cursor:
                cursor.execute(BIND_SYSTEM_SCOPE)
                psycopg2.extras.execute_values(cursor, LOOP_INSERT, prepared, template=LOOP_ROW, page_size=1000)
            self.loop_connection.commit()
        elif system == "pgqueuer":
            self.event_loop.run_until_complete(
                self.pgqueuer.enqueue(["noop"] * prepared, [None] * prepared, [0] * prepared))
        elif system == "procrastinate":
            task = self.procrastinate.tasks["noop"]
            self.event_loop.run_until_complete(task.batch_defer_async(*({} for _ in range(prepared))))
        else:
            raise ValueError(system)

    def one_latency_job(self, system: str) -> None:
        from application.jobs.use_cases import NewJob

        now = time.time()
        if system == "portside":
            self.enqueue_job(TENANT, NewJob(job_type="latency", queue_name=QUEUE, payload={"enqueued_at": now}))
        elif system == "pgqueuer":
            self.event_loop.run_until_complete(
                self.pgqueuer.enqueue("latency", json.dumps({"enqueued_at": now}).encode()))
        elif system == "procrastinate":
            task = self.procrastinate.tasks["latency"]
            self.event_loop.run_until_complete(task.defer_async(enqueued_at=now))
        else:
            raise ValueError(system)


# -- one drain --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Drain:
    enqueue: float
    drain: float
    worker_cpu: float = 0.0
    """CPU seconds the worker processes used during the drain."""
    machine_cpu: float = 0.0
    """CPU seconds the whole machine used during the drain (server, workers, this process)."""
    server_cpu: float = 0.0
    """CPU seconds of the PostgreSQL server's processes during the drain (backends, autovacuum, WAL)."""


_TICKS = os.sysconf("SC_CLK_TCK")


def machine_busy_seconds() -> float:
    """CPU seconds spent on every core since boot, idle and I/O wait left out (/proc/stat)."""
    fields = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(fields[:8]) - fields[3] - fields[4]) / _TICKS


def process_cpu_seconds(pid: int) -> float:
    """User and system CPU seconds of one process so far (/proc/<pid>/stat), 0 once it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = text.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS


def _process_times(pid: int) -> tuple[int, float, float]:
    """(parent pid, own CPU seconds, CPU seconds of its children that have exited) of one process."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / _TICKS, (int(fields[13]) + int(fields[14])) / _TICKS


def server_cpu_seconds(postmaster: int, left_out: int) -> float:
    """CPU seconds of the server so far: the postmaster, its live children (backends, autovacuum
    workers, the WAL writer...) and the children it has reaped; but not the backend `left_out`
    (the bench's own, which counts what is left to drain)."""
    _, own, reaped = _process_times(postmaster)
    total = own + reaped
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != left_out:
            try:
                parent, cpu, _ = _process_times(int(entry.name))
            except (OSError, ValueError, IndexError):
                continue  # gone meanwhile
            if parent == postmaster:
                total += cpu
    return total


def drain_once(bench: Bench, enqueuers: Enqueuers, system: str, jobs: int, *, profiled: bool = False) -> Drain:
    bench.sql(RESET[system])
    workers = Workers(bench, system, profiled=profiled)
    try:
        prepared = enqueuers.commands(system, jobs)
        started = time.perf_counter()
        enqueuers.many(system, prepared)
        committed = time.perf_counter()
        machine_before = machine_busy_seconds()
        server_before = server_cpu_seconds(bench.postmaster, bench.admin_backend)
        workers_before = sum(process_cpu_seconds(process.pid) for process in workers.processes)
        remaining_sql = REMAINING[system]
        deadline = committed + 900
        while bench.count(remaining_sql):
            if time.perf_counter() > deadline:
                raise RuntimeError(f"{system} did not drain within 900 s")
            for process in workers.processes:
                if process.poll() is not None:
                    raise RuntimeError(f"a {system} worker died while draining; see {workers.logs}")
            time.sleep(POLL)
        finished = time.perf_counter()
        machine_cpu = machine_busy_seconds() - machine_before
        server_cpu = server_cpu_seconds(bench.postmaster, bench.admin_backend) - server_before
        worker_cpu = sum(process_cpu_seconds(process.pid) for process in workers.processes) - workers_before
    finally:
        workers.stop()
    done = bench.count(DONE[system])
    if done != jobs:
        raise RuntimeError(f"{system}: {done} of {jobs} jobs completed; the comparison is void")
    return Drain(enqueue=committed - started, drain=finished - committed, worker_cpu=worker_cpu,
                 machine_cpu=machine_cpu, server_cpu=server_cpu)


def run_drains(bench: Bench, enqueuers: Enqueuers, jobs: int, runs: int,
               systems: Sequence[str] = SYSTEMS) -> dict[str, tuple[Timing, Timing]]:
    """Round-robin over the systems, the order rotating every round; (enqueue, drain) timings, each
    of `jobs` jobs (a system drained on a `SCALED` share has its times scaled up to `jobs`)."""
    samples: dict[str, list[Drain]] = {system: [] for system in systems}
    names = list(systems)
    for round_number in range(runs):
        shift = round_number % len(names)
        for system in names[shift:] + names[:shift]:
            share = SCALED.get(system, 1)
            count = max(1, jobs // share)
            result = drain_once(bench, enqueuers, system, count)
            scale = jobs / count
            samples[system].append(Drain(enqueue=result.enqueue * scale, drain=result.drain * scale))
            rest = result.machine_cpu - result.worker_cpu - result.server_cpu
            print(f"  round {round_number + 1}/{runs} {system:>13}: {count:,} jobs, enqueue {result.enqueue:6.2f} s "
                  f"({count / result.enqueue:8,.0f} jobs/s), drain {result.drain:6.2f} s "
                  f"({count / result.drain:7,.0f} jobs/s); CPU: workers {result.worker_cpu:5.2f} s, "
                  f"server {result.server_cpu:5.2f} s, the rest {rest:5.2f} s", flush=True)
    return {system: (Timing(tuple(s.enqueue for s in found)), Timing(tuple(s.drain for s in found)))
            for system, found in samples.items()}


# -- latency ----------------------------------------------------------------------------------


def latency_run(bench: Bench, enqueuers: Enqueuers, system: str, count: int) -> list[float]:
    bench.sql(RESET[system])
    workers = Workers(bench, system, latency=True)
    try:
        for _ in range(count):
            enqueuers.one_latency_job(system)
            time.sleep(LATENCY_PAUSE)
        deadline = time.monotonic() + 60
        while bench.count(REMAINING[system]) and time.monotonic() < deadline:
            time.sleep(POLL)
        time.sleep(0.5)  # pgqueuer logs its acknowledgements in buffered batches
    finally:
        workers.stop()
    if system == "portside":
        with bench.admin.cursor() as cursor:
            cursor.execute("SELECT (result->>'latency')::float FROM processing_jobs WHERE job_type = 'latency'")
            found = [float(row[0]) for row in cursor.fetchall() if row[0] is not None]
    else:
        found = workers.latencies()
    if len(found) != count:
        raise RuntimeError(f"{system}: {len(found)} latencies for {count} jobs")
    return found


def percentile(values: Sequence[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))]


# -- profile ----------------------------------------------------------------------------------


def profile_portside(bench: Bench, enqueuers: Enqueuers, jobs: int) -> str:
    result = drain_once(bench, enqueuers, "portside", jobs, profiled=True)
    outs = sorted(bench.workdir.glob("portside-drain-*.out.pstats"))[-WORKERS:]
    stats = pstats.Stats(str(outs[0]), stream=(text := io.StringIO()))
    for extra in outs[1:]:
        stats.add(str(extra))
    if saved := os.environ.get("PORTSIDE_BENCH_PROFILE"):  # the merged stats, kept for a closer look
        stats.dump_stats(saved)
    stats.strip_dirs().sort_stats(pstats.SortKey.TIME).print_stats(25)
    stats.sort_stats(pstats.SortKey.CUMULATIVE).print_stats(45)
    timers: dict[str, list[float]] = {"claim": [], "job": []}
    for out in outs:
        found = json.loads(Path(str(out).removesuffix(".pstats") + ".timers").read_text())
        for key in timers:
            timers[key].extend(found[key])
    claims = [t for t in timers["claim"]]
    summary = (
        f"profiled drain (cProfile on, so slower): {jobs:,} jobs in {result.drain:.2f} s "
        f"= {jobs / result.drain:,.0f} jobs/s\n"
        f"wall clock per worker thread: {len(claims):,} claims, median {statistics.median(claims) * 1e3:.2f} ms, "
        f"total {sum(claims):.2f} s; {len(timers['job']):,} jobs, median "
        f"{statistics.median(timers['job']) * 1e3:.3f} ms per job, total {sum(timers['job']):.2f} s\n"
    )
    return summary + text.getvalue()


# =============================================================================================
# main
# =============================================================================================


def notes(jobs: int, latency_jobs: int) -> str:
    return f"""
- One PostgreSQL server, {WORKERS} worker processes per system, each with concurrency 1 and batches of
  {BATCH}; the workers of a run are started, connected and idle ({SETTLE:.0f} s) before the clock starts and
  stopped (SIGTERM) after it. {jobs:,} no-op jobs are queued in one transaction through each
  system's own batch call (the enqueue rows; untimed: building Portside's `NewJob` commands); the drain
  is timed from that commit until a look at the queue table (every {POLL * 1000:.0f} ms, as the
  superuser) finds no queued or running job left; afterwards each system is checked to have completed
  exactly {jobs:,} jobs. The contenders take turns, the order rotating every round.
- Portside: `portside worker --queue {QUEUE} --concurrency 1 --batch-size {BATCH}` (defaults otherwise:
  30 s lease, heartbeat every 10 s, wake-ups by LISTEN/NOTIFY, the built-in `noop` handler, one INFO
  line per job to a log file), as the application role (row-level security on, system scope for the
  claim). The `noop` handler never opens `context.uow`, so its jobs are acknowledged a batch at a
  time with the next claim: per batch one statement, `complete_and_claim` (the acknowledgement,
  fenced by worker id and attempt, and the claim as two data-modifying CTEs), prepared once per
  connection and sent with the scope binding as one implicit transaction (`uow.commit_with`): one
  round trip a batch, against the loop's 8. Enqueue: `EnqueueJob.many`
  (`create_jobs`: one COPY into a staging table and one `INSERT ... SELECT` in one unit of work,
  then one NOTIFY).
- pgqueuer {_version("pgqueuer")}: `QueueManager(Queries(AsyncpgDriver(asyncpg connection)))`, a no-op
  `async` entrypoint, `run(batch_size={BATCH})` (its jobs run as asyncio tasks of one event loop; the
  acknowledgements are buffered and written in batches, the completed job moved to `pgqueuer_log`),
  durable tables; enqueue: one `Queries.enqueue(list, list, list)` statement.
- procrastinate {_version("procrastinate")}: `PsycopgConnector` (psycopg 3), a no-op `async` task,
  `run_worker_async(concurrency=1)` (it fetches one job per statement: it has no batch size) with its
  LISTEN/NOTIFY; enqueue: `batch_defer_async`. It drains a tenth of the jobs ({jobs // SCALED["procrastinate"]:,})
  and its times are scaled to {jobs:,}: the whole count took seven minutes a run. Its fetch slows as
  the queue grows (46 jobs/s on 20,000 queued, measured 2026-12-02 morning), so its row here is the
  rate on the smaller queue, which flatters it.
- The loop: psycopg2 as the application role on Portside's own table and indexes; per batch one
  transaction `{BIND_SYSTEM_SCOPE}` + `UPDATE processing_jobs SET status = 'RUNNING', worker_id, attempt
  + 1, lease ... WHERE id IN (SELECT id ... ORDER BY priority DESC, created_at, id LIMIT {BATCH} FOR UPDATE
  SKIP LOCKED) RETURNING ...`, then one transaction acknowledging the batch with one `UPDATE ... SET
  status = 'COMPLETED' ... WHERE (id, attempt) IN (unnest(ids, attempts)) AND worker_id = ... AND status =
  'RUNNING'` (fenced; the rows found by id, the status test written to match no index, as Portside's;
  no heartbeat: a batch is acknowledged within milliseconds); idle, it sleeps 5 ms.
  Enqueue: `execute_values` into `processing_jobs`.
- Latency: on an idle queue ({WORKERS} idle workers), {latency_jobs} jobs queued one at a time
  ({LATENCY_PAUSE * 1000:.0f} ms apart) through each system's single enqueue call with `time.time()` in the
  payload; the handler takes `time.time()` minus it. So it counts the enqueue's own transaction, the
  wake-up, the claim and the start of the handler.
- The machine has 2 cores, shared by the server, both workers, the enqueuer and whatever else runs
  (see the load average): the absolute numbers are noisy, the ratios less so.
"""


PROFILE_FINDINGS = """
- What moved Portside from 0.55x to parity with pgqueuer (2026-12-03; each round's line prints the
  CPU of the workers, of the server's processes and of the rest). Before: 4 round trips a batch,
  workers 4.4 s and server 4.5 s of CPU a drain (pgqueuer 1.8 s and 2.9 s). The worker's step is
  now one statement (`complete_and_claim`: the acknowledgement and the next claim as two
  data-modifying CTEs), prepared once per connection, sent with the scope binding as one implicit
  transaction: one round trip a batch, and no transaction left open while the client builds its
  jobs. Three findings did most of it: (1) the server planned the statements anew every batch, and
  planning cost more than running them (prepared: 1.5 ms a batch against 2.9); a prepared `LIMIT $n`
  made the generic plan hash the whole table, so the batch size is a constant of the statement.
  (2) The acknowledgement's `status = 'RUNNING'` let the planner read the lease rescuer's partial
  index, which between vacuums holds an entry for every job claimed: 600 pages a batch by the end of
  a drain, against 23 by id (the loop had the same trap and now avoids it the same way). (3) The
  bench's own look at the queue every 10 ms cost a tenth of the machine; it looks every 50 ms. The
  claim returns only the columns it did not set, and the worker's log line costs less (the time
  formatted once a second, no caller lookup). Server CPU a drain is now below pgqueuer's (1.9 to
  2.7 s against 2.4 to 3.1 s); the workers' is above it (2.0 to 2.9 s against 1.9 to 2.3 s): one
  log line per job, about 10 µs each, is most of the difference, the unit of work's pool checkout
  and the cache drops after each commit the rest.
- A round varies by a fifth and more on this machine (2 cores shared by the server and the
  workers), so the ratio of medians moves too: the last runs gave 0.98x and 0.97x pgqueuer (three
  rounds each, before and after the claim's trimmed columns), 1.11x (five rounds, the table above)
  and 0.99x (five rounds, the same code, right after). Portside is at parity with pgqueuer: the
  target is met by this table's median, not with a margin.
"""


def _version(package: str) -> str:
    from importlib.metadata import version

    return version(package)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repetitions", type=int, default=DEFAULT_RUNS, help="timed drains per system")
    parser.add_argument("--profile", action="store_true", help="also profile one Portside drain (cProfile)")
    parser.add_argument("--quick", action="store_true", help="a tenth of the work, 2 runs; never written to the docs")
    parser.add_argument("--no-docs", action="store_true", help="print only, leave docs/benchmarks.md alone")
    parser.add_argument("--profile-only", action="store_true", help="only the profiled Portside drain; print it")
    parser.add_argument("--only", help="comma-separated systems: only their drains, printed, never written to the docs")
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    parser.add_argument("--dsn", help=argparse.SUPPRESS)
    parser.add_argument("--worker-id", default=f"loop-{os.getpid()}", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        return serve(args)

    import importlib.util

    missing = [name for name in ("pgqueuer", "procrastinate", "asyncpg") if importlib.util.find_spec(name) is None]
    if missing:
        raise SystemExit(f"{', '.join(missing)} missing: install the bench extra (pip install -e '.[test,bench]')")

    from adapters.sql import migrate
    from tests.servers import PG_APP_ROLE, start_postgres

    jobs = JOBS // 10 if args.quick else JOBS
    latency_jobs = LATENCY_JOBS // 4 if args.quick else LATENCY_JOBS
    runs = 2 if args.quick else args.repetitions
    load_before = load_average()
    with start_postgres() as server, tempfile.TemporaryDirectory(prefix="jobs-drain-") as workdir:
        migrate.upgrade(server.admin_url, grant_to=PG_APP_ROLE)
        with closing(connect_raw(server.dsn_admin)) as admin:
            admin.autocommit = True
            admin_uri = f"postgresql://postgres@{server.host}:{server.port}/{server.database}"
            with admin.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                admin_backend = int(cursor.fetchone()[0])
            bench = Bench(server.dsn_admin, server.dsn_app, server.app_url, admin_uri, admin, Path(workdir),
                          _process_times(admin_backend)[0], admin_backend)
            version = server_version(admin)
            enqueuers = Enqueuers(bench)
            try:
                enqueuers.install_schemas()
                for table in QUEUE_TABLES:
                    # Autovacuum waking up in the middle of a drain would land in random runs.
                    bench.sql(f"ALTER TABLE {table} SET (autovacuum_enabled = off)")
                if args.profile_only:
                    print(profile_portside(bench, enqueuers, jobs))
                    return 0
                if args.only:
                    chosen = [name.strip() for name in args.only.split(",")]
                    unknown = sorted(set(chosen) - set(SYSTEMS))
                    if unknown:
                        raise SystemExit(f"unknown systems {unknown}; choose from {', '.join(SYSTEMS)}")
                    for system, (_, drain) in run_drains(bench, enqueuers, jobs, runs, chosen).items():
                        print(f"{system:>13}: drain median {drain.median:.2f} s = {jobs / drain.median:,.0f} jobs/s")
                    return 0
                print(f"drain: {jobs:,} jobs, {WORKERS} workers x batches of {BATCH}, {runs} runs per system",
                      flush=True)
                # Latency first: it is short, and a failure in it should not cost the long drains.
                latencies: dict[str, list[float]] = {}
                print(f"latency: {latency_jobs} jobs one at a time on an idle queue", flush=True)
                for system in LATENCY_SYSTEMS:
                    latencies[system] = latency_run(bench, enqueuers, system, latency_jobs)
                    print(f"  {system:>13}: p50 {percentile(latencies[system], 0.5) * 1000:.1f} ms, "
                          f"p99 {percentile(latencies[system], 0.99) * 1000:.1f} ms", flush=True)
                timings = run_drains(bench, enqueuers, jobs, runs)
                profile_text = profile_portside(bench, enqueuers, jobs) if args.profile else ""
            finally:
                enqueuers.close()

    machine = machine_details(version, load_before)
    quantiles = {system: (percentile(found, 0.5), percentile(found, 0.99)) for system, found in latencies.items()}
    printed, body = report(timings, quantiles, jobs, latency_jobs, machine, load_before, load_average())
    print(printed)
    if profile_text:
        print(profile_text)
    if not (args.quick or args.no_docs):
        write_section(BENCH_NAME, body, machine)
        print("\ndocs/benchmarks.md updated")
    return 0


def report(timings: Mapping[str, tuple[Timing, Timing]], quantiles: Mapping[str, tuple[float, float]], jobs: int,
           latency_jobs: int, machine: Any, load_before: tuple[float, float, float],
           load_after: tuple[float, float, float], *, extra_note: str = "") -> tuple[str, str]:
    """What to print, and the docs section's body: timings are (enqueue, drain) per system,
    quantiles the latency (p50, p99) in seconds per system."""
    portside_enqueue, portside_drain = timings["portside"]
    comparisons = [
        Comparison(f"drain, {WORKERS} workers, batches of {BATCH} (vs pgqueuer)", jobs, timings["pgqueuer"][1],
                   portside_drain, PGQUEUER_TARGET),
        Comparison(f"drain, {WORKERS} workers, batches of {BATCH} (vs the psycopg2 loop: the practical limit)",
                   jobs, timings["loop"][1], portside_drain, LOOP_TARGET),
        Comparison(f"drain, {WORKERS} workers (vs procrastinate, one job per fetch)", jobs,
                   timings["procrastinate"][1], portside_drain, None),
        Comparison("enqueue, one transaction (vs pgqueuer `enqueue` of lists)", jobs, timings["pgqueuer"][0],
                   portside_enqueue, None),
        Comparison("enqueue, one transaction (vs the loop's `execute_values`)", jobs, timings["loop"][0],
                   portside_enqueue, None),
        Comparison("enqueue, one transaction (vs procrastinate `batch_defer_async`)", jobs,
                   timings["procrastinate"][0], portside_enqueue, None),
    ]
    lines = [
        "| system | enqueue jobs/s | drain jobs/s | drain s (median) | latency p50 ms | latency p99 ms |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for system in SYSTEMS:
        enqueue, drain = timings[system]
        found = quantiles.get(system)
        p50, p99 = (f"{found[0] * 1000:.1f}", f"{found[1] * 1000:.1f}") if found else ("-", "-")
        lines.append(f"| {system} | {jobs / enqueue.median:,.0f} | {jobs / drain.median:,.0f} | "
                     f"{drain.median:.2f} | {p50} | {p99} |")
    absolute = "\n".join(lines)
    table = ratio_table(comparisons)
    load_note = (f"Load average before the run {load_before[0]:.2f}, after it {load_after[0]:.2f} "
                 f"(1 min; {machine.usable_cores} cores).{extra_note}")
    missed = "".join(f"\ntarget missed: {c.operation}: {c.ratio:.2f}x < {c.target:.2f}x"
                     for c in comparisons if c.met is False and c.target is not None)
    printed = (f"\n{BENCH_NAME} on {machine.summary}\n\n{table}\n\n{absolute}\n\n"
               f"{spread_note(comparisons)} {load_note}{missed}")
    body = (f"{table}\n\n{absolute}\n\n{spread_note(comparisons)} {load_note}\n{notes(jobs, latency_jobs)}"
            f"{PROFILE_FINDINGS}")
    return printed, body


if __name__ == "__main__":
    sys.exit(main())
