"""`portside doctor` and the metrics backend: its health row, and `--metrics` printing and storing
the repositories' own operation metrics."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters.prometheus.client import PrometheusHttp, PrometheusSettings
from adapters.rules.metrics import SYSTEM_TENANT
from application.cli import main
from domain.metrics.platform import REPOSITORY_OPERATIONS
from tests.servers import PrometheusServer, free_port


def _row(out: str, first_cell: str) -> str:
    return next(line for line in out.splitlines() if line.startswith(f"| {first_cell} "))


@pytest.mark.prometheus
def test_doctor_prints_repository_metrics_and_stores_them_in_prometheus(
    prometheus_server: PrometheusServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("PORTSIDE_DATABASE_URL", f"sqlite:///{tmp_path / 'x.db'}")
    monkeypatch.setenv("PORTSIDE_PROMETHEUS_URL", prometheus_server.url)
    assert main(["init"]) == 0
    assert main(["doctor", "--metrics"]) == 0
    out = capsys.readouterr().out

    assert "| reachable" in _row(out, "metrics") and "Prometheus 2." in _row(out, "metrics")
    tenants = _row(out, "tenancy")
    assert "| tenants " in tenants and "| count " in tenants and "| 1 " in tenants
    assert "samples stored on the prometheus metrics backend" in out
    http = PrometheusHttp(PrometheusSettings(url=prometheus_server.url))
    stored = http.query("/api/v1/query", {"query": f'last_over_time({REPOSITORY_OPERATIONS}'
                                                   f'{{tenant="{SYSTEM_TENANT}",repository="vendors"}}[1h])'})
    http.close()
    assert [float(item["value"][1]) for item in stored] == [1.0]


def test_doctor_fails_when_prometheus_is_down(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("PORTSIDE_DATABASE_URL", "memory://")
    monkeypatch.setenv("PORTSIDE_PROMETHEUS_URL", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("PORTSIDE_PROMETHEUS_RETRIES", "0")
    assert main(["doctor", "--metrics"]) == 1
    out = capsys.readouterr().out
    assert "NOT reachable" in _row(out, "metrics")
    assert "Repository operations" not in out
