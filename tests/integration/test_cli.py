"""The `portside` command against real backends."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters.sql import migrate
from application.cli import main
from tests.servers import BigQueryEmulator, PostgresServer, RedisServer, free_port


def test_init_creates_the_schema_of_an_embedded_database(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    assert main(["--database-url", url, "init"]) == 0
    assert migrate.current_revision(url) == migrate.head_revision()
    assert main(["--database-url", url, "init"]) == 0  # upgrading an up-to-date schema is a no-op
    assert f"at revision {migrate.head_revision()}" in capsys.readouterr().out


def test_init_on_postgres_grants_the_application_role(
    postgres_server: PostgresServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    admin_url, app_url = postgres_server.create_database("cli_init")
    monkeypatch.setenv("PORTSIDE_DATABASE_URL", app_url)
    monkeypatch.setenv("PORTSIDE_DATABASE_MIGRATION_URL", admin_url)
    monkeypatch.setenv("PORTSIDE_DATABASE_APP_ROLE", "portside_app")
    assert main(["init"]) == 0
    assert migrate.current_revision(app_url) == migrate.head_revision()
    # The application role can now run the demo, row-level security and all.
    assert main(["demo"]) == 0


@pytest.mark.parametrize("where", ["sqlite", "memory"])
def test_demo_prints_the_tenancy_scenario(
    where: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    argv = ["demo"] if where == "sqlite" else ["--database-url", "memory://", "demo"]
    assert main(argv) == 0
    if where == "sqlite":
        assert (tmp_path / "portside.db").exists()  # the embedded default
        assert main(argv) == 0  # and it runs again on the same file
    out = capsys.readouterr().out
    assert "registered 6 organizations" in out
    assert "slug 'acme-corp' is already taken" in out
    assert "globex's id gives NotFound" in out
    assert "'doomed' is gone" in out
    assert "wrong!" not in out


def test_doctor_reports_every_configured_backend_reachable(
    postgres_server: PostgresServer,
    redis_server: RedisServer,
    bigquery_emulator: BigQueryEmulator,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    migrate.upgrade(postgres_server.admin_url, grant_to="portside_app")
    monkeypatch.setenv("PORTSIDE_DATABASE_URL", postgres_server.app_url)
    monkeypatch.setenv("PORTSIDE_REDIS_URL", redis_server.url)
    monkeypatch.setenv("PORTSIDE_BIGQUERY_PROJECT", bigquery_emulator.project)
    monkeypatch.setenv("PORTSIDE_BIGQUERY_ENDPOINT", bigquery_emulator.endpoint)
    assert main(["doctor"]) == 0
    lines = capsys.readouterr().out.splitlines()
    for backend in ("postgresql", "redis", "bigquery"):
        row = next(line for line in lines if line.startswith(f"| {backend} "))
        assert "| reachable" in row, row
    assert "schema up to date" in next(line for line in lines if line.startswith("| postgresql "))


def test_doctor_fails_when_a_configured_backend_is_down(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PORTSIDE_DATABASE_URL", f"sqlite:///{tmp_path / 'x.db'}")
    monkeypatch.setenv("PORTSIDE_REDIS_URL", f"redis://127.0.0.1:{free_port()}/0")
    monkeypatch.setenv("PORTSIDE_REDIS_RETRIES", "0")
    assert main(["doctor"]) == 1
    out = capsys.readouterr().out
    assert "NOT reachable" in next(line for line in out.splitlines() if line.startswith("| redis "))
    assert "run `portside init`" in out  # the empty SQLite file has no schema yet


def test_init_and_demo_put_processing_on_bigquery(
    bigquery_emulator: BigQueryEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PORTSIDE_PROCESSING_BACKEND", "bigquery")
    monkeypatch.setenv("PORTSIDE_BIGQUERY_PROJECT", bigquery_emulator.project)
    monkeypatch.setenv("PORTSIDE_BIGQUERY_DATASET", "cli_demo")
    monkeypatch.setenv("PORTSIDE_BIGQUERY_ENDPOINT", bigquery_emulator.endpoint)
    assert main(["init"]) == 0
    tables = {table.table_id for table in bigquery_emulator.client().list_tables("cli_demo")}
    assert {"purchased_processors", "underwriting_processors", "processor_executions"} <= tables
    assert main(["demo", "--context", "processing"]) == 0
    out = capsys.readouterr().out
    assert "the same payload submitted again: reused" in out
    assert "rolled back; current list" in out


@pytest.mark.parametrize(("variable", "value", "named"), [
    ("PORTSIDE_DATABASE_URL", "mysql://x", "PORTSIDE_DATABASE_URL"),
    ("PORTSIDE_DATABASE_URL", "garbage", "PORTSIDE_DATABASE_URL"),
    ("PORTSIDE_DATABASE_POOL_SIZE", "-1", "PORTSIDE_DATABASE_POOL_SIZE"),
    ("PORTSIDE_PROCESSING_BACKEND", "oracle", "PORTSIDE_PROCESSING_BACKEND"),
    ("PORTSIDE_PROCESSOR_CATALOG", "no_such_module:CATALOG", "processor_catalog"),
])
@pytest.mark.parametrize("command", ["doctor", "init", "demo"])
def test_bad_settings_are_one_line_and_exit_2(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    variable: str, value: str, named: str, command: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(variable, value)
    assert main([command]) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and named in lines[0] and "Traceback" not in captured.err, captured.err


def test_doctor_says_not_configured_for_backends_without_settings(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PORTSIDE_DATABASE_URL", f"sqlite:///{tmp_path / 'x.db'}")
    monkeypatch.delenv("PORTSIDE_REDIS_URL", raising=False)
    monkeypatch.delenv("PORTSIDE_BIGQUERY_PROJECT", raising=False)
    assert main(["doctor"]) == 0
    lines = capsys.readouterr().out.splitlines()
    for backend in ("redis", "bigquery"):
        row = next(line for line in lines if line.startswith(f"| {backend} "))
        assert "| not configured" in row and "NOT reachable" not in row, row


@pytest.mark.bigquery
def test_init_and_demo_put_the_control_planes_audit_log_on_bigquery(
    bigquery_emulator: BigQueryEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The control plane on the embedded SQLite file, its audit log and inference requests in BigQuery."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PORTSIDE_CONTROL_PLANE_ANALYTICS_BACKEND", "bigquery")
    monkeypatch.setenv("PORTSIDE_BIGQUERY_PROJECT", bigquery_emulator.project)
    monkeypatch.setenv("PORTSIDE_BIGQUERY_DATASET", "cli_control_plane")
    monkeypatch.setenv("PORTSIDE_BIGQUERY_ENDPOINT", bigquery_emulator.endpoint)
    assert main(["init"]) == 0
    tables = {table.table_id for table in bigquery_emulator.client().list_tables("cli_control_plane")}
    assert {"audit_logs", "inference_requests"} <= tables
    assert main(["demo", "--context", "control_plane"]) == 0
    out = capsys.readouterr().out
    assert "| 4        | 43" in out  # the metrics, computed by BigQuery
    assert "the trail holds 207" in out
    assert "rows left: applications 0, users 0, policies 0, audit entries 207" in out  # BigQuery keeps history
    job = bigquery_emulator.client().query("SELECT COUNT(*) AS n FROM `cli_control_plane.audit_logs`")
    assert [row["n"] for row in job.result()] == [207]
