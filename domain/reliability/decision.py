"""An immutable audit record of an automated decision taken on an incident."""

from __future__ import annotations

import uuid

from pydantic import Field

from domain.shared.entity import TenantOwned


class Decision(TenantOwned):
    incident_id: uuid.UUID
    decision_type: str = Field(min_length=1, max_length=100)
    reasoning: str = Field(min_length=1, max_length=20_000)
    confidence_score: float = Field(ge=0.0, le=1.0, allow_inf_nan=False)
    ai_model: str = Field(min_length=1, max_length=200)
