"""Fixtures of the integration tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from dependency_injector import providers

from adapters.clock import ManualClock
from adapters.sql.database import SqlDatabase
from application.container import Container, build_container, in_memory_container
from application.settings import Settings
from tests.conftest import BACKENDS, backend_param


@pytest.fixture(params=[backend_param(name) for name in BACKENDS])
def container(request: pytest.FixtureRequest) -> Iterator[Container]:
    """A container whose every context runs on the backend under test, on an empty database."""
    if request.param == "memory":
        built = in_memory_container()
    else:
        database: SqlDatabase = request.getfixturevalue(f"{request.param}_database")
        request.getfixturevalue("uow_factory_for_cleanup")(request.param)
        built = build_container(Settings(database_url=database.engine.url.render_as_string(hide_password=False)))
        built.clock.override(providers.Object(ManualClock()))
    yield built
    built.shutdown_resources()
    built.reset_override()
