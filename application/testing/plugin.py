"""Portside's pytest plugin (entry point `pytest11`): installing portside gives a project's own
unit tests an in-memory container, a unit-of-work factory and a manual clock.

    def test_signup(portside_container):
        tenant = portside_container.create_tenant()(NewTenant.parse(name="Acme"))
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from application.container import Container, ManualClock, in_memory_container
from ports.tenancy import TenancyUnitOfWorkFactory


@pytest.fixture
def portside_container() -> Iterator[Container]:
    """A fresh in-memory container per test; its overrides are reset afterwards."""
    container = in_memory_container()
    yield container
    container.reset_override()
    container.shutdown_resources()


@pytest.fixture
def portside_uow(portside_container: Container) -> TenancyUnitOfWorkFactory:
    """The in-memory tenancy unit-of-work factory of `portside_container` (the other contexts':
    `portside_container.reliability_unit_of_work()`, `processing_unit_of_work()`)."""
    factory: TenancyUnitOfWorkFactory = portside_container.tenancy_unit_of_work()
    return factory


@pytest.fixture
def portside_clock(portside_container: Container) -> ManualClock:
    """The manual clock of `portside_container`: `.advance(timedelta)` moves time."""
    clock = portside_container.clock()
    if not isinstance(clock, ManualClock):
        raise TypeError("portside_container's clock was overridden with a clock tests cannot move")
    return clock
