"""The `portside` command: `init`, `doctor`, `db`, `worker`, `jobs`, `demo`."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import pydantic
from dependency_injector import providers

from adapters.bigquery.client import check_bigquery
from adapters.clock import OffsetClock
from adapters.prometheus.client import check_prometheus
from adapters.redis.client import check_redis
from adapters.sql import migrate
from adapters.sql.health import check_database
from application.console import Report, render_table
from application.container import Container, build_container, instrument_repository_metrics
from application.demo import SCENARIOS
from application.jobs.console import print_stats, run_worker
from application.metrics.use_cases import summarise_operations
from application.settings import Settings
from domain.shared.errors import PortsideError
from ports.health import HealthReport


def _settings(args: argparse.Namespace) -> Settings:
    overrides = {"database_url": args.database_url} if args.database_url else {}
    return Settings(**overrides)


def init_schema(settings: Settings, out: Report, container: Container | None = None) -> None:
    if settings.default_backend == "memory":
        out.note("memory backend: no schema to create")
    else:
        url = settings.database_migration_url or settings.database_url
        revision = migrate.upgrade(url, grant_to=settings.database_app_role)
        out.note(f"schema of {_safe(settings.database_url)} is at revision {revision}")
    if container is not None and settings.bigquery_project:
        container.bigquery_database().ensure_schema()
        out.note(f"BigQuery dataset {settings.bigquery_project}.{settings.bigquery_dataset} and its tables are ready")
    # -- control plane: its audit log and inference requests in BigQuery, when configured so ------
    if container is not None and settings.control_plane_analytics_backend == "bigquery":
        from adapters.bigquery.analytics import ensure_analytics_schema

        ensure_analytics_schema(container.bigquery_client(), container.bigquery_settings())
        out.note("BigQuery tables audit_logs and inference_requests are ready")


def _safe(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def doctor(container: Container) -> list[HealthReport]:
    settings = container.settings()
    reports: list[HealthReport] = []
    if settings.default_backend == "memory":
        reports.append(HealthReport("memory", "in process", True, "no server needed"))
    else:
        reports.append(check_database(container.sql_database()))
    if settings.redis_url:
        reports.append(check_redis(container.redis_client(), _safe(settings.redis_url)))
    else:
        reports.append(HealthReport("redis", "-", False, "set PORTSIDE_REDIS_URL to use it", configured=False))
    if settings.bigquery_project:
        reports.append(check_bigquery(container.bigquery_client(), container.bigquery_settings()))
    else:
        reports.append(HealthReport("bigquery", "-", False, "set PORTSIDE_BIGQUERY_PROJECT to use it",
                                    configured=False))
    reports.append(_check_metrics(container))
    return reports


# -- metrics (spec 002) ----------------------------------------------------------------------------
def _check_metrics(container: Container) -> HealthReport:
    backend = container.settings().metrics_store_backend
    if backend == "prometheus":
        report = check_prometheus(container.prometheus_http())
        return HealthReport("metrics", report.target, report.reachable, f"on {report.detail}")
    where = "series kept in process" if backend == "memory" else "series in the database's metrics table"
    return HealthReport("metrics", backend, True, where)


def repository_metrics_report(container: Container, out: Report) -> None:
    """`portside doctor --metrics`: a read through each context's repositories with the
    instrumentation on, its counts and latencies stored in the metrics backend, and printed."""
    collector = instrument_repository_metrics(container)
    try:
        with container.tenancy_unit_of_work().system() as tenancy_uow:
            tenants = tenancy_uow.tenants.count()
        with container.reliability_unit_of_work().system() as reliability_uow:
            vendors = reliability_uow.vendors.count()
    finally:
        instrument_repository_metrics(container, on=False)
    rows = [[row.context, row.repository, row.method, row.calls, row.failures,
             "-" if row.p95_ms is None else row.p95_ms] for row in summarise_operations(collector)]
    stored = container.save_repository_metrics()()
    out.heading(f"Repository operations ({tenants} tenants, {vendors} vendors read)")
    out.table(["context", "repository", "method", "calls", "failures", "p95 ms"], rows)
    out.note(f"{stored} samples stored on the {container.settings().metrics_store_backend} metrics backend")


def run_database_step(args: argparse.Namespace, settings: Settings, out: Report) -> int:
    """`portside db ...`: schema changes run as the owner (`PORTSIDE_DATABASE_MIGRATION_URL` when
    set), with the application role's grants renewed after an upgrade, as `portside init` does."""
    if args.step == "history":
        for item in migrate.history():
            out.note(f"{item.down_revision or '<base>'} -> {item.revision}: {item.doc}")
        return 0
    if settings.default_backend == "memory":
        out.note("memory backend: no schema")
        return 0
    owner = settings.database_migration_url or settings.database_url
    if args.step == "upgrade":
        revision = migrate.upgrade(owner, args.revision, grant_to=settings.database_app_role)
        out.note(f"schema of {_safe(settings.database_url)} is at revision {revision}")
    elif args.step == "downgrade":
        migrate.downgrade(owner, args.revision)
        out.note(f"schema of {_safe(settings.database_url)} is at revision {migrate.current_revision(owner)}")
    elif args.step == "current":
        out.note(f"{migrate.current_revision(owner) or '<base>'} (head: {migrate.head_revision()})")
    else:
        differences = migrate.check(owner)
        for difference in differences:
            out.note(f"differs: {difference}")
        if differences:
            return 1
        out.note(f"schema of {_safe(settings.database_url)} matches the code")
    return 0


