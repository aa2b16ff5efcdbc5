"""The `portside` command: `init`, `doctor`, `demo`."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import pydantic
from dependency_injector import providers

from adapters.bigquery.client import check_bigquery
from adapters.clock import OffsetClock
from adapters.redis.client import check_redis
from adapters.sql import migrate
from adapters.sql.health import check_database
from application.console import Report, render_table
from application.container import Container, build_container
from application.demo import SCENARIOS
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
    return reports


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
    commands.add_parser("doctor", help="check every configured backend")
    database = commands.add_parser("db", help="migrations as operators run them (Alembic underneath)")
    steps = database.add_subparsers(dest="step", required=True)
    upgrade = steps.add_parser("upgrade", help="bring the schema to REV (default: the newest)")
    upgrade.add_argument("revision", nargs="?", default="head")
    downgrade = steps.add_parser("downgrade", help="take the schema back to REV (`base`: nothing; `-1`: one step)")
    downgrade.add_argument("revision")
    steps.add_parser("current", help="the revision the database is at")
    steps.add_parser("history", help="every revision, oldest first")
    steps.add_parser("check", help="exit 1 unless the schema matches the tables the code uses")
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
            if args.command == "doctor":
                results = doctor(container)
                rows = [[r.backend, r.target, _status(r), r.detail] for r in results]
                print(render_table(["backend", "target", "status", "detail"], rows))
                return 0 if all(r.reachable for r in results if r.configured) else 1
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
