"""Buying processors and attaching them to underwriting cases (pattern 1: configuration)."""

from __future__ import annotations

import uuid
from typing import Any

from application.processing.commands import AttachProcessor, OverrideChange, Purchase, SubscriptionConfigChange
from application.retry import retrying
from domain.processing.subscriptions import PurchasedProcessor, SubscriptionStatus, UnderwritingProcessor
from domain.shared.errors import ConcurrencyConflict, NotFound, ValidationError
from domain.shared.ids import parse_id
from ports.clock import Clock
from ports.processing import ProcessingUnitOfWork, ProcessingUnitOfWorkFactory


class PurchaseProcessor:
    """A tenant subscribes to a processor of the catalog."""

    def __init__(self, uow: ProcessingUnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    def __call__(self, command: Purchase) -> PurchasedProcessor:
        at = self._clock.now()
        with self._uow.for_tenant(command.tenant_id) as uow:
            definition = uow.processors.catalog.get(command.processor)  # NotFound for an unknown name
            if uow.processors.get_processor_by_name(command.processor, command.tenant_id) is not None:
                raise ValidationError("processor", f"{command.processor} is already purchased")
            purchased = PurchasedProcessor.new(
                organization_id=command.tenant_id, processor=command.processor,
                name=command.name or definition.display_name, auto=command.auto, config=command.config,
                price_amount=command.price_amount, price_unit=command.price_unit, purchased_at=at,
                purchased_by=command.purchased_by, created_at=at, updated_at=at,
            )
            return uow.processors.purchased.create(purchased)


class AttachToUnderwriting:
    """An underwriting case uses a purchased processor; the subscription must be active."""

    def __init__(self, uow: ProcessingUnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    def __call__(self, command: AttachProcessor) -> UnderwritingProcessor:
        at = self._clock.now()
        with self._uow.for_tenant(command.tenant_id) as uow:
            purchased = uow.processors.get_processor_by_name(command.processor, command.tenant_id)
            if purchased is None:
                raise NotFound("PurchasedProcessor", command.processor)
            if purchased.status is not SubscriptionStatus.ACTIVE:
                raise ValidationError("processor", f"the subscription to {command.processor} is {purchased.status}")
            definition = uow.processors.catalog.get(command.processor)
            attached = UnderwritingProcessor.new(
                organization_id=command.tenant_id, underwriting_id=command.underwriting_id,
                purchased_processor_id=purchased.id, processor=command.processor, name=purchased.name,
                auto=purchased.auto if command.auto is None else command.auto, enabled=command.enabled,
                config_override=command.config_override, created_at=at, updated_at=at,
            ).resolved(dict(definition.CONFIG), purchased.config, at)
            return uow.processors.underwriting.create(attached)


class ResolveEffectiveConfig:
    """Pattern 1: catalog default, tenant config, underwriting override; right side wins."""

    def __init__(self, uow: ProcessingUnitOfWorkFactory) -> None:
        self._uow = uow

    def __call__(self, tenant_id: object, underwriting_processor_id: object) -> dict[str, Any]:
        key: uuid.UUID = parse_id(underwriting_processor_id, "underwriting_processor_id")
        with self._uow.for_tenant(tenant_id) as uow:
            return uow.processors.get_effective_config(key)


class ChangeSubscriptionConfig:
    """The tenant's layer changes: every underwriting processor of the subscription has its stored
    effective config resolved again in the same transaction (the repository does it)."""

    def __init__(self, uow: ProcessingUnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    def __call__(self, command: SubscriptionConfigChange) -> PurchasedProcessor:
        return retrying(lambda: self._once(command), lost=(ConcurrencyConflict,))

    def _once(self, command: SubscriptionConfigChange) -> PurchasedProcessor:
        with self._uow.for_tenant(command.tenant_id) as uow:
            purchased = _subscription(uow, command.processor, command.tenant_id)
            return uow.processors.purchased.update(purchased.with_config(dict(command.config), self._clock.now()))


class SetSubscriptionEnabled:
    """Disable a subscription, or enable it again (attaching needs it active)."""

    def __init__(self, uow: ProcessingUnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    def __call__(self, tenant_id: object, processor: object, enabled: bool) -> PurchasedProcessor:
        if not isinstance(enabled, bool):
            raise ValidationError("enabled", f"expected a boolean, got {enabled!r}")
        status = SubscriptionStatus.ACTIVE if enabled else SubscriptionStatus.DISABLED
        return retrying(lambda: self._once(tenant_id, processor, status), lost=(ConcurrencyConflict,))

    def _once(self, tenant_id: object, processor: object, status: SubscriptionStatus) -> PurchasedProcessor:
        with self._uow.for_tenant(tenant_id) as uow:
            purchased = _subscription(uow, processor, tenant_id)
            if purchased.status is status:
                return purchased
            return uow.processors.purchased.update(purchased.move_to(status, self._clock.now()))


class ChangeUnderwritingOverride:
    """The underwriting's layer changes; the stored effective config is resolved with it."""

    def __init__(self, uow: ProcessingUnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    def __call__(self, command: OverrideChange) -> UnderwritingProcessor:
        return retrying(lambda: self._once(command), lost=(ConcurrencyConflict,))

    def _once(self, command: OverrideChange) -> UnderwritingProcessor:
        with self._uow.for_tenant(command.tenant_id) as uow:
            up = uow.processors.get_underwriting_processor_by_id(command.underwriting_processor_id)
            if up is None:
                raise NotFound("UnderwritingProcessor", command.underwriting_processor_id)
            changed = up.with_override(dict(command.config_override), self._clock.now())
            return uow.processors.underwriting.update(changed)


def _subscription(uow: ProcessingUnitOfWork, processor: object, tenant_id: object) -> PurchasedProcessor:
    if not isinstance(processor, str):
        raise ValidationError("processor", f"expected a processor name, got {processor!r}")
    purchased = uow.processors.get_processor_by_name(processor, parse_id(tenant_id, "tenant_id"))
    if purchased is None:
        raise NotFound("PurchasedProcessor", processor)
    return purchased
