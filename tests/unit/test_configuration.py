"""Settings and the container: backends are chosen by configuration."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters.memory.backend import MemoryBackend
from adapters.sql.backend import SqlBackend
from adapters.transactions import ContextFactory
from application.container import build_container, in_memory_container
from application.settings import DEFAULT_DATABASE_URL, Settings


def test_settings_read_the_portside_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORTSIDE_DATABASE_URL", "postgresql+psycopg2://app@db/portside")
    monkeypatch.setenv("PORTSIDE_DATABASE_POOL_SIZE", "4")
    monkeypatch.setenv("PORTSIDE_REDIS_URL", "redis://cache:6379/1")
    monkeypatch.setenv("PORTSIDE_BIGQUERY_PROJECT", "analytics")
    monkeypatch.setenv("PORTSIDE_BIGQUERY_DATASET", "engine")
    monkeypatch.setenv("PORTSIDE_BIGQUERY_ENDPOINT", "http://127.0.0.1:9050")
    settings = Settings()
    assert settings.database_url.startswith("postgresql") and settings.database_pool_size == 4
    assert settings.redis_url == "redis://cache:6379/1"
    assert (settings.bigquery_project, settings.bigquery_dataset) == ("analytics", "engine")
    assert settings.bigquery_endpoint == "http://127.0.0.1:9050"
    assert settings.backend_for("tenancy") == "sql"


def test_the_embedded_database_is_the_default(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("PORTSIDE_DATABASE_URL", raising=False)
    monkeypatch.chdir(tmp_path)
    container = build_container()
    assert container.settings().database_url == DEFAULT_DATABASE_URL
    factory = container.tenancy_unit_of_work()
    assert isinstance(factory, ContextFactory) and isinstance(factory.backend, SqlBackend)
    assert factory.backend.database.dialect == "sqlite"
    container.shutdown_resources()


def test_a_context_can_be_moved_to_memory() -> None:
    container = build_container(Settings(database_url="sqlite:///unused.db", tenancy_backend="memory"))
    factory = container.tenancy_unit_of_work()
    assert isinstance(factory, ContextFactory) and isinstance(factory.backend, MemoryBackend)


def test_in_memory_container_is_isolated_per_call() -> None:
    first, second = in_memory_container(), in_memory_container()
    assert isinstance(first.memory(), MemoryBackend)
    assert first.memory().database is not second.memory().database
    assert first.tenancy_unit_of_work() is first.tenancy_unit_of_work()  # one factory per container
    # Every context of a container shares one backend, so their units of work can join.
    assert first.tenancy_unit_of_work().backend is first.reliability_unit_of_work().backend


def test_bad_settings_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORTSIDE_DATABASE_POOL_SIZE", "0")
    with pytest.raises(ValueError, match="database_pool_size"):
        Settings()
