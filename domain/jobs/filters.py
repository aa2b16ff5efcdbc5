"""Spec 004's job filters and pagination parameters."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from domain.jobs.job import JobStatus
from domain.shared.errors import ValidationError
from domain.shared.filters import Condition, FilterSet, Operator
from domain.shared.pagination import MAX_PAGE_SIZE, OffsetPageRequest
from domain.shared.time import ensure_utc


@dataclass(frozen=True, slots=True)
class JobFilters(FilterSet):
    status: JobStatus | None = None
    queue_name: str | None = None
    job_type: str | None = None
    workspace_id: str | None = None
    created_from: datetime | None = None
    created_before: datetime | None = None

    def conditions(self) -> tuple[Condition, ...]:
        found = []
        for field in ("status", "queue_name", "job_type", "workspace_id"):
            value = getattr(self, field)
            if value is not None:
                found.append(Condition(field, Operator.EQ, value))
        if self.created_from is not None:
            found.append(Condition("created_at", Operator.GTE, ensure_utc(self.created_from, "created_from")))
        if self.created_before is not None:
            found.append(Condition("created_at", Operator.LT, ensure_utc(self.created_before, "created_before")))
        return tuple(found)


@dataclass(frozen=True, slots=True)
class PaginationParams:
    """Spec 004's page: `page` counts from 1, `size` rows each."""

    page: int = 1
    size: int = 20

    def __post_init__(self) -> None:
        for field in ("page", "size"):
            value = getattr(self, field)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValidationError(field, f"must be a positive integer, got {value!r}")
        if self.size > MAX_PAGE_SIZE:
            raise ValidationError("size", f"must be at most {MAX_PAGE_SIZE}, got {self.size}")
        if self.page > 10**9:
            raise ValidationError("page", f"must be at most 1000000000, got {self.page}")

    def as_offset(self) -> OffsetPageRequest:
        return OffsetPageRequest(limit=self.size, offset=(self.page - 1) * self.size)
