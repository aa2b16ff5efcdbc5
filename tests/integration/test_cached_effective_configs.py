"""Effective configs served from the cache on every backend, dropped by the commit of any change
to a subscription or an override: no reader gets a config the database no longer holds."""

from __future__ import annotations

import uuid

import pytest

from application.container import Container
from application.processing.cached_configs import effective_config_key
from application.processing.commands import AttachProcessor, OverrideChange, Purchase, SubscriptionConfigChange
from application.tenancy.use_cases import NewTenant
from domain.processing.subscriptions import UnderwritingProcessor


class InjectedFailure(Exception):  # noqa: N818 - not an error of ours
    pass


@pytest.fixture
def attached(container: Container) -> UnderwritingProcessor:
    tenant = container.create_tenant()(NewTenant.parse(name="Lender"))
    container.purchase_processor()(Purchase.parse(tenant_id=tenant.id, processor="p_credit_report", auto=True))
    return container.attach_processor()(AttachProcessor.parse(
        tenant_id=tenant.id, underwriting_id=uuid.uuid4(), processor="p_credit_report"))


def test_a_config_is_read_once_then_served_from_the_cache(container: Container,
                                                          attached: UnderwritingProcessor) -> None:
    read = container.cached_effective_config()
    expected = container.resolve_effective_config()(attached.organization_id, attached.id)
    assert read(attached.organization_id, attached.id) == expected
    before = container.cache().get_stats().hits
    assert read(attached.organization_id, attached.id) == expected
    assert container.cache().get_stats().hits == before + 1
    cached = container.cache().for_tenant(attached.organization_id)
    assert cached.get(effective_config_key(attached.id)) == expected


def test_changing_the_subscription_drops_the_cached_config(container: Container,
                                                           attached: UnderwritingProcessor) -> None:
    read = container.cached_effective_config()
    assert read(attached.organization_id, attached.id)["min_score"] == 600
    container.change_subscription_config()(SubscriptionConfigChange.parse(
        tenant_id=attached.organization_id, processor="p_credit_report", config={"min_score": 700}))
    assert read(attached.organization_id, attached.id)["min_score"] == 700


def test_changing_the_override_drops_the_cached_config(container: Container,
                                                       attached: UnderwritingProcessor) -> None:
    read = container.cached_effective_config()
    assert read(attached.organization_id, attached.id)["bureau"] == "experian"
    container.change_underwriting_override()(OverrideChange.parse(
        tenant_id=attached.organization_id, underwriting_processor_id=attached.id,
        config_override={"bureau": "equifax"}))
    assert read(attached.organization_id, attached.id)["bureau"] == "equifax"
    assert read(attached.organization_id, attached.id) == container.resolve_effective_config()(
        attached.organization_id, attached.id)


def test_a_change_that_rolls_back_keeps_the_cached_config(container: Container,
                                                          attached: UnderwritingProcessor) -> None:
    read = container.cached_effective_config()
    cached = container.cache().for_tenant(attached.organization_id)
    original = read(attached.organization_id, attached.id)
    with pytest.raises(InjectedFailure), \
            container.processing_unit_of_work().for_tenant(attached.organization_id) as uow:
        up = uow.processors.get_underwriting_processor_by_id(attached.id)
        assert up is not None
        uow.processors.underwriting.update(up.with_override({"bureau": "transunion"}, up.updated_at))
        raise InjectedFailure
    assert cached.get(effective_config_key(attached.id)) == original
    assert read(attached.organization_id, attached.id) == container.resolve_effective_config()(
        attached.organization_id, attached.id)


def test_removing_the_subscription_drops_the_configs_of_its_users(container: Container,
                                                                  attached: UnderwritingProcessor) -> None:
    read = container.cached_effective_config()
    read(attached.organization_id, attached.id)
    cached = container.cache().for_tenant(attached.organization_id)
    with container.processing_unit_of_work().for_tenant(attached.organization_id) as uow:
        uow.processors.purchased.delete(attached.purchased_processor_id)
        assert cached.exists(effective_config_key(attached.id))  # not before the commit
    assert not cached.exists(effective_config_key(attached.id))
