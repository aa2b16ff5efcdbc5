"""The pytest plugin's fixtures, as a downstream project's tests use them."""

from __future__ import annotations

from datetime import timedelta

from application.container import Container, ManualClock
from application.tenancy.use_cases import NewTenant
from ports.tenancy import TenancyUnitOfWorkFactory


def test_container_fixture_is_in_memory_with_a_manual_clock(
    portside_container: Container, portside_uow: TenancyUnitOfWorkFactory, portside_clock: ManualClock
) -> None:
    start = portside_container.clock().now()
    portside_clock.advance(timedelta(minutes=5))
    tenant = portside_container.create_tenant()(NewTenant.parse(name="Downstream"))
    assert tenant.created_at == start + timedelta(minutes=5)
    with portside_uow.system() as uow:
        assert uow.tenants.get_by_id(tenant.id) == tenant


def test_each_test_gets_an_empty_container(portside_container: Container) -> None:
    assert portside_container.list_tenants()().total == 0
