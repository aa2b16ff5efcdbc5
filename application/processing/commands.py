"""Commands of the processing use cases, validated at the boundary."""

from __future__ import annotations

import uuid

from pydantic import Field, JsonValue

from application.commands import Command
from domain.processing.subscriptions import PriceUnit, ProcessorName


class Purchase(Command):
    tenant_id: uuid.UUID
    processor: ProcessorName
    name: str | None = None
    """Display name; the catalog's when not given."""
    auto: bool = False
    config: dict[str, JsonValue] = Field(default_factory=dict)
    price_amount: int = Field(default=0, ge=0)
    price_unit: PriceUnit = PriceUnit.EXECUTION
    purchased_by: uuid.UUID | None = None


class AttachProcessor(Command):
    """Use a purchased processor in an underwriting case."""

    tenant_id: uuid.UUID
    underwriting_id: uuid.UUID
    processor: ProcessorName
    auto: bool | None = None
    """The subscription's `auto` when not given."""
    enabled: bool = True
    config_override: dict[str, JsonValue] = Field(default_factory=dict)


class SubscriptionConfigChange(Command):
    """Replace a tenant's config of a purchased processor (its layer of the effective config)."""

    tenant_id: uuid.UUID
    processor: ProcessorName
    config: dict[str, JsonValue]


class OverrideChange(Command):
    """Replace an underwriting processor's config override."""

    tenant_id: uuid.UUID
    underwriting_processor_id: uuid.UUID
    config_override: dict[str, JsonValue]


class Submission(Command):
    tenant_id: uuid.UUID
    underwriting_processor_id: uuid.UUID
    payload: dict[str, JsonValue]
    document_revision_ids: list[str] = Field(default_factory=list)


class Completion(Command):
    tenant_id: uuid.UUID
    execution_id: uuid.UUID
    output: dict[str, JsonValue]
    factors_delta: dict[str, JsonValue] = Field(default_factory=dict)
    run_cost_cents: int = Field(ge=0)


class Failure(Command):
    tenant_id: uuid.UUID
    execution_id: uuid.UUID
    failed_code: str = Field(min_length=1, max_length=100)
    failed_reason: str = Field(min_length=1, max_length=5000)


class AutoRun(Command):
    tenant_id: uuid.UUID
    underwriting_id: uuid.UUID
    payload: dict[str, JsonValue]
    document_revision_ids: list[str] = Field(default_factory=list)