def _status(report: HealthReport) -> str:
    if not report.configured:
        return "not configured"
    return "reachable" if report.reachable else "NOT reachable"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="portside", description="Portside persistence layer")
    parser.add_argument("--database-url", help="overrides PORTSIDE_DATABASE_URL")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("init", help="create or upgrade the schema of the configured database")
    doctor_command = commands.add_parser("doctor", help="check every configured backend")
    doctor_command.add_argument("--metrics", action="store_true",
                                help="also read through the repositories and print their operation metrics")
    database = commands.add_parser("db", help="migrations as operators run them (Alembic underneath)")
    steps = database.add_subparsers(dest="step", required=True)
    upgrade = steps.add_parser("upgrade", help="bring the schema to REV (default: the newest)")
    upgrade.add_argument("revision", nargs="?", default="head")
    downgrade = steps.add_parser("downgrade", help="take the schema back to REV (`base`: nothing; `-1`: one step)")
    downgrade.add_argument("revision")
    steps.add_parser("current", help="the revision the database is at")
    steps.add_parser("history", help="every revision, oldest first")
    steps.add_parser("check", help="exit 1 unless the schema matches the tables the code uses")
    worker = commands.add_parser("worker", help="run the handlers of a job queue until SIGTERM")
    worker.add_argument("--queue", required=True, help="the queue to serve")
    worker.add_argument("--concurrency", type=int, default=1, help="threads claiming and running jobs")
    worker.add_argument("--handlers", help="module:attribute, a mapping of job type to handler (default: noop)")
    worker.add_argument("--batch-size", type=int, default=10, help="jobs claimed at once per thread")
    worker.add_argument("--lease", type=float, default=30.0, help="seconds a claim holds without a heartbeat")
    worker.add_argument("--heartbeat", type=float, default=10.0, help="seconds between heartbeats and rescues")
    worker.add_argument("--idle-wait", type=float, default=1.0, help="seconds an idle thread waits for a wake-up")
    worker.add_argument("--worker-id", help="the id acknowledgements are fenced by (default: host:pid:random)")
    jobs = commands.add_parser("jobs", help="job queues")
    jobs_steps = jobs.add_subparsers(dest="jobs_command", required=True)
    stats = jobs_steps.add_parser("stats", help="a queue's jobs per status")
    stats.add_argument("--queue", help="one queue (default: every queue)")
    demo = commands.add_parser("demo", help="run every context's scenario on the configured backend")
    demo.add_argument("--context", choices=sorted(SCENARIOS), action="append",
                      help="only these contexts (default: all)")
    args = parser.parse_args(argv)

    report = Report(sys.stdout)
    try:
        settings = _settings(args)
        container = build_container(settings)
        try:
            container.catalog()  # a bad PORTSIDE_PROCESSOR_CATALOG is reported now, by name
            if args.command == "init":
                init_schema(settings, report, container)
                return 0
            if args.command == "db":
                return run_database_step(args, settings, report)
            if args.command == "worker":
                return run_worker(container, args)
            if args.command == "jobs":
                return print_stats(container, args.queue)
            if args.command == "doctor":
                results = doctor(container)
                rows = [[r.backend, r.target, _status(r), r.detail] for r in results]
                print(render_table(["backend", "target", "status", "detail"], rows))
                healthy = all(r.reachable for r in results if r.configured)
                if healthy and args.metrics:
                    repository_metrics_report(container, report)
                return 0 if healthy else 1
            # Time flows as usual, but the demo may skip ahead (past a breaker's cool-down).
            container.clock.override(providers.Object(OffsetClock()))
            backend = settings.default_backend
            report.heading(f"Portside demo on {backend}: {_safe(settings.database_url)}")
            init_schema(settings, report, container)
            for name in args.context or list(SCENARIOS):
                SCENARIOS[name](container, report)
            return 0
        finally:
            container.shutdown_resources()
    except PortsideError as error:
        print(f"portside: {type(error).__name__}: {error}", file=sys.stderr)
        return 2
    except pydantic.ValidationError as error:
        print(f"portside: {_first_setting_error(error)}", file=sys.stderr)
        return 2


def _first_setting_error(error: pydantic.ValidationError) -> str:
    """One line: the environment variable (or option) and why its value is refused."""
    first = error.errors()[0]
    name = ".".join(str(part) for part in first["loc"]) or "settings"
    message = first["msg"].removeprefix("Value error, ")
    return f"bad setting PORTSIDE_{name.upper()}: {message}"


if __name__ == "__main__":
    raise SystemExit(main())
