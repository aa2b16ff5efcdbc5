"""A tenant's subscription to a processor, and an underwriting's configuration of it."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import Field, JsonValue, StringConstraints

from domain.processing.config import merge_config
from domain.shared.entity import Entity
from domain.shared.errors import InvalidTransition
from domain.shared.ids import TenantId
from domain.shared.lifecycle import TransitionTable
from domain.shared.time import UtcDatetime

ProcessorName = Annotated[str, StringConstraints(pattern=r"^p_[a-z0-9_]+$", max_length=100)]
DisplayName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class SubscriptionStatus(StrEnum):
    ACTIVE = "active"
    DISABLED = "disabled"
    DELETED = "deleted"


class PriceUnit(StrEnum):
    EXECUTION = "execution"
    PAGE = "page"
    DOCUMENT = "document"


SUBSCRIPTION_LIFECYCLE = TransitionTable[SubscriptionStatus]("purchased processor", {
    SubscriptionStatus.ACTIVE: frozenset({SubscriptionStatus.DISABLED, SubscriptionStatus.DELETED}),
    SubscriptionStatus.DISABLED: frozenset({SubscriptionStatus.ACTIVE, SubscriptionStatus.DELETED}),
    SubscriptionStatus.DELETED: frozenset(),
})


class PurchasedProcessor(Entity):
    """`purchased_processors`: the tenant (organization) bought the processor."""

    organization_id: TenantId
    processor: ProcessorName
    name: DisplayName
    auto: bool = False
    status: SubscriptionStatus = SubscriptionStatus.ACTIVE
    config: dict[str, JsonValue] = Field(default_factory=dict)
    price_amount: int = Field(default=0, ge=0)
    """Cents."""
    price_unit: PriceUnit = PriceUnit.EXECUTION
    purchased_at: UtcDatetime
    purchased_by: uuid.UUID | None = None

    def move_to(self, status: SubscriptionStatus, at: datetime) -> PurchasedProcessor:
        SUBSCRIPTION_LIFECYCLE.check(self.status, status)
        return self.evolve(status=status, updated_at=at)

    def with_config(self, config: dict[str, Any], at: datetime) -> PurchasedProcessor:
        """The tenant's layer of the configuration, replaced whole."""
        if self.status is SubscriptionStatus.DELETED:
            raise InvalidTransition("purchased processor", self.status.value, "a new config")
        return self.evolve(config=config, updated_at=at)


class UnderwritingProcessor(Entity):
    """`underwriting_processors`: one underwriting case's use of a purchased processor."""

    organization_id: TenantId
    underwriting_id: uuid.UUID
    purchased_processor_id: uuid.UUID
    processor: ProcessorName
    name: DisplayName
    auto: bool = False
    enabled: bool = True
    config_override: dict[str, JsonValue] = Field(default_factory=dict)
    effective_config: dict[str, JsonValue] = Field(default_factory=dict)
    """Catalog default + tenant config + this override, resolved when either changes."""
    current_executions_list: list[uuid.UUID] = Field(default_factory=list)
    """The active executions whose outputs consolidate into factors, oldest first."""

    def resolved(self, default: dict[str, Any], tenant_config: dict[str, Any], at: datetime) -> UnderwritingProcessor:
        return self.evolve(effective_config=merge_config(default, tenant_config, self.config_override), updated_at=at)

    def with_override(self, config_override: dict[str, Any], at: datetime) -> UnderwritingProcessor:
        """The underwriting's layer of the configuration, replaced whole (the effective config is
        resolved again when it is stored)."""
        return self.evolve(config_override=config_override, updated_at=at)

    def with_executions(self, execution_ids: list[uuid.UUID], at: datetime) -> UnderwritingProcessor:
        return self.evolve(current_executions_list=list(dict.fromkeys(execution_ids)), updated_at=at)
