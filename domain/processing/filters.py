"""Typed filters of the processing listings."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from domain.processing.execution import ExecutionStatus
from domain.processing.subscriptions import SubscriptionStatus
from domain.shared.filters import Condition, FilterSet, Operator


def _eq(field: str, value: object) -> list[Condition]:
    return [] if value is None else [Condition(field, Operator.EQ, value)]


@dataclass(frozen=True, slots=True)
class PurchasedProcessorFilter(FilterSet):
    processor: str | None = None
    status: SubscriptionStatus | None = None
    auto: bool | None = None

    def conditions(self) -> tuple[Condition, ...]:
        return (*_eq("processor", self.processor), *_eq("status", self.status and self.status.value),
                *_eq("auto", self.auto))


@dataclass(frozen=True, slots=True)
class UnderwritingProcessorFilter(FilterSet):
    underwriting_id: uuid.UUID | None = None
    processor: str | None = None
    enabled: bool | None = None
    auto: bool | None = None

    def conditions(self) -> tuple[Condition, ...]:
        return (*_eq("underwriting_id", self.underwriting_id), *_eq("processor", self.processor),
                *_eq("enabled", self.enabled), *_eq("auto", self.auto))


@dataclass(frozen=True, slots=True)
class ExecutionFilter(FilterSet):
    underwriting_id: uuid.UUID | None = None
    underwriting_processor_id: uuid.UUID | None = None
    processor: str | None = None
    status: ExecutionStatus | None = None
    enabled: bool | None = None
    payload_hash: str | None = None

    def conditions(self) -> tuple[Condition, ...]:
        return (*_eq("underwriting_id", self.underwriting_id),
                *_eq("underwriting_processor_id", self.underwriting_processor_id),
                *_eq("processor", self.processor), *_eq("status", self.status and self.status.value),
                *_eq("enabled", self.enabled), *_eq("payload_hash", self.payload_hash))
