"""The Redis and BigQuery client factories against the real servers the suite starts."""

from __future__ import annotations

from typing import Any

import pytest

from adapters.bigquery.client import BigQuerySettings, check_bigquery, create_bigquery_client
from adapters.redis.client import RedisSettings, check_redis, create_redis_client
from tests.servers import BigQueryEmulator, RedisServer, free_port


def test_redis_client_has_explicit_timeouts_and_retries(redis_server: RedisServer) -> None:
    settings = RedisSettings(url=redis_server.url, socket_timeout_seconds=1.5, retries=2)
    client = create_redis_client(settings)
    kwargs = client.connection_pool.connection_kwargs
    assert kwargs["socket_timeout"] == 1.5
    assert kwargs["socket_connect_timeout"] == settings.connect_timeout_seconds
    assert kwargs["health_check_interval"] == settings.health_check_interval_seconds
    assert client.set("portside:probe", b"1") and client.get("portside:probe") == b"1"
    report = check_redis(client, redis_server.url)
    assert report.reachable and report.detail.startswith("redis ")
    client.close()


def test_unreachable_redis_is_reported_not_raised() -> None:
    client = create_redis_client(RedisSettings(url=f"redis://127.0.0.1:{free_port()}/0", retries=1))
    report = check_redis(client, "nowhere")
    assert not report.reachable and report.detail


def test_bigquery_client_talks_to_the_emulator(bigquery_emulator: BigQueryEmulator) -> None:
    settings = BigQuerySettings(project=bigquery_emulator.project, endpoint=bigquery_emulator.endpoint)
    client = create_bigquery_client(settings)
    assert client.project == bigquery_emulator.project
    assert client.default_query_job_config is not None
    assert client.default_query_job_config.maximum_bytes_billed == settings.maximum_bytes_billed
    rows = list(client.query("SELECT 40 + 2 AS answer").result())
    assert rows[0]["answer"] == 42
    assert check_bigquery(client, settings).reachable


def test_unreachable_bigquery_is_reported_not_raised() -> None:
    settings = BigQuerySettings(project="p", endpoint=f"http://127.0.0.1:{free_port()}", timeout_seconds=2)
    report = check_bigquery(create_bigquery_client(settings), settings)
    assert not report.reachable


def test_shutting_the_container_down_closes_every_client_it_opened(
    redis_server: RedisServer, bigquery_emulator: BigQueryEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    from application.container import build_container
    from application.settings import MEMORY_URL, Settings

    container = build_container(Settings(database_url=MEMORY_URL, redis_url=redis_server.url,
                                         bigquery_project=bigquery_emulator.project,
                                         bigquery_endpoint=bigquery_emulator.endpoint))
    closed: list[str] = []

    def spy(name: str, original: Any) -> Any:
        def close() -> None:
            closed.append(name)
            original()

        return close

    for name in ("redis_client", "bigquery_client"):
        client = getattr(container, name)()
        monkeypatch.setattr(client, "close", spy(name, client.close))
    container.shutdown_resources()
    assert sorted(closed) == ["bigquery_client", "redis_client"]
