"""Inference requests: one record per request an application sent to a model provider, written when
the request has finished (append-only), and the metrics over them."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import Field

from domain.shared.checks import INT32_MAX
from domain.shared.entity import TenantOwned
from domain.shared.time import UtcDatetime


class InferenceStatus(StrEnum):
    COMPLETED = "completed"
    FAILED = "failed"
    """The provider or the network failed: counted by the error rate."""
    REJECTED = "rejected"
    """Refused by a policy before reaching the provider."""


Name = Annotated[str, Field(min_length=1, max_length=100)]
Count = Annotated[int, Field(ge=0, le=INT32_MAX)]


class InferenceRequest(TenantOwned):
    application_id: uuid.UUID
    user_id: uuid.UUID | None = None
    provider: Name
    model: Annotated[str, Field(min_length=1, max_length=200)]
    status: InferenceStatus
    tokens_in: Count = 0
    tokens_out: Count = 0
    cost_cents: Annotated[int, Field(ge=0, le=2**53)] = 0
    latency_ms: Count = 0
    request_id: str | None = Field(default=None, max_length=255)
    error: str | None = Field(default=None, max_length=5000)
    requested_at: UtcDatetime

    @classmethod
    def record(cls, *, tenant_id: uuid.UUID, application_id: uuid.UUID, provider: str, model: str,
               status: InferenceStatus | str, at: datetime, **extra: Any) -> InferenceRequest:
        return cls.new(tenant_id=tenant_id, application_id=application_id, provider=provider, model=model,
                       status=status, requested_at=at, created_at=at, updated_at=at, **extra)


@dataclass(frozen=True, slots=True)
class InferenceMetrics:
    """Requests of one organization with `start <= requested_at < end`.

    `p95_latency_ms` is the nearest-rank 95th percentile: the smallest latency that at least 95% of
    the requests do not exceed, one of the measured values (no interpolation), so every backend
    computes exactly the same number. `error_rate` is failed requests over all requests.
    """

    total_requests: int
    total_cost_cents: int
    avg_latency_ms: float
    p95_latency_ms: float
    error_rate: float

    @classmethod
    def empty(cls) -> InferenceMetrics:
        return cls(0, 0, 0.0, 0.0, 0.0)


def p95_rank(count: int) -> int:
    """The 1-based rank of the nearest-rank 95th percentile among `count` sorted values:
    ceil(0.95 * count), in integers so that SQL computes the same."""
    return (95 * count + 99) // 100


def metrics_of(latencies: list[int], costs: list[int], failed: int) -> InferenceMetrics:
    """The metrics of a set of requests, computed in Python (the memory adapter's way)."""
    if not latencies:
        return InferenceMetrics.empty()
    ordered = sorted(latencies)
    count = len(ordered)
    return InferenceMetrics(count, sum(costs), sum(ordered) / count, float(ordered[p95_rank(count) - 1]),
                            failed / count)
